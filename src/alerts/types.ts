import type { AlertRule, RuleKind } from './rules.js';

/**
 * The alerts' shapes as the API shows them: types and their literal lists only, so the console
 * (src/web) takes them from here rather than writing them again.
 */

export const ALERT_FORMATS = ['slack', 'teams', 'json'] as const;
export type AlertFormat = (typeof ALERT_FORMATS)[number];
export const ALERT_STATES = ['pending', 'delivered', 'failed'] as const;
export type AlertState = (typeof ALERT_STATES)[number];

export interface AlertDestination {
  id: string;
  accountId: string;
  name: string;
  /** Scheme and host only: the rest of a webhook URL is its secret. */
  url: string;
  format: AlertFormat;
  createdAt: number;
}

/** What an alert says; the `json` format's body. */
export interface AlertEvent {
  id: string;
  accountId: string;
  kind: 'bot-status' | 'test' | RuleKind;
  at: number;
  text: string;
  bot?: { id: string; name: string };
  from?: string;
  to?: string;
  lastError?: { code: string; message: string };
  /** A rule's alert: the rule, whether its condition began or ended, and the value that decided it. */
  rule?: { id: string; threshold: number; windowMinutes?: number };
  state?: 'firing' | 'resolved';
  value?: number | null;
}

export interface AlertDelivery {
  id: string;
  eventId: string;
  destinationId: string;
  kind: string;
  state: AlertState;
  attempts: number;
  lastError?: string;
  createdAt: number;
  nextAttemptAt?: number;
  deliveredAt?: number;
  event: AlertEvent;
}

/** How a test alert went (POST …/destinations/{id}/test). */
export interface AlertTestResult {
  ok: boolean;
  status?: number;
  error?: string;
  durationMs: number;
}

/** A rule as the API shows it: with the subjects it fires for now. */
export interface RuleView extends AlertRule {
  firing: Array<{ subject: string; botName?: string; since: number; value: number | null }>;
}
