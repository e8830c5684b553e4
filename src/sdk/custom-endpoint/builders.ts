import {
  DEFAULT_ANSWER_LIMITS,
  MAX_DELAY_SECONDS,
  MAX_SKILL_NAME_LENGTH,
  MAX_TTR_SECONDS,
  answerRules as rules,
  parseBotResponse,
  type AnswerLimits,
  type StructuredContentValidator,
} from '../../contract/index.js';
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
 * that names the field) what the connector would drop or escalate on. The rules are the
 * connector's own (src/contract/answer: each field's rule, and the parser live traffic goes
 * through, which `checkAnswer` runs), so the SDK cannot accept what the connector refuses, nor
 * the other way round. Pure functions over data; the two that need json-pollock's schemas take
 * the validator as an argument (compiling it takes about a second, so a service builds one at
 * start-up and passes it around).
 */

/** What the connector allows when the bot's settings do not say otherwise. */
export const DEFAULT_LIMITS: AnswerLimits = DEFAULT_ANSWER_LIMITS;
export { MAX_DELAY_SECONDS, MAX_SKILL_NAME_LENGTH, MAX_TTR_SECONDS, type AnswerLimits };

/** Metadata any message may carry. */
export interface MessageExtras {
  /** LivePerson conversation metadata, a list: `[{type: 'ExternalId', id: 'order-42'}]`. */
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

/** Deep enough for any payload a function takes; bounded so checking it cannot overflow the stack. */
const DATA_LIMITS = { maxDepth: 64, maxNodes: 100_000 };

type Rule = rules.Rule;

/** An optional field: absent is fine, present must keep the rule. */
const optional =
  (rule: Rule): Rule =>
  (value) =>
    value === undefined ? undefined : rule(value);

/** Besides the connector's rule, plain JSON data: what a JavaScript caller passes may be a Date or a function. */
const withJsonData =
  (rule: Rule): Rule =>
  (value) =>
    rule(value) ?? jsonDataProblem(value);

const metadataRule = optional(withJsonData(rules.metadataList));
const encodedMetadataRule = optional(rules.encodedMetadata);
const payloadRule = withJsonData(rules.functionPayload);

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
  check(where, 'metadata', metadataRule, extras.metadata);
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
  check('text', 'message', rules.nonEmptyString, message);
  return { type: 'TEXT', data: { message, ...extrasOf('text', extras) } };
}

/** A note only agents and managers see (LivePerson's private text). */
export function privateText(message: string, extras?: MessageExtras): TextItem {
  check('privateText', 'message', rules.nonEmptyString, message);
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
  check('quickReplies', 'message', rules.quickRepliesMessage, message);
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
  check('quickReply', 'title', rules.nonEmptyString, title);
  check('quickReply', 'publishText', rules.nonEmptyString, publishText);
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
  check('delay', 'seconds', rules.delaySeconds, seconds);
  check('delay', 'typing', optional(rules.trueOrFalse), options.typing);
  return { type: 'DELAY', data: { seconds, typing: options.typing ?? true } };
}

/** Hands the conversation to a skill; with `agentId`, to that agent first and the skill as fallback. */
export function transfer(skillName: string, options: { agentId?: string } = {}): ActionItem {
  check('transfer', 'skillName', rules.skillName, skillName);
  check('transfer', 'agentId', optional(rules.nonEmptyString), options.agentId);
  const parameters = options.agentId !== undefined ? { skillName, agentId: options.agentId } : { skillName };
  return { type: 'ACTION', data: { name: 'TRANSFER', parameters } };
}

/** Closes the conversation; `withoutPcs: true` skips the post-conversation survey. */
export function closeConversation(options: { withoutPcs?: boolean } = {}): ActionItem {
  check('closeConversation', 'withoutPcs', optional(rules.trueOrFalse), options.withoutPcs);
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
    check('changeTtr', 'seconds', rules.ttrSeconds, seconds);
    return { type: 'ACTION', data: { name: 'CHANGE_TTR', parameters: { ttrType, value: seconds as number } } };
  }
  check('changeTtr', 'ttrType', rules.oneOf(rules.TTR_TYPES), ttrType);
  if (seconds !== undefined) refuse('changeTtr', 'seconds', `is for CUSTOM only, got ${show(seconds)} with ${ttrType}`);
  return { type: 'ACTION', data: { name: 'CHANGE_TTR', parameters: { ttrType } } };
}

/** Invokes a LivePerson function (FaaS) with `payload`; `failOnError` escalates when it fails. */
export function invokeFunction(
  lambdaUuid: string,
  payload: Record<string, unknown> = {},
  options: { failOnError?: boolean } = {},
): ActionItem {
  check('invokeFunction', 'lambdaUuid', rules.lambdaUuid, lambdaUuid);
  check('invokeFunction', 'payload', payloadRule, payload);
  check('invokeFunction', 'failOnError', optional(rules.trueOrFalse), options.failOnError);
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

/** Without a validator, structured content is checked for its shape only (json-pollock's templates are not). */
const UNCHECKED_CONTENT: StructuredContentValidator = {
  validate: () => ({ ok: true }),
  validateQuickReplies: () => ({ ok: true }),
};

/**
 * Checks a whole answer exactly as the connector will read it (its parser, src/contract/answer):
 * anything the connector would drop, escalate on or leave out throws a TypeError naming the field,
 * as `answer: response[2].data.seconds must be …`; so does a body past the byte limit.
 */
export function checkAnswer(
  body: unknown,
  options: Omit<AnswerOptions, 'intents'> = {},
  where = 'answer',
): PostEventResponseBody {
  const limits = { ...DEFAULT_ANSWER_LIMITS, ...options.limits };
  const parsed = parseBotResponse(
    body,
    { conversationType: options.conversationType ?? 'MESSAGING', limits },
    options.validator ?? UNCHECKED_CONTENT,
  );
  const [first] = parsed.errors;
  if (first) throw new TypeError(`${where}: ${first.message}`);
  const bytes = Buffer.byteLength(JSON.stringify(body));
  if (bytes > limits.maxResponseBytes)
    throw new TypeError(
      `${where}: the body is ${bytes} bytes as JSON; the connector reads at most ${limits.maxResponseBytes}`,
    );
  return body as PostEventResponseBody;
}
