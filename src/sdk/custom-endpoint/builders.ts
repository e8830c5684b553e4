import type { StructuredContentValidator } from '../../contract/index.js';
import { DEFAULT_ANSWER_LIMITS, MAX_ENCODED_METADATA_LENGTH } from '../../connector/parser/parse-bot-response.js';
import { describeJsonLimit, exceededJsonLimit } from '../../util/json-bounds.js';
import { fromPointer, isPlainObject, show, toLabel, toPointer, type Segment } from '../../util/json-location.js';
import type {
  ActionItem,
  BotResponseItem,
  ConversationMetadata,
  ConversationType,
  DelayItem,
  Intent,
  PostEventResponseBody,
  StandardTtr,
  StructuredContentItem,
  TextItem,
} from './types.js';

/**
 * Builders for the items of an answer to a conversation event, each refusing (with a TypeError
 * that names the field) what the connector would drop or escalate on: the rules are those of
 * src/connector/parser/, which live traffic is held to, and the contract's. Pure functions over
 * data; the two that need json-pollock's schemas take the validator as an argument (compiling it
 * takes about a second, so a service builds one at start-up and passes it around).
 */

/** What the connector allows when the bot's settings do not say otherwise (src/connector/bot-config.ts). */
export const DEFAULT_LIMITS: AnswerLimits = {
  ...DEFAULT_ANSWER_LIMITS,
  // The connector reads at most this much of an answer; past it the whole answer is refused.
  maxResponseBytes: 2 * 1024 * 1024,
};

/** The most one DELAY may wait: the highest `limits.maxDelaySeconds` a bot can be configured with. */
export const MAX_DELAY_SECONDS = 600;
/** Skill names are 1–255 characters on the platform; a longer one names no skill. */
export const MAX_SKILL_NAME_LENGTH = 255;
/** The platform keeps TTR seconds in a 32-bit column; nine digits is what the Public API accepts too. */
export const MAX_TTR_SECONDS = 999_999_999;

export interface AnswerLimits {
  /** Items in one answer. */
  maxItems: number;
  /** Seconds all DELAYs of one answer add up to. */
  maxDelaySeconds: number;
  /** The answer as JSON, in UTF-8 bytes. */
  maxResponseBytes: number;
}

/** Metadata any message may carry. */
export interface MessageExtras {
  /** LivePerson conversation metadata, e.g. `[{type: 'ExternalId', id: 'order-42'}]`. */
  metadata?: ConversationMetadata;
  /** Standard base64 (padded), at most 5,000 characters; messaging conversations only. */
  encodedMetadata?: string;
}

export interface StructuredContentOptions extends MessageExtras {
  /** From `createStructuredContentValidator()`, built once per process. */
  validator: StructuredContentValidator;
}

export interface QuickRepliesOptions extends StructuredContentOptions {
  /** 1–8 chips per row. */
  itemsPerRow?: number;
}

export interface AnswerOptions {
  /** Analytics: the intents matched for the consumer's message. */
  intents?: readonly Intent[];
  /** The conversation's type (the session's `context.type`): CHAT refuses quick replies and encoded metadata. */
  conversationType?: ConversationType;
  /** The bot's limits, when its settings raise or lower the connector's defaults. */
  limits?: Partial<AnswerLimits>;
  /** When given, STRUCTURED_CONTENT items are checked against json-pollock's templates again. */
  validator?: StructuredContentValidator;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STANDARD_TTRS: readonly string[] = ['URGENT', 'NORMAL', 'PRIORITIZED'] satisfies StandardTtr[];
const ITEM_TYPES = ['TEXT', 'STRUCTURED_CONTENT', 'DELAY', 'ACTION'];
const ACTION_NAMES = ['TRANSFER', 'CLOSE_CONVERSATION', 'CHANGE_TTR', 'INVOKE_FUNCTION'];
/** Deep enough for any payload a function takes; bounded so checking it cannot overflow the stack. */
const DATA_LIMITS = { maxDepth: 64, maxNodes: 100_000 };

// ---- The rules, one per field: each says what is wrong ("must be …, got …") or nothing -------

type Rule = (value: unknown) => string | undefined;

const nonEmptyString: Rule = (value) =>
  typeof value === 'string' && value.trim() ? undefined : `must be a non-empty string, got ${show(value)}`;

const optionalBoolean: Rule = (value) =>
  value === undefined || typeof value === 'boolean' ? undefined : `must be true or false, got ${show(value)}`;

const wholeNumber =
  (min: number, max: number): Rule =>
  (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `must be a whole number from ${min} to ${max}, got ${show(value)}`;

const encodedMetadataRule: Rule = (value) => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return `must be a base64 string, got ${show(value)}`;
  if (value.length > MAX_ENCODED_METADATA_LENGTH)
    return `must be at most ${MAX_ENCODED_METADATA_LENGTH} characters long, got ${value.length}`;
  if (!value || !BASE64.test(value))
    return `must be base64 (A-Z, a-z, 0-9, "+", "/", padded with "="), got ${show(value)}`;
  return undefined;
};

/** The builders take LivePerson's array form only, as ConversationMetadata types it. */
const metadataArray: Rule = (value) => {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every(isPlainObject))
    return `must be an array of objects (like [{"type": "ExternalId", "id": "…"}]), got ${show(value)}`;
  return jsonDataProblem(value);
};

