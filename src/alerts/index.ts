export {
  Alerts,
  alertMigrations,
  bodyFor,
  DEFAULT_ALERT_TIMINGS,
  type AlertTimings,
  type BotStatusChange,
} from './alerts.js';
export { alertsAdmin } from './routes.js';
export { AlertWatch, DEFAULT_WATCH_TIMINGS, type AlertSignals, type WatchTimings } from './watch.js';
export { RULE_KINDS, type AlertRule, type RuleKind } from './rules.js';
export type { AlertDelivery, AlertDestination, AlertEvent, AlertFormat, AlertTestResult, RuleView } from './types.js';
