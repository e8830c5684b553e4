import { fromPointer, isPlainObject, show, toLabel, toPointer, type Segment } from '../../util/json-location.js';
import type { StructuredContentFinding, StructuredContentValidator } from '../structured-content.js';
import { DEFAULT_ANSWER_LIMITS } from '../limits.js';
import type { ParserErrorCode } from './codes.js';
import {
  ACTION_NAMES,
  AUDIENCES,
  ITEM_TYPES,
  TTR_TYPES,
  confidenceScore,
  delaySeconds,
  encodedMetadata as encodedMetadataRule,
  functionPayload,
  intentDescription,
  intentId,
  lambdaUuid as lambdaUuidRule,
  listed,
  metadataList,
  nonEmptyString,
  oneOf,
  quickRepliesMessage,
  skillName as skillNameRule,
  trueOrFalse,
  ttrSecondsOf,
  ttrSeconds,
  type Rule,
} from './rules.js';
import type {
  Audience,
  ParseContext,
  ParseError,
  ParsedAction,
  ParsedIntent,
  ParsedItem,
  ParsedResponse,
  TtrType,
} from './types.js';

/**
 * Turns the Custom Endpoint's answer to an event into what the connector sends, and says
 * precisely what was wrong with everything it leaves out. Pure: same body, same context, same
 * result; nothing is sent, logged or stored here. The rules for each field are rules.ts's, which
 * the SDK's builders apply too.
 */

interface Problem {
  code: ParserErrorCode;
  at: readonly Segment[];
  /** Reads after the location: "must be an integer >= 1, got 0". */
  says: string;
}
type Checked<T> = { value: T; problems?: undefined } | { value?: undefined; problems: Problem[] };

const refuse = (code: ParserErrorCode, at: readonly Segment[], says: string): { problems: Problem[] } => ({
  problems: [{ code, at, says }],
});

/** The rule's verdict on `value` as a refusal at `at`, or undefined when it holds. */
const broken = (code: ParserErrorCode, at: readonly Segment[], rule: Rule, value: unknown) => {
  const says = rule(value);
  return says === undefined ? undefined : refuse(code, at, says);
};

/**
 * `structuredContent` is the validator from `createStructuredContentValidator()` (src/contract),
 * built once at start-up and passed in, which keeps this function free of set-up cost and of
 * hidden state.
 *
 * Invalid items are dropped and reported, the rest keep their order. Optional fields sent as
 * `null` count as absent: serialisers in many languages write nulls for unset fields.
 */
export function parseBotResponse(
  raw: unknown,
  context: ParseContext,
  structuredContent: StructuredContentValidator,
): ParsedResponse {
  const errors: ParseError[] = [];
  const report = (problems: readonly Problem[], index?: number) => {
    for (const { code, at, says } of problems) {
      errors.push({
        code,
        message: `${toLabel(at)} ${says}`,
        ...(index === undefined ? {} : { index }),
        path: toPointer(at),
      });
    }
  };

  if (!isPlainObject(raw) || !Array.isArray(raw.response)) {
    report([unusableBody(raw)]);
    const intents = isPlainObject(raw) ? parseIntents(raw.analytics, report) : [];
    return { items: [], intents, errors, usable: false };
  }

  const { maxItems, maxDelaySeconds } = context.limits ?? DEFAULT_ANSWER_LIMITS;
  if (raw.response.length > maxItems) {
    // Refused whole, before any item is looked at: a thousand messages are nobody's answer.
    report(
      refuse(
        'common-too-many-items',
        ['response'],
        `has ${raw.response.length} items; an answer may have at most ${maxItems} (the bot's limits.maxItems)`,
      ).problems,
    );
    return { items: [], intents: parseIntents(raw.analytics, report), errors, usable: false };
  }

  const items: ParsedItem[] = [];
  let action: ParsedAction | undefined;
  let delayed = 0;
  for (const [index, item] of (raw.response as unknown[]).entries()) {
    const at: Segment[] = ['response', index];
    if (!isPlainObject(item)) {
      report(
        refuse(
          'custom-endpoint-invalid-body',
          at,
          `must be an object like {"type": "TEXT", "data": {…}}, got ${show(item)}`,
        ).problems,
        index,
      );
      continue;
    }
    const { type, data } = item;
    if (typeof type !== 'string') {
      report(
        refuse(
          'custom-endpoint-invalid-body',
          [...at, 'type'],
          `must be one of ${listed(ITEM_TYPES)}, got ${show(type)}`,
        ).problems,
        index,
      );
      continue;
    }
    let parsed: Checked<ParsedItem | ParsedAction>;
    switch (type) {
      case 'TEXT':
        parsed = parseText(data, at, index, context);
        break;
      case 'STRUCTURED_CONTENT':
        parsed = parseStructuredContent(data, at, index, context, structuredContent);
        break;
      case 'DELAY': {
        // Past the bot's limit says more than past the most any bot allows: checked first.
        const seconds = isPlainObject(data) ? data.seconds : undefined;
        if (
          typeof seconds === 'number' &&
          Number.isInteger(seconds) &&
          seconds >= 1 &&
          delayed + seconds > maxDelaySeconds
        ) {
          const says = `would make this answer wait ${delayed + seconds} s in all; the limit is ${maxDelaySeconds} s (the bot's limits.maxDelaySeconds)`;
          parsed = refuse('common-delay-too-long', [...at, 'data', 'seconds'], says);
          break;
        }
        const delay = parseDelay(data, at, index);
        if (delay.value?.kind === 'delay') delayed += delay.value.seconds;
        parsed = delay;
        break;
      }
      case 'ACTION':
        if (action) {
          const says = `is a second ACTION; only one action per response is carried out, the ${action.name} at response[${action.index}]`;
          report(refuse('common-multiple-actions', at, says).problems, index);
          continue;
        }
        parsed = parseAction(data, at, index);
        break;
      default: {
        const hint = (ITEM_TYPES as readonly string[]).includes(type.toUpperCase())
          ? ` (types are case-sensitive: "${type.toUpperCase()}")`
          : '';
        report(
          refuse(
            'common-unknown-response-type',
            [...at, 'type'],
            `must be one of ${listed(ITEM_TYPES)}, got ${show(type)}${hint}`,
          ).problems,
          index,
        );
        continue;
      }
    }
    if (parsed.problems) {
      report(parsed.problems, index);
      continue;
    }
    if ('kind' in parsed.value) items.push(parsed.value);
    else action = parsed.value;
  }

  const intents = parseIntents(raw.analytics, report);
  const usable = action !== undefined || items.some((item) => item.kind !== 'delay');
  if (!usable) {
    const dropped = new Set(errors.map((e) => e.index).filter((i) => i !== undefined)).size;
    report([nothingUsable(raw.response.length, items.length, dropped)]);
  }
  return { items, ...(action ? { action } : {}), intents, errors, usable };
}

