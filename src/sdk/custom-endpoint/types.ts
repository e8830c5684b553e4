/**
 * The bodies a Custom Endpoint service receives and answers, taken from src/contract (itself
 * compiled from contracts/custom-endpoint-v1.openapi.json), so the SDK, the connector and the
 * demo bot cannot drift apart. Only names the contract module lacks are derived here.
 */
import type { ActionData, BotStatusBody, ConversationContext, ConversationEventBody } from '../../contract/index.js';

export type {
  ActionData,
  ActionItem,
  BotResponseItem,
  BotStatusBody,
  ChangeContext,
  ConversationBody,
  ConversationContext,
  ConversationEventBody,
  ConversationMetadata,
  DelayItem,
  HostedFileChangeBody,
  Intent,
  LifecycleEventBody,
  MessageAudience,
  PostEventResponseBody,
  StandardTtr,
  StateChangeBody,
  StructuredContentChangeBody,
  StructuredContentItem,
  TextChangeBody,
  TextItem,
} from '../../contract/index.js';

/** The contract's `Environment`: the answer to GET environments. */
export type EnvironmentsBody = string[];

/** `online` is the only state that passes the connector's test connection. */
export type BotState = BotStatusBody['state'];

/** MESSAGING or CHAT: quick replies and encoded metadata exist on messaging only. */
export type ConversationType = ConversationContext['type'];

/** TEXT, RICH_CONTENT, hosted-file, CONVERSATION, and the START / CLOSE_CONVERSATION lifecycle events. */
export type ConversationEventType = ConversationEventBody['type'];

/** The event body of one type: `EventOf<'TEXT'>` is the contract's TextChange. */
export type EventOf<T extends ConversationEventType> = Extract<ConversationEventBody, { type: T }>;

/** The `data` of one ACTION: `ActionOf<'TRANSFER'>` is `{name: 'TRANSFER', parameters: {…}}`. */
export type ActionOf<N extends ActionData['name']> = Extract<ActionData, { name: N }>;
