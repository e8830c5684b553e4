/** The conversation platform's own words, shared by its routes, the connector and the Public API. */

import { answerRules, type Audience, type ConversationType, type TtrType } from '../contract/index.js';

export const CONVERSATION_TYPES = ['MESSAGING', 'CHAT'] as const satisfies readonly ConversationType[];
export type { Audience, ConversationType, TtrType };

/** The contract's words for these (src/contract/answer/rules.ts). */
export const TTR_TYPES = answerRules.TTR_TYPES;
export interface Ttr {
  ttrType: TtrType;
  /** Seconds; only for CUSTOM. */
  value?: number;
}

export const AUDIENCES = answerRules.AUDIENCES;

export type Role = 'CONSUMER' | 'BOT' | 'AGENT' | 'SYSTEM';
export interface Originator {
  role: Role;
  userId?: string;
}

export type UserType = 'HUMAN' | 'BOT';

export interface Sdes {
  authenticatedSdes?: Record<string, unknown>;
  unauthenticatedSdes?: Record<string, unknown>;
}

export interface Visitor {
  sharkVisitorId?: string;
  sharkSessionId?: string;
  [key: string]: unknown;
}

export interface Skill {
  id: number;
  name: string;
}

export interface Assignee {
  userId: string;
  userType: UserType;
  botId?: string;
}

export type EventType = 'TEXT' | 'RICH_CONTENT' | 'FILE' | 'ASSIGN' | 'TRANSFER' | 'CLOSE' | 'TTR' | 'SDES';

/** One entry of a conversation's ordered, durable event log. */
export interface ConversationEvent {
  sequence: number;
  serverTimestamp: number;
  originator: Originator;
  type: EventType;
  audience: Audience;
  text?: string;
  content?: unknown;
  file?: unknown;
  quickReplies?: unknown;
  metadata?: unknown;
  encodedMetadata?: string;
  context?: unknown;
  /** TRANSFER: where to; ASSIGN: who took it. */
  skill?: Skill;
  assignee?: Assignee | null;
  ttr?: Ttr;
  sdes?: Sdes;
  closeReason?: string;
  withoutPcs?: boolean;
}

/** The fields of an event a writer supplies; the log adds sequence and timestamp. */
export type NewEvent = Omit<ConversationEvent, 'sequence' | 'serverTimestamp' | 'audience'> & { audience?: Audience };

export interface Conversation {
  conversationId: string;
  accountId: string;
  type: ConversationType;
  status: 'OPEN' | 'CLOSED';
  skill: Skill;
  assignee: Assignee | null;
  ttr: Ttr;
  sdes: Sdes;
  visitor: Visitor;
  engagementId?: number;
  campaignId?: number;
  closeReason?: string;
  closedWithoutPcs?: boolean;
  createdAt: number;
  /** When it started waiting in its skill's queue; absent while someone holds it. */
  queuedAt?: number;
  lastSequence: number;
  /**
   * The last entry of the log its holder has answered. A bot's answer commits it with the
   * answer itself; a new holder starts just before its own ASSIGN entry.
   */
  answeredSequence: number;
  /** What the holder still has to carry out of an answer (after a DELAY); opaque to the platform. */
  pendingAnswer?: unknown;
  /**
   * How many open conversations the holder already had when it got this one, counted while its
   * row was locked: of conversations handed to one holder at once, each sees the others that
   * came first, whichever instance assigned them. A bot over its cap escalates by this.
   */
  holderLoad?: number;
  /** Opened by the console's tester: shown as a test wherever it appears, closed when its tester leaves. */
  test?: boolean;
}

export type ConversationWithEvents = Conversation & { events: ConversationEvent[] };

export type CloseReason = 'CONSUMER' | 'AGENT' | 'BOT' | 'SYSTEM' | 'API';

export interface Account {
  accountId: string;
}

/** Someone conversations are routed to: an agent (HUMAN) or a bot's user (BOT). */
export interface User {
  id: string;
  accountId: string;
  loginName: string;
  userType: UserType;
  skills: Skill[];
  maxConversations: number | null;
  state: 'ONLINE' | 'OFFLINE';
  botId?: string;
}

/** A function registered for INVOKE_FUNCTION (and a bot's escalation error hook). */
export interface FunctionRegistration {
  lambdaUuid: string;
  accountId: string;
  name: string | null;
  url: string;
}

/** A conversation waiting in its skill's queue, as the agent's queue lists it. */
export interface QueuedConversation {
  conversationId: string;
  skill: Skill;
  type: ConversationType;
  ttr: Ttr;
  queuedAt: number;
  waitingSeconds: number;
  createdAt: number;
  test?: boolean;
}

/** What a realtime stream carries, one JSON object per message. */
export type StreamMessage =
  | { kind: 'event'; conversationId: string; event: ConversationEvent }
  | { kind: 'typing'; conversationId: string; originator: Originator; typing: boolean }
  | { kind: 'conversation'; conversation: Conversation }
  | { kind: 'ready' };
