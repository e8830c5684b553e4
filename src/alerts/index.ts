export {
  Alerts,
  alertMigrations,
  bodyFor,
  DEFAULT_ALERT_TIMINGS,
  type AlertDelivery,
  type AlertDestination,
  type AlertEvent,
  type AlertTimings,
  type BotStatusChange,
} from './alerts.js';
export { alertsAdmin } from './routes.js';
