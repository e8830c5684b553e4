import type { ConversationType, TtrType } from './answer/types.js';
import { MAX_ENCODED_METADATA_LENGTH, MAX_TTR_SECONDS } from './limits.js';
import type { StructuredContentValidator, StructuredContentVerdict } from './structured-content.js';

/**
 * The five Public API commands in the page's words, their JSON schemas and the checks a schema
 * cannot express. Pure: nothing here touches the store or the platform.
 */

export const ACTIONS = ['messages', 'transfer', 'close', 'sdes', 'ttr'] as const;
export type Action = (typeof ACTIONS)[number];

export const TTL_DEFAULT_SECONDS = 30;
export const TTL_MIN_SECONDS = 10;
export const TTL_MAX_SECONDS = 120;
/**
 * The pauses of one request add up to at most what a command may wait: a longer hold of the
 * conversation would only make the jobs behind it expire.
 */
export const MAX_PAUSE_SECONDS = 120;

export interface Pause {
  delay: number;
  typing?: boolean;
}
export interface StructuredMessage {
  structuredContent: Record<string, unknown>;
  metadata?: Record<string, unknown>[];
  encodedMetadata?: string;
}
export type MessageItem = string | Pause | StructuredMessage;

export interface MessagesCommand {
  context?: Record<string, unknown>;
  messages: MessageItem[];
}
export interface TransferCommand {
  skill: string;
}
export interface SdesCommand {
  sdes: { type: string; [key: string]: unknown }[];
  sharkVisitorId: string;
  sharkSessionId: string;
}
export interface TtrCommand {
  ttrType: TtrType;
  /** Seconds; the page sends it as a string ("10"), numbers are accepted too. */
  value?: number | string;
}

/** Either the parsed value or the reason it was refused. */
export type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * `ttl` from the query string as the client typed it: whole seconds 10–120, 30 when absent.
 * Checked by hand because a coercing schema would turn "" into 0 and "10.0" into 10.
 */
export function parseTtl(raw: unknown): Checked<number> {
  if (raw === undefined) return { ok: true, value: TTL_DEFAULT_SECONDS };
  const text = Array.isArray(raw) ? undefined : String(raw);
  const range = `an integer number of seconds between ${TTL_MIN_SECONDS} and ${TTL_MAX_SECONDS}`;
  if (text === undefined) return { ok: false, message: `ttl must be given once, as ${range}` };
  if (!/^[0-9]+$/.test(text)) return { ok: false, message: `ttl must be ${range}, got '${text}'` };
  const seconds = Number(text);
  if (seconds < TTL_MIN_SECONDS || seconds > TTL_MAX_SECONDS)
    return { ok: false, message: `ttl must be ${range}, got ${text}` };
  return { ok: true, value: seconds };
}

/** `v` of the login: the page documents exactly one version, 1.3. */
export function checkLoginVersion(raw: unknown): Checked<'1.3'> {
  if (raw === undefined) return { ok: false, message: "query parameter v is required and must be '1.3'" };
  if (Array.isArray(raw) || String(raw) !== '1.3')
    return { ok: false, message: `unsupported API version '${String(raw)}': v must be '1.3'` };
  return { ok: true, value: '1.3' };
}

const metadataSchema = {
  type: 'array',
  maxItems: 50,
  items: { type: 'object', properties: { type: { type: 'string', minLength: 1 } }, required: ['type'] },
  description: 'Conversation metadata, e.g. [{"type":"ExternalId","id":"123"}]',
} as const;

const pauseSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    delay: {
      type: 'number',
      minimum: 0,
      maximum: MAX_PAUSE_SECONDS,
      description: 'seconds to wait before the next message',
    },
    typing: { type: 'boolean', description: 'show the typing indicator while waiting (default true)' },
  },
  required: ['delay'],
} as const;

const structuredMessageSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    structuredContent: {
      type: 'object',
      description: 'A rich content template, or {quickReplies, message} for quick replies (messaging only)',
    },
    metadata: metadataSchema,
    encodedMetadata: {
      type: 'string',
      minLength: 1,
      maxLength: MAX_ENCODED_METADATA_LENGTH,
      pattern: '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$',
      description: 'base64, messaging only',
    },
  },
  required: ['structuredContent'],
} as const;

/**
 * A message is a text, a pause or a structured message. Written as if/then/else rather than
 * oneOf so a mistake is reported against the field that is wrong, not as "matches no branch".
 */
const messageItemSchema = {
  description:
    'A text, a pause {delay, typing?} or a structured message {structuredContent, metadata?, encodedMetadata?}',
  if: { type: 'string' },
  then: { type: 'string', minLength: 1, maxLength: 10000 },
  else: {
    type: 'object',
    if: { required: ['delay'] },
    then: pauseSchema,
    else: structuredMessageSchema,
  },
} as const;

