/** JSON-schema pieces shared by routes. */

import { MAX_INT32 } from '../store/index.js';
import { MAX_SKILL_NAME_LENGTH } from '../contract/index.js';
import { errorBodySchema } from './errors.js';

export const accountIdSchema = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,32}$' } as const;

export const accountParams = {
  type: 'object',
  properties: { acc: accountIdSchema },
  required: ['acc'],
} as const;

export const conversationParams = {
  type: 'object',
  properties: { acc: accountIdSchema, id: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['acc', 'id'],
} as const;

/** Names and logins may be any text but NUL, which PostgreSQL text cannot hold (a 500 otherwise). */
export const NO_NUL = '^[^\\u0000]*$';

export const skillNameSchema = {
  type: 'string',
  minLength: 1,
  maxLength: MAX_SKILL_NAME_LENGTH,
  pattern: NO_NUL,
} as const;

/** A position in a conversation's log (`?after=`). */
export const sequenceSchema = { type: 'integer', minimum: 0, maximum: MAX_INT32 } as const;

/** Numeric ids kept in bigint columns (engagementId, campaignId): integers JavaScript holds exactly. */
export const numericIdSchema = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;

export const ttrSchema = {
  type: 'object',
  properties: {
    ttrType: { type: 'string', enum: ['URGENT', 'NORMAL', 'PRIORITIZED', 'CUSTOM'] },
    // `minimum` only constrains numbers and `pattern` only strings, so the pattern itself must
    // refuse "0" (and "00"): a CUSTOM TTR of zero seconds is as wrong as the number 0.
    // maximum bounds numbers and maxLength strings: both stay within the integer column.
    value: { type: ['integer', 'string'], pattern: '^0*[1-9][0-9]*$', minimum: 1, maximum: MAX_INT32, maxLength: 9 },
  },
  required: ['ttrType'],
  if: { properties: { ttrType: { const: 'CUSTOM' } } },
  then: { required: ['ttrType', 'value'] },
} as const;

/** "10" and 10 both mean ten seconds (the Public API's page sends a string). */
export function ttrValue(value: number | string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

/**
 * Every refusal and failure answers `{error: {code, message}}` (http/errors.ts). Spread into a
 * route's `response` after its 2xx bodies; a route names a status of its own (401, 429...) where
 * it has something to say about it.
 */
export const errorResponses = {
  '4xx': { ...errorBodySchema, description: 'Refused: the request, its credentials or its target are wrong' },
  '5xx': { ...errorBodySchema, description: 'Failed here, or at a service this one depends on' },
} as const;

/** An answer with no body (`reply.status(204).send()`). */
export const noContent = { type: 'null', description: 'Done; no body' } as const;

/**
 * A stream route's 200: the body is the stream itself (Server-Sent Events, or a WebSocket after
 * the upgrade), written by hand, so there is nothing for a schema to serialize.
 */
export const streamResponse = {
  description:
    'Server-Sent Events (one JSON stream message per `data:`), or after a WebSocket upgrade one per text frame',
  content: { 'text/event-stream': { schema: { type: 'string' } } },
} as const;

/** Any JSON value, kept as given: content, payloads and metadata the platform does not interpret. */
export const anyJson = (description: string) => ({ description }) as const;

/** A JSON object whose keys are not ours to name (SDES, visitor info, JWKs...). */
export const freeObject = (description: string) =>
  ({ type: 'object', additionalProperties: true, description }) as const;
