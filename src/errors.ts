/**
 * Refusals and failures the product itself decides on, in its own words: what went wrong (the
 * kind), a stable machine code and a message for people. The parts throw and branch on these;
 * only the HTTP edge (src/http/errors.ts) knows which status a kind answers with, so the domain
 * never speaks HTTP and one place keeps the answers consistent.
 */

export type ErrorKind =
  /** The request asks for something that cannot be: bad input, an unknown name it refers to. */
  | 'invalid'
  /** The caller could not be identified: no credential, or a wrong or expired one. */
  | 'unauthorized'
  /** The caller is known but may not do this. */
  | 'forbidden'
  | 'not-found'
  /** The state of things refuses it now: already exists, already taken, closed. */
  | 'conflict'
  /** Too many attempts: try again after `retryAfterSeconds`. */
  | 'rate-limited'
  /** A service the product depends on (a bot's endpoint) failed to answer as it should. */
  | 'upstream-failed';

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly kind: ErrorKind,
    /** Stable: clients and the connector branch on it, so it never changes once published. */
    readonly code: string,
    message: string,
    /** Whole seconds until a rate-limited caller may try again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** Whether `error` is a DomainError, and when `code` is given, one with that code. */
export function isDomainError(error: unknown, code?: string): error is DomainError {
  return error instanceof DomainError && (code === undefined || error.code === code);
}

export const invalid = (message: string, code = 'bad-request') => new DomainError('invalid', code, message);
export const unauthorized = (message = 'missing or invalid bearer token', code = 'unauthorized') =>
  new DomainError('unauthorized', code, message);
export const forbidden = (message: string) => new DomainError('forbidden', 'forbidden', message);
export const notFound = (message: string, code = 'not-found') => new DomainError('not-found', code, message);
export const conflict = (message: string, code = 'conflict') => new DomainError('conflict', code, message);
export const rateLimited = (message: string, retryAfterSeconds: number, code = 'too-many-attempts') =>
  new DomainError('rate-limited', code, message, retryAfterSeconds);
export const upstreamFailed = (message: string, code: string) => new DomainError('upstream-failed', code, message);
