/**
 * What the console reads from the server. Conversation shapes come straight from the platform's
 * own type module (type-only, erased at build), so the UI cannot drift from the server's words;
 * the bot admin shapes follow the connector's contract in HTTP-SURFACE.md.
 */
export type {
  Audience,
  Conversation,
  ConversationEvent,
  ConversationType,
  Originator,
  Sdes,
  Skill,
  Ttr,
  TtrType,
  Visitor,
} from '../../../../platform/types.js';
import type {
  Conversation,
  ConversationEvent,
  ConversationType,
  Originator,
  Skill,
  Ttr,
} from '../../../../platform/types.js';

/** One realtime stream message (src/platform/realtime.ts). */
export type StreamMessage =
  | { kind: 'event'; conversationId: string; event: ConversationEvent }
  | { kind: 'typing'; conversationId: string; originator: Originator; typing: boolean }
  | { kind: 'conversation'; conversation: Conversation }
  | { kind: 'ready' };

export type ConversationWithEvents = Conversation & { events: ConversationEvent[] };

export interface Account {
  accountId: string;
}

export const BOT_STATUSES = ['ONLINE', 'OFFLINE', 'VENDOR_INTERRUPTION', 'SERVICE_INTERRUPTION'] as const;
export type BotStatus = (typeof BOT_STATUSES)[number];

export interface VendorConfig {
  type: 'CUSTOM_ENDPOINT';
  baseUrl: string;
  clientId: string;
  /** Masked (`********`) when read back; omit on PATCH to keep the saved one. */
  clientSecret?: string;
  botId: string;
  environment: string;
  timeoutSeconds?: number;
}

export interface CombineMessages {
  enabled: boolean;
  maxMessages: number;
  timeFrameSeconds: number;
  timeFrameAfterTypingSeconds: number;
}

export interface Escalation {
  /** null in a patch clears it. */
  skill?: string | null;
  messageToCustomer?: string;
  messageToAgent?: string;
  transferFailureMessage?: string;
  /** null in a patch clears it. */
  errorHookLambdaUuid?: string | null;
}

export interface ChatInactivity {
  enabled: boolean;
  warningAfterSeconds: number;
  warningText: string;
  closeAfterSeconds: number;
  closeText: string;
}

/** Every setting of a bot (PRODUCT.md), as the create/patch bodies carry them. */
export interface BotSettings {
  name: string;
  conversationType: ConversationType;
  skills: string[];
  vendor: VendorConfig;
  welcomeEvent: boolean;
  engagementAttributes: boolean;
  combineMessages: CombineMessages;
  escalation: Escalation;
  chatInactivity: ChatInactivity;
  /** A survey bot gets CLOSE_CONVERSATION when a conversation it holds closes with a survey due. */
  survey: boolean;
  maxOpenConversations: number;
}

export interface BotError {
  code: string;
  message: string;
  at: number | string;
}

export interface Bot extends BotSettings {
  id: string;
  status: BotStatus;
  openConversations: number;
  lastError: BotError | null;
}

export interface TestConnectionResult {
  ok: boolean;
  state?: string;
  version?: string;
  error?: string;
  code?: string;
}

export type ExchangeOutcome = 'PROCESSED' | 'PARTIAL' | 'ESCALATED' | 'FAILED';

export interface ExchangeError {
  code: string;
  message: string;
  /** JSON Pointer into `response.body`: the part the error is about. */
  path?: string;
}

/** One call to the bot's endpoint and what came of it (the bot log). */
export interface Exchange {
  id: string;
  botId: string;
  conversationId: string;
  eventType: string;
  startedAt: number | string;
  durationMs: number;
  attempts: number;
  /** Null when no request could be made (e.g. no token could be had). */
  request: { method: string; url: string; body: unknown } | null;
  response: { status: number; body: unknown; durationMs: number } | null;
  parsed: { items: unknown[]; action: unknown; intents: unknown[] } | null;
  errors: ExchangeError[];
  /** What the connector did with the answer: delivered, functions invoked, escalation steps. */
  effects?: string[];
  outcome: ExchangeOutcome;
}

export interface ErrorCodeInfo {
  title: string;
  explanation: string;
  fix: string;
}

export interface QueuedConversation {
  conversationId: string;
  skill: Skill;
  type: ConversationType;
  ttr: Ttr;
  queuedAt: number;
  waitingSeconds: number;
}

export interface AgentUser {
  id: string;
  loginName: string;
  skills: Skill[];
  maxConversations?: number | null;
}