/** A hand-built item may use the contract's object form too, as the connector accepts both. */
const metadataAnyForm: Rule = (value) => {
  if (value === undefined) return undefined;
  if (isPlainObject(value)) return jsonDataProblem(value);
  return metadataArray(value);
};

const skillNameRule: Rule = (value) =>
  nonEmptyString(value) ??
  ((value as string).length > MAX_SKILL_NAME_LENGTH
    ? `must be at most ${MAX_SKILL_NAME_LENGTH} characters long (skill names are case-sensitive), got ${(value as string).length}`
    : undefined);

const lambdaUuidRule: Rule = (value) =>
  typeof value === 'string' && UUID.test(value)
    ? undefined
    : `must be the function's UUID (like "4f9c233a-e7e6-4af3-b680-59ba20ab8962"), got ${show(value)}`;

const payloadRule: Rule = (value) =>
  isPlainObject(value) ? jsonDataProblem(value) : `must be an object (passed to the function), got ${show(value)}`;

/**
 * Undefined when `value` is plain JSON data (what reaches the connector unchanged); otherwise
 * where it is not. A Date, a Map or a function would be sent as something else or not at all.
 */
function jsonDataProblem(value: unknown): string | undefined {
  const exceeded = exceededJsonLimit(value, DATA_LIMITS);
  if (exceeded) return `${describeJsonLimit(exceeded)} (at "${exceeded.pointer}")`;
  // Depth is bounded above, so the recursion is too.
  const walk = (node: unknown, at: Segment[]): string | undefined => {
    const where = at.length ? ` at "${toPointer(at)}"` : '';
    if (node === null || typeof node === 'string' || typeof node === 'boolean') return undefined;
    if (typeof node === 'number')
      return Number.isFinite(node) ? undefined : `must hold finite numbers only, got ${node}${where}`;
    if (Array.isArray(node)) {
      for (const [i, child] of node.entries()) {
        const problem = walk(child, [...at, i]);
        if (problem) return problem;
      }
      return undefined;
    }
    if (typeof node === 'object') {
      const prototype = Object.getPrototypeOf(node);
      if (prototype !== Object.prototype && prototype !== null)
        return `must hold plain JSON data only, got ${prototype?.constructor?.name ?? 'an object'}${where}`;
      for (const [key, child] of Object.entries(node)) {
        const problem = walk(child, [...at, key]);
        if (problem) return problem;
      }
      return undefined;
    }
    return `must hold plain JSON data only, got ${typeof node}${where}`;
  };
  return walk(value, []);
}

function refuse(where: string, field: string, says: string): never {
  throw new TypeError(`${where}: ${field} ${says}`);
}

function check(where: string, field: string, rule: Rule, value: unknown): void {
  const says = rule(value);
  if (says) refuse(where, field, says);
}

function extrasOf(where: string, extras: MessageExtras | undefined): MessageExtras {
  if (extras === undefined) return {};
  if (!isPlainObject(extras)) refuse(where, 'options', `must be an object, got ${show(extras)}`);
  check(where, 'metadata', metadataArray, extras.metadata);
  check(where, 'encodedMetadata', encodedMetadataRule, extras.encodedMetadata);
  const { metadata, encodedMetadata } = extras as MessageExtras;
  return {
    ...(metadata !== undefined ? { metadata } : {}),
    ...(encodedMetadata !== undefined ? { encodedMetadata } : {}),
  };
}

