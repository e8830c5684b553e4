/**
 * Whether a failure says the store cannot serve right now (it is restarting, out of reach, or a
 * lock or statement waited past its bound), rather than that the request or our code is wrong.
 * Such a failure answers 503 with a Retry-After: nothing was accepted, and the same request may
 * succeed a moment later. Pure: it reads the error's code and message only.
 */
export function isStoreUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (/^08[0-9A-Z]{3}$/.test(code)) return true; // connection exception
  if (UNAVAILABLE_STATES.has(code) || NETWORK_CODES.has(code)) return true;
  return typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message);
}

const UNAVAILABLE_STATES = new Set([
  '57P01', // admin_shutdown: the server is stopping or restarting
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up, or in recovery
  '53300', // too_many_connections
  '55P03', // lock_not_available: lock_timeout
  '57014', // query_canceled: statement_timeout
  '25P03', // idle_in_transaction_session_timeout
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  'SQLITE_BUSY',
  'STORE_OUTAGE',
]);

/**
 * Work held back because the store was out of reach a moment ago and has not answered since:
 * nothing more is sent to a bot whose answers could not be written.
 */
export class StoreOutage extends Error {
  readonly code = 'STORE_OUTAGE';
  constructor() {
    super('the store was out of reach: waiting for it to answer again');
  }
}
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
// node-postgres says these in words only.
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|not queryable|Client was closed/;