function unusableBody(raw: unknown): Problem {
  const code = 'common-invalid-ai-vendor-response';
  const expected = 'expected an object like {"response": [ …items… ]}';
  if (raw === undefined) return { code, at: [], says: `is empty; ${expected}` };
  if (Array.isArray(raw)) return { code, at: [], says: `is an array; wrap the items as {"response": [ …items… ]}` };
  if (!isPlainObject(raw)) return { code, at: [], says: `is ${show(raw)}; ${expected}` };
  if (raw.response === undefined) {
    const keys = Object.keys(raw);
    const has = keys.length
      ? `its keys are ${keys
          .slice(0, 5)
          .map((k) => JSON.stringify(k))
          .join(', ')}${keys.length > 5 ? ', …' : ''}`
      : 'it is empty';
    return { code, at: [], says: `has no "response" array (${has}); ${expected}` };
  }
  return { code, at: ['response'], says: `must be an array of items, got ${show(raw.response)}` };
}

function nothingUsable(total: number, delays: number, dropped: number): Problem {
  const code = 'common-invalid-parsed-response';
  if (total === 0) return { code, at: ['response'], says: 'is empty: there is no message or action to send' };
  const why = [
    dropped ? `${dropped} invalid item${dropped === 1 ? ' was' : 's were'} dropped` : '',
    delays === 1 ? 'a DELAY alone sends nothing' : delays ? `${delays} DELAYs alone send nothing` : '',
  ]
    .filter(Boolean)
    .join('; ');
  return { code, at: ['response'], says: `holds no valid message or action (${why})` };
}

function parseText(data: unknown, at: readonly Segment[], index: number, context: ParseContext): Checked<ParsedItem> {
  if (!isPlainObject(data))
    return refuse('common-invalid-text-body', [...at, 'data'], `must be an object with a "message", got ${show(data)}`);
  const audience: unknown = data.messageAudience ?? 'ALL';
  // Anything but ALL reads as an attempt at a private text: better dropped than shown to the consumer.
  const code = audience === 'ALL' ? 'common-invalid-text-body' : 'common-invalid-private-text-body';
  const wrong =
    broken(code, [...at, 'data', 'messageAudience'], oneOf(AUDIENCES), audience) ??
    broken(code, [...at, 'data', 'message'], nonEmptyString, data.message);
  if (wrong) return wrong;
  const text = data.message as string;
  const extras = parseMessageExtras(data, at, code, context);
  if (extras.problems) return extras;
  return { value: { kind: 'text', index, text, audience: audience as Audience, ...extras.value } };
}

