import type { ConversationType } from '../platform/types.js';

/**
 * The connector's shapes as its admin API and bot logs carry them. Types only, importing nothing
 * that runs: the console (src/web/client) imports these too, and its build must never reach
 * Node-only code.
 */

/** A Custom Endpoint bot's configuration, as operators set it (PRODUCT.md, "Custom Endpoint connector"). */
export interface BotSettings {
  name: string;
  conversationType: ConversationType;
  skills: string[];
  vendor: VendorSettings;
  welcomeEvent: boolean;
  engagementAttributes: boolean;
  combineMessages: {
    enabled: boolean;
    maxMessages: number;
    timeFrameSeconds: number;
    timeFrameAfterTypingSeconds: number;
  };
  escalation: {
    skill?: string;
    messageToCustomer?: string;
    messageToAgent?: string;
    transferFailureMessage?: string;
    errorHookLambdaUuid?: string;
  };
  chatInactivity: {
    enabled: boolean;
    warningAfterSeconds: number;
    warningText: string;
    closeAfterSeconds: number;
    closeText: string;
  };
  /** A survey bot gets CLOSE_CONVERSATION when a conversation it holds closes with a survey due. */
  survey: boolean;
  maxOpenConversations: number;
  /** Bounds on one answer of the bot's service: past them the answer is refused and its conversation escalated. */
  limits: AnswerLimits;
}

export type { AnswerLimits } from '../contract/index.js';
import type { AnswerLimits } from '../contract/index.js';

export interface VendorSettings {
  type: 'CUSTOM_ENDPOINT';
  /** No trailing slash. */
  baseUrl: string;
  clientId: string;
  botId: string;
  environment: string;
  timeoutSeconds: number;
}

/**
 * A bot's vendor block as the connector calls the service with it: `clientId` names the app
 * installation of the account whose tokens the calls carry (the bot refers to the app; its secret
 * is the app's business, so rotating it never breaks a bot).
 */
export type VendorCredentials = VendorSettings;

export type BotStatus = 'OFFLINE' | 'ONLINE' | 'VENDOR_INTERRUPTION' | 'SERVICE_INTERRUPTION';

export interface LastError {
  code: string;
  message: string;
  at: number;
}

/** A bot as the admin API shows it: settings (secret masked) plus live state. */
export type BotView = BotSettings & {
  id: string;
  accountId: string;
  vendor: BotSettings['vendor'] & { clientSecret: string };
  status: BotStatus;
  openConversations: number;
  lastError: LastError | null;
  /** The instance driving the bot now (INSTANCE_ID), or null while none does. */
  instance: string | null;
};

export interface TestConnectionResult {
  ok: boolean;
  state?: string;
  version?: string;
  error?: string;
  code?: string;
}

export type ExchangeOutcome = 'PROCESSED' | 'PARTIAL' | 'ESCALATED' | 'FAILED';

/** One round trip with the bot service, as the logs route and the console's tester show it. */
export interface Exchange {
  id: string;
  botId: string;
  conversationId: string;
  eventType: string;
  startedAt: number;
  durationMs: number;
  attempts: number;
  request: { method: string; url: string; body: unknown } | null;
  response: { status: number; body: unknown; durationMs: number } | null;
  parsed: { items: unknown[]; action: unknown; intents: unknown[] } | null;
  errors: { code: string; message: string; path?: string }[];
  /** What the connector did with the answer: delivered, functions invoked, escalation steps. */
  effects: string[];
  outcome: ExchangeOutcome;
}

/** What an error code means, for the person who wrote the bot's service (error-codes.ts). */
export interface ErrorCodeInfo {
  /** A few words for a badge or a list. */
  title: string;
  /** What went wrong, in the terms of the bot's own service. */
  explanation: string;
  /** What to change in the bot's service (or its configuration) so it does not happen again. */
  fix: string;
}