// ---- Messages ---------------------------------------------------------------------------------

/** A text the consumer (and the agents) see. */
export function text(message: string, extras?: MessageExtras): TextItem {
  check('text', 'message', nonEmptyString, message);
  return { type: 'TEXT', data: { message, ...extrasOf('text', extras) } };
}

/** A note only agents and managers see (LivePerson's private text). */
export function privateText(message: string, extras?: MessageExtras): TextItem {
  check('privateText', 'message', nonEmptyString, message);
  return {
    type: 'TEXT',
    data: { message, messageAudience: 'AGENTS_AND_MANAGERS', ...extrasOf('privateText', extras) },
  };
}

/** A rich-content template (card, carousel, list…), checked against json-pollock's schemas. */
export function structuredContent(
  content: Record<string, unknown>,
  options: StructuredContentOptions,
): StructuredContentItem {
  const validator = validatorOf('structuredContent', options);
  if (!isPlainObject(content))
    refuse('structuredContent', 'content', `must be a structured-content object, got ${show(content)}`);
  if (content.quickReplies !== undefined)
    refuse('structuredContent', 'content.quickReplies', 'is sent with quickReplies(message, replies, options)');
  const verdict = validator.validate(content);
  if (!verdict.ok) {
    const { path, message: says } = verdict.errors[0]!;
    refuse('structuredContent', toLabel(['content', ...fromPointer(path)]), says);
  }
  return {
    type: 'STRUCTURED_CONTENT',
    data: { structuredContent: content, ...extrasOf('structuredContent', options) },
  };
}

/**
 * A text with one-tap replies under it (messaging only). `replies` are json-pollock buttons;
 * `quickReply(title)` makes the usual one, which sends its title back as the consumer's message.
 */
export function quickReplies(
  message: string,
  replies: readonly Record<string, unknown>[],
  options: QuickRepliesOptions,
): StructuredContentItem {
  const validator = validatorOf('quickReplies', options);
  check('quickReplies', 'message', nonEmptyString, message);
  const { itemsPerRow } = options;
  const chips = { type: 'quickReplies', ...(itemsPerRow !== undefined ? { itemsPerRow } : {}), replies };
  const verdict = validator.validateQuickReplies(chips);
  if (!verdict.ok) {
    const { path, message: says } = verdict.errors[0]!;
    // `replies` and `itemsPerRow` are the caller's; the rest of the object is the builder's.
    const segments = fromPointer(path);
    refuse('quickReplies', toLabel(segments.length ? segments : ['replies']), says);
  }
  return {
    type: 'STRUCTURED_CONTENT',
    data: { structuredContent: { quickReplies: chips, message }, ...extrasOf('quickReplies', options) },
  };
}

/** A quick reply (a json-pollock button) that sends `publishText` (its title by default) as the consumer's message. */
export function quickReply(title: string, publishText: string = title): Record<string, unknown> {
  check('quickReply', 'title', nonEmptyString, title);
  check('quickReply', 'publishText', nonEmptyString, publishText);
  return { type: 'button', title, tooltip: title, click: { actions: [{ type: 'publishText', text: publishText }] } };
}

function validatorOf(where: string, options: StructuredContentOptions | undefined): StructuredContentValidator {
  const validator = options?.validator;
  if (typeof validator?.validate !== 'function' || typeof validator.validateQuickReplies !== 'function')
    refuse(where, 'options.validator', 'must be the validator from createStructuredContentValidator()');
  return validator;
}

// ---- Pauses and actions -----------------------------------------------------------------------

/** A pause between messages, with the typing indicator on unless `typing: false`. */
export function delay(seconds: number, options: { typing?: boolean } = {}): DelayItem {
  check('delay', 'seconds', wholeNumber(1, MAX_DELAY_SECONDS), seconds);
  check('delay', 'typing', optionalBoolean, options.typing);
  return { type: 'DELAY', data: { seconds, typing: options.typing ?? true } };
}

/** Hands the conversation to a skill; with `agentId`, to that agent first and the skill as fallback. */
export function transfer(skillName: string, options: { agentId?: string } = {}): ActionItem {
  check('transfer', 'skillName', skillNameRule, skillName);
  if (options.agentId !== undefined) check('transfer', 'agentId', nonEmptyString, options.agentId);
  const parameters = options.agentId !== undefined ? { skillName, agentId: options.agentId } : { skillName };
  return { type: 'ACTION', data: { name: 'TRANSFER', parameters } };
}

