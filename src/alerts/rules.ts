import { invalid } from '../errors.js';

/**
 * Alert rules: conditions over what the dashboard counts, checked every little while. A rate rule
 * is about each bot of the account (or one bot): the share of its exchanges that went wrong, or of
 * its started conversations that were escalated, in the last minutes; a backlog rule is about the
 * account's Public API jobs waiting for their turn. A condition that becomes true fires one alert;
 * one that stops being true resolves it with another. Everything here is pure: the watch
 * (watch.ts) reads the counts and keeps the firing state in the store.
 */

export const RULE_KINDS = ['error-rate', 'escalation-rate', 'public-api-backlog'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export interface AlertRule {
  id: string;
  accountId: string;
  kind: RuleKind;
  /** Rates: a percentage (0–100]; a backlog: a number of jobs waiting. Fires at or above it. */
  threshold: number;
  /** Rates: the last minutes counted (the minute under way and the whole minutes before it). */
  windowMinutes: number;
  /** Rates: fewer exchanges (error rate) or started conversations (escalation rate) say nothing. */
  minCount: number;
  /** Rates: the one bot watched; none watches each bot of the account. */
  botId?: string;
  createdAt: number;
}

export interface RuleInput {
  kind: RuleKind;
  threshold: number;
  windowMinutes?: number;
  minCount?: number;
  botId?: string;
}

export const DEFAULT_WINDOW_MINUTES = 10;
export const DEFAULT_MIN_COUNT = 10;
/** A day: the rollup keeps a week, but a rate over longer says little about now. */
export const MAX_WINDOW_MINUTES = 1_440;

/** A rule's settings with the defaults filled in; invalid when they make no sense together. */
export function ruleSettings(input: RuleInput): Omit<AlertRule, 'id' | 'accountId' | 'createdAt'> {
  const rate = input.kind !== 'public-api-backlog';
  if (rate && (input.threshold <= 0 || input.threshold > 100))
    throw invalid('a rate’s threshold is a percentage above 0 and at most 100', 'invalid-threshold');
  if (!rate && (input.threshold < 1 || !Number.isInteger(input.threshold)))
    throw invalid('a backlog’s threshold is a whole number of jobs, at least 1', 'invalid-threshold');
  if (!rate && (input.botId !== undefined || input.windowMinutes !== undefined || input.minCount !== undefined))
    throw invalid('a backlog rule is about the account: it takes no bot, window or minimum count', 'invalid-rule');
  return {
    kind: input.kind,
    threshold: input.threshold,
    windowMinutes: rate ? (input.windowMinutes ?? DEFAULT_WINDOW_MINUTES) : 0,
    minCount: rate ? (input.minCount ?? DEFAULT_MIN_COUNT) : 0,
    ...(input.botId !== undefined ? { botId: input.botId } : {}),
  };
}

/** A bot's counts in a rule's window (connector/bot-stats.ts RecentCounts). */
export interface WindowCounts {
  started: number;
  escalated: number;
  exchanges: number;
  failedExchanges: number;
}

/** What a rule watches, and the value it is compared on. */
export interface Subject {
  /** The bot's id, or '' for the account (a backlog). */
  key: string;
  botName?: string;
  /** The rate in percent or the jobs waiting; null when too little happened to say. */
  value: number | null;
  /** A backlog: when its oldest job was accepted. */
  oldestAt?: number | null;
}

/** A rate in percent, or null under the rule's minimum count. */
export function rateOf(rule: AlertRule, counts: WindowCounts): number | null {
  const [part, whole] =
    rule.kind === 'error-rate' ? [counts.failedExchanges, counts.exchanges] : [counts.escalated, counts.started];
  if (whole < Math.max(1, rule.minCount)) return null;
  return Math.round((part / whole) * 1000) / 10;
}

/** Whether the condition holds: at or above the threshold. Too little to say is not firing. */
export function holds(rule: AlertRule, value: number | null): boolean {
  return value !== null && value >= rule.threshold;
}

/** The words of a rule's alert. */
export function ruleText(rule: AlertRule, subject: Subject, state: 'firing' | 'resolved', at: number): string {
  if (rule.kind === 'public-api-backlog') {
    const waiting =
      subject.oldestAt != null ? `; the oldest has waited ${Math.round((at - subject.oldestAt) / 1000)} s` : '';
    return state === 'firing'
      ? `Account ${rule.accountId} has ${subject.value} Public API jobs waiting (threshold ${rule.threshold})${waiting}.`
      : `Account ${rule.accountId}’s Public API backlog is down to ${subject.value ?? 0} jobs (threshold ${rule.threshold}).`;
  }
  const what = rule.kind === 'error-rate' ? 'exchanges that went wrong' : 'started conversations escalated';
  const bot = `Bot “${subject.botName ?? subject.key}” (${subject.key}) of account ${rule.accountId}`;
  const window = `the last ${rule.windowMinutes} min`;
  if (state === 'firing') return `${bot}: ${subject.value} % of ${what} in ${window} (threshold ${rule.threshold} %).`;
  return subject.value === null
    ? `${bot}: too few ${rule.kind === 'error-rate' ? 'exchanges' : 'conversations'} in ${window} to say; the ${rule.kind} alert is resolved.`
    : `${bot}: ${subject.value} % of ${what} in ${window}, below the threshold (${rule.threshold} %) again.`;
}