function parseStructuredContent(
  data: unknown,
  at: readonly Segment[],
  index: number,
  context: ParseContext,
  validator: StructuredContentValidator,
): Checked<ParsedItem> {
  const code = 'common-invalid-structured-content-body';
  if (!isPlainObject(data))
    return refuse(code, [...at, 'data'], `must be an object with a "structuredContent", got ${show(data)}`);
  const contentAt = [...at, 'data', 'structuredContent'];
  const content = data.structuredContent;
  if (!isPlainObject(content))
    return refuse(code, contentAt, `must be a structured-content object, got ${show(content)}`);

  let value: ParsedItem;
  if (content.quickReplies !== undefined) {
    if (context.conversationType === 'CHAT') {
      const says =
        'cannot be sent: quick replies are supported on messaging conversations only, and this is a CHAT conversation';
      return refuse('common-no-quick-replies-support-chat', [...contentAt, 'quickReplies'], says);
    }
    // Quick replies ride on a text message; anything else here (a card, say) would silently vanish.
    const strays = Object.keys(content).filter((key) => key !== 'quickReplies' && key !== 'message');
    if (strays.length) {
      const says = `holds quick replies, so it may hold only "quickReplies" and "message", but also has ${listed(strays)}`;
      return refuse(code, contentAt, says);
    }
    const wrong = broken(code, [...contentAt, 'message'], quickRepliesMessage, content.message);
    if (wrong) return wrong;
    const text = content.message as string;
    const verdict = validator.validateQuickReplies(content.quickReplies);
    if (!verdict.ok) return { problems: fromFindings(code, [...contentAt, 'quickReplies'], verdict.errors) };
    value = { kind: 'quickReplies', index, text, quickReplies: content.quickReplies as object };
  } else {
    const verdict = validator.validate(content);
    if (!verdict.ok) return { problems: fromFindings(code, contentAt, verdict.errors) };
    value = { kind: 'structured', index, content };
  }
  const extras = parseMessageExtras(data, at, code, context);
  if (extras.problems) return extras;
  return { value: { ...value, ...extras.value } };
}

function fromFindings(
  code: ParserErrorCode,
  base: readonly Segment[],
  findings: readonly StructuredContentFinding[],
): Problem[] {
  return findings.map((f) => ({ code, at: [...base, ...fromPointer(f.path)], says: f.message }));
}

/** `metadata` and `encodedMetadata`, shared by every kind of message. */
function parseMessageExtras(
  data: Record<string, unknown>,
  at: readonly Segment[],
  bodyCode: ParserErrorCode,
  context: ParseContext,
): Checked<{ metadata?: Record<string, unknown>[]; encodedMetadata?: string }> {
  const extras: { metadata?: Record<string, unknown>[]; encodedMetadata?: string } = {};
  const { metadata, encodedMetadata } = data;
  if (metadata != null) {
    // A list of objects (contracts/ERRATA.md §1); the published file's object is one item of it.
    const list = isPlainObject(metadata) ? [metadata] : metadata;
    const wrong = broken(bodyCode, [...at, 'data', 'metadata'], metadataList, list);
    if (wrong) return wrong;
    extras.metadata = list as Record<string, unknown>[];
  }
  if (encodedMetadata != null) {
    const code = 'common-invalid-encoded-metadata';
    const where = [...at, 'data', 'encodedMetadata'];
    if (context.conversationType === 'CHAT') {
      return refuse(
        code,
        where,
        'is supported on messaging conversations only, and this is a CHAT conversation; the message was dropped',
      );
    }
    const wrong = broken(code, where, encodedMetadataRule, encodedMetadata);
    if (wrong) return wrong;
    extras.encodedMetadata = encodedMetadata as string;
  }
  return { value: extras };
}

function parseDelay(data: unknown, at: readonly Segment[], index: number): Checked<ParsedItem> {
  const code = 'common-invalid-delay-body';
  if (!isPlainObject(data)) return refuse(code, [...at, 'data'], `must be an object with "seconds", got ${show(data)}`);
  const typing = data.typing ?? true;
  const wrong =
    broken(code, [...at, 'data', 'seconds'], delaySeconds, data.seconds) ??
    broken(code, [...at, 'data', 'typing'], trueOrFalse, typing);
  if (wrong) return wrong;
  return { value: { kind: 'delay', index, seconds: data.seconds as number, typing: typing as boolean } };
}

