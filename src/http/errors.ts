import type { FastifyReply } from 'fastify';
import type { DomainError, ErrorKind } from '../errors.js';

/**
 * The one error shape every route answers with: `{error: {code, message}}`. The parts throw
 * DomainErrors (src/errors.ts), which `httpAnswerOf` turns into a status and headers; the
 * server's error handler answers them, and Fastify's own errors, in this shape.
 */
export interface ErrorBody {
  error: { code: string; message: string };
}

export const errorBodySchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;

/** What an error handler answers: `{error: {code, message}}` with this status and headers. */
export interface HttpAnswer {
  status: number;
  code: string;
  message: string;
  headers?: Record<string, string>;
}

const STATUS_OF: Record<ErrorKind, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'rate-limited': 429,
  'upstream-failed': 502,
};

/** Sends an answer in the one error shape. */
export function sendError(reply: FastifyReply, { status, code, message, headers }: HttpAnswer): FastifyReply {
  return reply
    .status(status)
    .headers(headers ?? {})
    .send({ error: { code, message } });
}

/** The only place a DomainError becomes HTTP. */
export function httpAnswerOf(error: DomainError): HttpAnswer {
  return {
    status: STATUS_OF[error.kind],
    code: error.code,
    message: error.message,
    ...(error.retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(error.retryAfterSeconds) } } : {}),
  };
}
