/**
 * The vocabulary the connector, the Public API, the demo bot, the SDK and the tests share: the
 * Custom Endpoint contract (the bodies botbridge and a bot exchange, and a validator compiled from
 * the published document), the rules an answer is held to (the parser, each field's rule, the
 * limits) and LivePerson structured content (json-pollock's templates and the limits on their
 * size). It belongs to none of them, so it depends on none of them.
 */
export * from './limits.js';
export * from './tokens.js';
export { parseBotResponse } from './answer/parse.js';
export { PARSER_ERROR_CODES, type ParserErrorCode } from './answer/codes.js';
export type {
  Audience,
  ConversationType,
  ParseContext,
  ParseError,
  ParsedAction,
  ParsedIntent,
  ParsedItem,
  ParsedResponse,
  TtrType,
} from './answer/types.js';
export * as answerRules from './answer/rules.js';
export {
  createContractValidator,
  locateContract,
  type ActionData,
  type ActionItem,
  type ActionSchemaName,
  type BotResponseItem,
  type BotStatusBody,
  type ChangeContext,
  type ContractBodyName,
  type ContractValidator,
  type ContractVerdict,
  type ConversationBody,
  type ConversationContext,
  type ConversationEventBody,
  type ConversationMetadata,
  type DelayItem,
  type HostedFileChangeBody,
  type Intent,
  type LifecycleEventBody,
  type MessageAudience,
  type PostEventResponseBody,
  type StandardTtr,
  type StateChangeBody,
  type StructuredContentChangeBody,
  type StructuredContentItem,
  type TextChangeBody,
  type TextItem,
} from './custom-endpoint.js';
export {
  createStructuredContentValidator,
  QUICK_REPLIES_MAX_ITEMS_PER_ROW,
  QUICK_REPLIES_MAX_REPLIES,
  RICH_CONTENT_LIMITS,
  type StructuredContentFinding,
  type StructuredContentValidator,
  type StructuredContentVerdict,
} from './structured-content.js';