/** Closes the conversation; `withoutPcs: true` skips the post-conversation survey. */
export function closeConversation(options: { withoutPcs?: boolean } = {}): ActionItem {
  check('closeConversation', 'withoutPcs', optionalBoolean, options.withoutPcs);
  return {
    type: 'ACTION',
    data: { name: 'CLOSE_CONVERSATION', parameters: { withoutPcs: options.withoutPcs ?? false } },
  };
}

/** Changes the conversation's time to response: a standard one, or CUSTOM with its seconds. */
export function changeTtr(ttrType: StandardTtr): ActionItem;
export function changeTtr(ttrType: 'CUSTOM', seconds: number): ActionItem;
export function changeTtr(ttrType: StandardTtr | 'CUSTOM', seconds?: number): ActionItem {
  if (ttrType === 'CUSTOM') {
    check('changeTtr', 'seconds', wholeNumber(1, MAX_TTR_SECONDS), seconds);
    return { type: 'ACTION', data: { name: 'CHANGE_TTR', parameters: { ttrType, value: seconds as number } } };
  }
  if (!STANDARD_TTRS.includes(ttrType))
    refuse('changeTtr', 'ttrType', `must be one of "URGENT", "NORMAL", "PRIORITIZED", "CUSTOM", got ${show(ttrType)}`);
  if (seconds !== undefined) refuse('changeTtr', 'seconds', `is for CUSTOM only, got ${show(seconds)} with ${ttrType}`);
  return { type: 'ACTION', data: { name: 'CHANGE_TTR', parameters: { ttrType } } };
}

/** Invokes a LivePerson function (FaaS) with `payload`; `failOnError` escalates when it fails. */
export function invokeFunction(
  lambdaUuid: string,
  payload: Record<string, unknown> = {},
  options: { failOnError?: boolean } = {},
): ActionItem {
  check('invokeFunction', 'lambdaUuid', lambdaUuidRule, lambdaUuid);
  check('invokeFunction', 'payload', payloadRule, payload);
  check('invokeFunction', 'failOnError', optionalBoolean, options.failOnError);
  return {
    type: 'ACTION',
    data: {
      name: 'INVOKE_FUNCTION',
      parameters: { lambdaUuid, payload, failOnError: options.failOnError ?? false },
    },
  };
}

// ---- The answer -------------------------------------------------------------------------------

/**
 * The answer to a conversation event: `answer(text('Hi'), quickReplies(…))`, or with options
 * first, `answer({intents, conversationType}, …items)`. Refuses what the connector would not
 * carry out whole: no message or action at all (it escalates), a second ACTION (ignored), more
 * items, delay or bytes than the limits, quick replies or encoded metadata on a CHAT conversation.
 */
export function answer(...items: BotResponseItem[]): PostEventResponseBody;
export function answer(options: AnswerOptions, ...items: BotResponseItem[]): PostEventResponseBody;
export function answer(...parts: (AnswerOptions | BotResponseItem)[]): PostEventResponseBody {
  // Items always have a `type`; options never do.
  const first = parts[0];
  const options = isPlainObject(first) && !('type' in first) ? (first as AnswerOptions) : {};
  const items = (options === first ? parts.slice(1) : parts) as BotResponseItem[];
  const body: PostEventResponseBody = { response: items, analytics: { intents: [...(options.intents ?? [])] } };
  return checkAnswer(body, options);
}

/**
 * Checks a whole answer by the same rules as the builders (the service runs it on what handlers
 * return); throws a TypeError naming the field, as `answer: response[2].data.seconds …`.
 */