function parseAction(data: unknown, at: readonly Segment[], index: number): Checked<ParsedAction> {
  const code = 'common-invalid-action-body';
  if (!isPlainObject(data))
    return refuse(code, [...at, 'data'], `must be an object with "name" and "parameters", got ${show(data)}`);
  const { name } = data;
  const unnamed = broken(code, [...at, 'data', 'name'], oneOf(ACTION_NAMES), name);
  if (unnamed) return unnamed;
  const paramsAt = [...at, 'data', 'parameters'];
  // LivePerson documents CLOSE_CONVERSATION as having no required parameters.
  const params = data.parameters ?? (name === 'CLOSE_CONVERSATION' ? {} : undefined);
  if (!isPlainObject(params)) return refuse(code, paramsAt, `must be an object, got ${show(params)}`);

  switch (name as (typeof ACTION_NAMES)[number]) {
    case 'TRANSFER': {
      const transfer: ParsedAction & { name: 'TRANSFER' } = { name: 'TRANSFER', index };
      for (const [key, rule] of [
        ['skillName', skillNameRule],
        ['agentId', nonEmptyString],
      ] as const) {
        const value = params[key];
        if (value == null) continue;
        const wrong = broken(code, [...paramsAt, key], rule, value);
        if (wrong) return wrong;
        transfer[key] = value as string;
      }
      if (transfer.skillName === undefined && transfer.agentId === undefined) {
        return refuse(code, paramsAt, 'must name a "skillName", an "agentId" (preferred agent) or both');
      }
      return { value: transfer };
    }
    case 'CLOSE_CONVERSATION': {
      const withoutPcs = params.withoutPcs ?? false;
      const wrong = broken(code, [...paramsAt, 'withoutPcs'], trueOrFalse, withoutPcs);
      if (wrong) return wrong;
      return { value: { name: 'CLOSE_CONVERSATION', index, withoutPcs: withoutPcs as boolean } };
    }
    case 'CHANGE_TTR': {
      const { ttrType } = params;
      const wrong = broken(code, [...paramsAt, 'ttrType'], oneOf(TTR_TYPES), ttrType);
      if (wrong) return wrong;
      if (ttrType !== 'CUSTOM') return { value: { name: 'CHANGE_TTR', index, ttrType: ttrType as TtrType } };
      const raw = params.value;
      if (raw == null)
        return refuse(
          code,
          [...paramsAt, 'value'],
          'is required when ttrType is "CUSTOM": the time to response in seconds',
        );
      // LivePerson's examples send "10"; numbers are accepted too. Nothing looser ("1e3", " 10").
      const seconds = ttrSecondsOf(raw);
      if (seconds === undefined) return refuse(code, [...paramsAt, 'value'], ttrSeconds(raw)!);
      return { value: { name: 'CHANGE_TTR', index, ttrType: 'CUSTOM', value: seconds } };
    }
    case 'INVOKE_FUNCTION': {
      const { lambdaUuid, payload } = params;
      const failOnError = params.failOnError ?? false;
      const wrong =
        broken(code, [...paramsAt, 'lambdaUuid'], lambdaUuidRule, lambdaUuid) ??
        broken(code, [...paramsAt, 'payload'], functionPayload, payload) ??
        broken(code, [...paramsAt, 'failOnError'], trueOrFalse, failOnError);
      if (wrong) return wrong;
      return {
        value: {
          name: 'INVOKE_FUNCTION',
          index,
          lambdaUuid: lambdaUuid as string,
          payload: payload as object,
          failOnError: failOnError as boolean,
        },
      };
    }
  }
}

/** Invalid intents are left out of the analytics; they never make a response unusable. */
function parseIntents(analytics: unknown, report: (problems: readonly Problem[]) => void): ParsedIntent[] {
  const code = 'common-invalid-intent';
  if (analytics == null) return [];
  if (!isPlainObject(analytics)) {
    report(refuse(code, ['analytics'], `must be an object like {"intents": [ … ]}, got ${show(analytics)}`).problems);
    return [];
  }
  const { intents } = analytics;
  if (intents == null) return [];
  if (!Array.isArray(intents)) {
    report(refuse(code, ['analytics', 'intents'], `must be an array, got ${show(intents)}`).problems);
    return [];
  }
  const parsed: ParsedIntent[] = [];
  for (const [i, intent] of (intents as unknown[]).entries()) {
    const at = ['analytics', 'intents', i];
    if (!isPlainObject(intent)) {
      report(
        refuse(code, at, `must be an object with "id", "description" and "confidenceScore", got ${show(intent)}`)
          .problems,
      );
      continue;
    }
    const wrong =
      broken(code, [...at, 'id'], intentId, intent.id) ??
      broken(code, [...at, 'description'], intentDescription, intent.description) ??
      broken(code, [...at, 'confidenceScore'], confidenceScore, intent.confidenceScore);
    if (wrong) {
      report(wrong.problems);
      continue;
    }
    const { id, description, confidenceScore: score } = intent as unknown as ParsedIntent;
    parsed.push({ id, description, confidenceScore: score });
  }
  return parsed;
}
