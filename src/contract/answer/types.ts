import type { AnswerLimits } from '../limits.js';
import type { ParserErrorCode } from './codes.js';
import type { AUDIENCES, TTR_TYPES } from './rules.js';

export type ConversationType = 'MESSAGING' | 'CHAT';
export type Audience = (typeof AUDIENCES)[number];
export type TtrType = (typeof TTR_TYPES)[number];

/** What the parser needs to know about the conversation the response is for. */
export interface ParseContext {
  conversationType: ConversationType;
  /** The bot's bounds on one answer (DEFAULT_ANSWER_LIMITS unless given). */
  limits?: Pick<AnswerLimits, 'maxItems' | 'maxDelaySeconds'>;
}

/** `index` is the item's position in the raw `response` array, for logs and the tester. */
export type ParsedItem =
  | {
      kind: 'text';
      index: number;
      text: string;
      audience: Audience;
      metadata?: Record<string, unknown>[];
      encodedMetadata?: string;
    }
  | {
      kind: 'structured';
      index: number;
      content: object;
      metadata?: Record<string, unknown>[];
      encodedMetadata?: string;
    }
  | {
      kind: 'quickReplies';
      index: number;
      text: string;
      quickReplies: object;
      metadata?: Record<string, unknown>[];
      encodedMetadata?: string;
    }
  | { kind: 'delay'; index: number; seconds: number; typing: boolean };

export type ParsedAction =
  /** At least one of the two; with both, the agent is preferred and the skill is the fallback. */
  | { name: 'TRANSFER'; index: number; skillName?: string; agentId?: string }
  | { name: 'CLOSE_CONVERSATION'; index: number; withoutPcs: boolean }
  /** `value` (seconds) is present exactly when `ttrType` is CUSTOM. */
  | { name: 'CHANGE_TTR'; index: number; ttrType: TtrType; value?: number }
  | { name: 'INVOKE_FUNCTION'; index: number; lambdaUuid: string; payload: object; failOnError: boolean };

export interface ParsedIntent {
  id: string;
  description: string;
  confidenceScore: number;
}

export interface ParseError {
  code: ParserErrorCode;
  /** Names the spot and the problem: "response[2].data.seconds must be an integer >= 1, got 0". */
  message: string;
  /** Position of the offending item in `response`; absent for body-wide and analytics errors. */
  index?: number;
  /** JSON Pointer into the raw body ("/response/2/data/encodedMetadata"), for highlighting. */
  path: string;
}

export interface ParsedResponse {
  /** The valid messages and delays, in the bot's order; invalid ones are left out. */
  items: ParsedItem[];
  /** The one action, carried out after the messages. */
  action?: ParsedAction;
  intents: ParsedIntent[];
  errors: ParseError[];
  /** false → no valid message and no valid action: the connector escalates (and sends nothing). */
  usable: boolean;
}