export function checkAnswer(
  body: unknown,
  options: Omit<AnswerOptions, 'intents'> = {},
  where = 'answer',
): PostEventResponseBody {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const fail = (segments: Segment[], says: string): never => refuse(where, toLabel(segments), says);
  if (!isPlainObject(body))
    fail([], `must be an object like {"response": [ …items… ], "analytics": {…}}, got ${show(body)}`);
  const { response, analytics } = body as Record<string, unknown>;
  if (!Array.isArray(response)) fail(['response'], `must be an array of items, got ${show(response)}`);
  const items = response as unknown[];
  if (items.length > limits.maxItems)
    fail(['response'], `has ${items.length} items; an answer may have at most ${limits.maxItems}`);

  let action: number | undefined;
  let delayed = 0;
  for (const [index, item] of items.entries()) {
    const kind = checkItem(item, ['response', index], options, fail);
    if (kind === 'action') {
      if (action !== undefined)
        fail(
          ['response', index],
          `is a second ACTION; only one action per answer is carried out (the first is response[${action}])`,
        );
      action = index;
    }
    if (kind === 'delay') {
      delayed += (item as DelayItem).data.seconds;
      if (delayed > limits.maxDelaySeconds)
        fail(
          ['response', index, 'data', 'seconds'],
          `makes the answer wait ${delayed} s in all; the limit is ${limits.maxDelaySeconds} s`,
        );
    }
  }
  if (action === undefined && !items.some((item) => (item as BotResponseItem).type !== 'DELAY'))
    fail(['response'], 'holds no message or action; the connector escalates such an answer');

  if (!isPlainObject(analytics))
    fail(['analytics'], `must be an object like {"intents": [ … ]}, got ${show(analytics)}`);
  const { intents } = analytics as Record<string, unknown>;
  if (intents !== undefined) {
    if (!Array.isArray(intents)) fail(['analytics', 'intents'], `must be an array, got ${show(intents)}`);
    for (const [i, intent] of (intents as unknown[]).entries()) checkIntent(intent, ['analytics', 'intents', i], fail);
  }

  const bytes = Buffer.byteLength(JSON.stringify(body));
  if (bytes > limits.maxResponseBytes)
    fail([], `is ${bytes} bytes as JSON; the connector reads at most ${limits.maxResponseBytes}`);
  return body as unknown as PostEventResponseBody;
}

type Fail = (segments: Segment[], says: string) => never;

function checkItem(
  item: unknown,
  at: Segment[],
  options: Omit<AnswerOptions, 'intents'>,
  fail: Fail,
): 'message' | 'delay' | 'action' {
  const must = (segments: Segment[], rule: Rule, value: unknown) => {
    const says = rule(value);
    if (says) fail(segments, says);
  };
  if (!isPlainObject(item)) fail(at, `must be an item like {"type": "TEXT", "data": {…}}, got ${show(item)}`);
  const { type, data } = item as Record<string, unknown>;
  if (typeof type !== 'string' || !ITEM_TYPES.includes(type))
    fail([...at, 'type'], `must be one of ${ITEM_TYPES.map((t) => `"${t}"`).join(', ')}, got ${show(type)}`);
  if (!isPlainObject(data)) fail([...at, 'data'], `must be an object, got ${show(data)}`);
  const d = data as Record<string, unknown>;
  const extras = () => {
    must([...at, 'data', 'metadata'], metadataAnyForm, d.metadata);
    must([...at, 'data', 'encodedMetadata'], encodedMetadataRule, d.encodedMetadata);
    if (d.encodedMetadata !== undefined && options.conversationType === 'CHAT')
      fail([...at, 'data', 'encodedMetadata'], 'is for messaging conversations only, and this one is CHAT');
  };

  switch (type) {
    case 'TEXT': {
      const audience = d.messageAudience;
      if (audience !== undefined && audience !== 'ALL' && audience !== 'AGENTS_AND_MANAGERS')
        fail([...at, 'data', 'messageAudience'], `must be "ALL" or "AGENTS_AND_MANAGERS", got ${show(audience)}`);
      must([...at, 'data', 'message'], nonEmptyString, d.message);
      extras();
      return 'message';
    }
    case 'STRUCTURED_CONTENT': {
      const contentAt = [...at, 'data', 'structuredContent'];
      const content = d.structuredContent;
      if (!isPlainObject(content)) fail(contentAt, `must be a structured-content object, got ${show(content)}`);
      const c = content as Record<string, unknown>;
      if (c.quickReplies !== undefined) {
        if (options.conversationType === 'CHAT')
          fail([...contentAt, 'quickReplies'], 'are for messaging conversations only, and this one is CHAT');
        const strays = Object.keys(c).filter((key) => key !== 'quickReplies' && key !== 'message');
        if (strays.length)
          fail(
            contentAt,
            `holds quick replies, so it may hold only "quickReplies" and "message", but also has ${strays.map((s) => `"${s}"`).join(', ')}`,
          );
        must([...contentAt, 'message'], nonEmptyString, c.message);
        const verdict = options.validator?.validateQuickReplies(c.quickReplies);
        if (verdict && !verdict.ok)
          fail([...contentAt, 'quickReplies', ...fromPointer(verdict.errors[0]!.path)], verdict.errors[0]!.message);
      } else {
        const verdict = options.validator?.validate(c);
        if (verdict && !verdict.ok)
          fail([...contentAt, ...fromPointer(verdict.errors[0]!.path)], verdict.errors[0]!.message);
      }
      extras();
      return 'message';
    }
    case 'DELAY':
      must([...at, 'data', 'seconds'], wholeNumber(1, MAX_DELAY_SECONDS), d.seconds);
      must([...at, 'data', 'typing'], optionalBoolean, d.typing);
      return 'delay';
    default:
      checkAction(d, [...at, 'data'], fail);
      return 'action';
  }
}

