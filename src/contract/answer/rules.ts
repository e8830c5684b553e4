import { isPlainObject, show } from '../../util/json-location.js';
import { MAX_DELAY_SECONDS, MAX_ENCODED_METADATA_LENGTH, MAX_SKILL_NAME_LENGTH, MAX_TTR_SECONDS } from '../limits.js';

/**
 * The rule for each field of an answer, written once: the parser (which live traffic, the
 * conversation tester and the conformance check go through) and the SDK's builders both call
 * these. A rule says what is wrong with a value — "must be …, got …", read after the field's
 * name — or nothing. Pure.
 */
export type Rule = (value: unknown) => string | undefined;

export const ITEM_TYPES = ['TEXT', 'STRUCTURED_CONTENT', 'DELAY', 'ACTION'] as const;
export const ACTION_NAMES = ['TRANSFER', 'CLOSE_CONVERSATION', 'CHANGE_TTR', 'INVOKE_FUNCTION'] as const;
export const TTR_TYPES = ['URGENT', 'NORMAL', 'PRIORITIZED', 'CUSTOM'] as const;
export const AUDIENCES = ['ALL', 'AGENTS_AND_MANAGERS'] as const;

/** Standard alphabet with padding: what LivePerson decodes. Line breaks and URL-safe "-_" are refused. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `"A", "B", "C"`: a list of allowed values as they are written in JSON. */
export function listed(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(', ');
}

/** One of `values`, exactly (they are case-sensitive). */
export const oneOf =
  (values: readonly string[]): Rule =>
  (value) =>
    typeof value === 'string' && values.includes(value)
      ? undefined
      : `must be one of ${listed(values)} (case-sensitive), got ${show(value)}`;

export const nonEmptyString: Rule = (value) =>
  typeof value === 'string' && value.trim() ? undefined : `must be a non-empty string, got ${show(value)}`;

export const trueOrFalse: Rule = (value) =>
  typeof value === 'boolean' ? undefined : `must be true or false, got ${show(value)}`;

export const wholeNumber =
  (min: number, max: number): Rule =>
  (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? undefined
      : `must be a whole number from ${min} to ${max}, got ${show(value)}`;

/** One DELAY; what all of an answer's DELAYs add up to is the bot's limit (checked by the parser). */
export const delaySeconds: Rule = wholeNumber(1, MAX_DELAY_SECONDS);

/** A CUSTOM time to response: a number, or a string of digits as LivePerson's examples send it. */
export function ttrSecondsOf(value: unknown): number | undefined {
  const seconds = typeof value === 'string' && /^[0-9]{1,9}$/.test(value) ? Number(value) : value;
  return typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_TTR_SECONDS
    ? seconds
    : undefined;
}
export const ttrSeconds: Rule = (value) =>
  ttrSecondsOf(value) !== undefined
    ? undefined
    : `must be a whole number from 1 to ${MAX_TTR_SECONDS} (seconds; a string of digits too), got ${show(value)}`;

export const skillName: Rule = (value) => {
  if (typeof value !== 'string' || !value.trim())
    return `must be a non-empty string (skill names are case-sensitive), got ${show(value)}`;
  if (value.length > MAX_SKILL_NAME_LENGTH)
    return `must be at most ${MAX_SKILL_NAME_LENGTH} characters long (skill names are case-sensitive), got ${value.length}`;
  return undefined;
};

export const lambdaUuid: Rule = (value) =>
  typeof value === 'string' && UUID.test(value)
    ? undefined
    : `must be the function's UUID (like "4f9c233a-e7e6-4af3-b680-59ba20ab8962"), got ${show(value)}`;

export const functionPayload: Rule = (value) =>
  isPlainObject(value) ? undefined : `must be an object (passed to the function), got ${show(value)}`;

export const encodedMetadata: Rule = (value) => {
  if (typeof value !== 'string') return `must be a base64 string, got ${show(value)}`;
  if (value.length > MAX_ENCODED_METADATA_LENGTH)
    return `must be at most ${MAX_ENCODED_METADATA_LENGTH} characters long, got ${value.length}`;
  if (!value || !BASE64.test(value))
    return `must be base64 (A-Z, a-z, 0-9, "+", "/", padded with "="), got ${show(value)}`;
  return undefined;
};

/** LivePerson's conversation metadata: a list of objects (contracts/ERRATA.md §1). */
export const metadataList: Rule = (value) =>
  Array.isArray(value) && value.every(isPlainObject)
    ? undefined
    : `must be a list of objects (like [{"type": "ExternalId", "id": "…"}]), got ${show(value)}`;

export const intentId: Rule = (value) =>
  typeof value === 'string' && /^\S+$/.test(value)
    ? undefined
    : `must be a non-empty string without whitespace, got ${show(value)}`;

export const intentDescription: Rule = (value) =>
  typeof value === 'string' ? undefined : `must be a string, got ${show(value)}`;

export const confidenceScore: Rule = (value) =>
  typeof value === 'number' && value >= 0 && value <= 1
    ? undefined
    : `must be a number from 0 to 1, got ${show(value)}`;

/** Quick replies ride on a text message: the message they answer. */
export const quickRepliesMessage: Rule = (value) =>
  nonEmptyString(value) && `must be a non-empty string (the text the quick replies answer), got ${show(value)}`;