export const bodySchemas: Record<Action, object> = {
  messages: {
    type: 'object',
    additionalProperties: false,
    properties: {
      context: {
        type: 'object',
        properties: {
          intentId: { type: 'string' },
          intentName: { type: 'string' },
          confidenceScore: { type: 'number' },
        },
        description: 'Stored with every message of the request',
      },
      messages: { type: 'array', minItems: 1, maxItems: 100, items: messageItemSchema },
    },
    required: ['messages'],
  },
  transfer: {
    type: 'object',
    additionalProperties: false,
    properties: { skill: { type: 'string', minLength: 1, maxLength: 255, description: 'Skill name, case-sensitive' } },
    required: ['skill'],
  },
  close: {
    type: 'object',
    additionalProperties: false,
    properties: {},
    description: 'No body, or {}',
  },
  sdes: {
    type: 'object',
    additionalProperties: false,
    properties: {
      sdes: {
        type: 'array',
        minItems: 1,
        maxItems: 50,
        // The type names the engagement attribute (personal, ctmrinfo, purchase...): a plain word,
        // since it becomes a key of the conversation's SDES.
        items: {
          type: 'object',
          properties: { type: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]{0,63}$' } },
          required: ['type'],
        },
      },
      sharkVisitorId: { type: 'string', minLength: 1, maxLength: 256 },
      sharkSessionId: { type: 'string', minLength: 1, maxLength: 256 },
    },
    required: ['sdes', 'sharkVisitorId', 'sharkSessionId'],
  },
  ttr: {
    type: 'object',
    additionalProperties: false,
    properties: {
      ttrType: { type: 'string', enum: ['URGENT', 'NORMAL', 'PRIORITIZED', 'CUSTOM'] },
      // At most 9 digits: the platform keeps TTR seconds in a 32-bit column.
      value: {
        type: ['integer', 'string'],
        pattern: '^0*[1-9][0-9]{0,8}$',
        minimum: 1,
        maximum: MAX_TTR_SECONDS,
        description: 'seconds (string or number), required for CUSTOM',
      },
    },
    required: ['ttrType'],
    if: { properties: { ttrType: { const: 'CUSTOM' } } },
    then: { required: ['ttrType', 'value'] },
  },
};

export function isPause(item: MessageItem): item is Pause {
  return typeof item === 'object' && 'delay' in item;
}

/** Quick replies travel as structured content `{quickReplies, message}`, but become a text. */
export function isQuickReplies(item: StructuredMessage): boolean {
  return 'quickReplies' in item.structuredContent;
}

export interface Refusal {
  /** `content-over-limit`: structured content past RICH_CONTENT_LIMITS, refused before it is validated. */
  code: 'messaging-only' | 'invalid-message' | 'content-over-limit';
  message: string;
}

/**
 * What the body schema cannot say about messages: the templates themselves, the pauses' total,
 * and which features a CHAT conversation lacks (quick replies and encodedMetadata).
 */
export function checkMessages(
  command: MessagesCommand,
  type: ConversationType,
  templates: StructuredContentValidator,
): Refusal | undefined {
  const invalid = (message: string): Refusal => ({ code: 'invalid-message', message });
  const messagingOnly = (message: string): Refusal => ({ code: 'messaging-only', message });
  let paused = 0;
  for (const [i, item] of command.messages.entries()) {
    if (typeof item === 'string') continue;
    const at = `messages[${i}]`;
    if (isPause(item)) {
      paused += item.delay;
      if (paused > MAX_PAUSE_SECONDS)
        return invalid(`${at}: the pauses of one request add up to more than ${MAX_PAUSE_SECONDS} seconds`);
      continue;
    }
    if (item.encodedMetadata !== undefined && type === 'CHAT')
      return messagingOnly(`${at}: encodedMetadata is only supported in messaging conversations`);
    const content = item.structuredContent;
    if (isQuickReplies(item)) {
      if (type === 'CHAT') return messagingOnly(`${at}: quick replies are only supported in messaging conversations`);
      const extra = Object.keys(content).filter((k) => k !== 'quickReplies' && k !== 'message');
      if (extra.length)
        return invalid(
          `${at}.structuredContent: quick replies take only 'quickReplies' and 'message', not '${extra[0]}'`,
        );
      if (typeof content.message !== 'string' || !content.message)
        return invalid(`${at}.structuredContent.message: the text shown with quick replies is required`);
      const refusal = refuse(
        `${at}.structuredContent.quickReplies`,
        templates.validateQuickReplies(content.quickReplies),
      );
      if (refusal) return refusal;
      continue;
    }
    const refusal = refuse(`${at}.structuredContent`, templates.validate(content));
    if (refusal) return refusal;
  }
  return undefined;
}

/** The validator's first (most specific) finding, as one line; undefined when valid. */
function refuse(at: string, verdict: StructuredContentVerdict): Refusal | undefined {
  if (verdict.ok) return undefined;
  const [first] = verdict.errors;
  const message = `${at}: ${first ? `${first.path || '/'} ${first.message}` : 'is not valid structured content'}`;
  return { code: verdict.exceeded ? 'content-over-limit' : 'invalid-message', message };
}

/** What a `pattern` stands for, said in words. */
const FIELD_FORMATS: Record<string, string> = {
  encodedMetadata: 'must be base64',
  value: 'must be a positive whole number of seconds (a number or a string of digits)',
};

/** A schema failure as Ajv reports it (Fastify's validation errors have this shape). */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * One sentence naming the field that is wrong, e.g. "body/messages/1/delay must be number" or
 * "body has an unknown field 'extra'"; `if` failures only repeat the error before them.
 */
export function describeSchemaErrors(errors: SchemaError[], dataVar: string): string {
  const error = errors.find((e) => e.keyword !== 'if') ?? errors[0];
  if (!error) return `${dataVar} is invalid`;
  const where = `${dataVar}${error.instancePath}`;
  const field = error.instancePath.split('/').pop() ?? '';
  if (error.keyword === 'type' && /^\/messages\/\d+$/.test(error.instancePath)) {
    return `${where} must be a text, a pause {delay, typing} or a structured message {structuredContent, metadata, encodedMetadata}`;
  }
  if (error.keyword === 'pattern' && FIELD_FORMATS[field]) return `${where} ${FIELD_FORMATS[field]}`;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where} has an unknown field '${String(error.params.additionalProperty)}'`;
    case 'enum':
      return `${where} must be one of ${(error.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'required':
      return `${where} must have the field '${String(error.params.missingProperty)}'`;
    default:
      return `${where} ${error.message ?? 'is invalid'}`;
  }
}

/** The seconds of a TTR value ("10" or 10). */
export function ttrSeconds(value: number | string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}