function checkAction(data: Record<string, unknown>, at: Segment[], fail: Fail): void {
  const { name, parameters } = data;
  if (typeof name !== 'string' || !ACTION_NAMES.includes(name))
    fail([...at, 'name'], `must be one of ${ACTION_NAMES.map((n) => `"${n}"`).join(', ')}, got ${show(name)}`);
  const paramsAt = [...at, 'parameters'];
  if (!isPlainObject(parameters)) fail(paramsAt, `must be an object, got ${show(parameters)}`);
  const p = parameters as Record<string, unknown>;
  const must = (key: string, rule: Rule) => {
    const says = rule(p[key]);
    if (says) fail([...paramsAt, key], says);
  };
  const only = (...keys: string[]) => {
    const stray = Object.keys(p).find((key) => !keys.includes(key));
    if (stray !== undefined)
      fail([...paramsAt, stray], `is not a parameter of ${name} (it takes ${keys.map((k) => `"${k}"`).join(', ')})`);
  };
  switch (name) {
    case 'TRANSFER':
      only('skillName', 'agentId');
      if (p.skillName === undefined && p.agentId === undefined)
        fail(paramsAt, 'must name a "skillName", an "agentId" (preferred agent) or both');
      if (p.skillName !== undefined) must('skillName', skillNameRule);
      if (p.agentId !== undefined) must('agentId', nonEmptyString);
      return;
    case 'CLOSE_CONVERSATION':
      only('withoutPcs');
      must('withoutPcs', optionalBoolean);
      return;
    case 'CHANGE_TTR': {
      const { ttrType, value } = p;
      if (ttrType === 'CUSTOM') {
        only('ttrType', 'value');
        // The connector takes "600" as well as 600, as LivePerson's examples send it.
        const seconds = typeof value === 'string' && /^[0-9]{1,9}$/.test(value) ? Number(value) : value;
        if (wholeNumber(1, MAX_TTR_SECONDS)(seconds) !== undefined)
          fail(
            [...paramsAt, 'value'],
            `must be a whole number of seconds from 1 to ${MAX_TTR_SECONDS}, got ${show(value)}`,
          );
        return;
      }
      if (typeof ttrType !== 'string' || !STANDARD_TTRS.includes(ttrType))
        fail(
          [...paramsAt, 'ttrType'],
          `must be one of "URGENT", "NORMAL", "PRIORITIZED", "CUSTOM", got ${show(ttrType)}`,
        );
      only('ttrType');
      return;
    }
    default:
      only('lambdaUuid', 'payload', 'failOnError');
      must('lambdaUuid', lambdaUuidRule);
      must('payload', payloadRule);
      must('failOnError', optionalBoolean);
  }
}

function checkIntent(intent: unknown, at: Segment[], fail: Fail): void {
  if (!isPlainObject(intent))
    fail(at, `must be an object with "id", "description" and "confidenceScore", got ${show(intent)}`);
  const { id, description, confidenceScore } = intent as Record<string, unknown>;
  if (typeof id !== 'string' || !/^\S+$/.test(id))
    fail([...at, 'id'], `must be a non-empty string without whitespace, got ${show(id)}`);
  if (typeof description !== 'string') fail([...at, 'description'], `must be a string, got ${show(description)}`);
  if (typeof confidenceScore !== 'number' || !(confidenceScore >= 0 && confidenceScore <= 1))
    fail([...at, 'confidenceScore'], `must be a number from 0 to 1, got ${show(confidenceScore)}`);
}
