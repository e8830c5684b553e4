/**
 * The Custom Endpoint response parser: build the structured-content validator (src/contract)
 * once at start-up, then `parseBotResponse(body, { conversationType }, validator)` for every
 * answer of the bot.
 * `ERROR_CODES` explains every code the parser and the connector report.
 */
export { parseBotResponse, MAX_ENCODED_METADATA_LENGTH, ANSWER_SHAPE_LIMITS } from './parse-bot-response.js';
export {
  CONNECTOR_ERROR_CODES,
  ERROR_CODES,
  PARSER_ERROR_CODES,
  isErrorCode,
  type ConnectorErrorCode,
  type ErrorCode,
  type ParserErrorCode,
} from './error-codes.js';
export type { ErrorCodeInfo } from '../types.js';
export type { ParseContext, ParseError, ParsedAction, ParsedIntent, ParsedItem, ParsedResponse } from './types.js';
