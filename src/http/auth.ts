import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { DomainError, unauthorized } from '../errors.js';
import {
  CONSOLE_HEADER,
  crossOriginRefusal,
  sessionIdOf,
  type OperatorSession,
  type OperatorSessions,
} from './operator-sessions.js';

/**
 * Whether the route takes its bearer from `?token=` as well: stream routes only, since browsers
 * cannot set headers on EventSource or WebSocket. Anywhere else a token stays out of the URL.
 */
export function tokenInQuery(request: FastifyRequest): boolean {
  return request.routeOptions.url?.endsWith('/stream') ?? false;
}

/** Whether `given` is the admin token: constant time, hashed first so lengths never leak. */
export function adminTokenCheck(adminToken: string): (given: string) => boolean {
  const expected = createHash('sha256').update(adminToken).digest();
  return (given) => timingSafeEqual(createHash('sha256').update(given).digest(), expected);
}

/** What the admin scope's guard (operators/guard.ts) checks credentials against. */
export interface AdminAuth {
  adminToken: string;
  sessions: OperatorSessions;
  /**
   * Hosts other than the request's own whose pages are this server's too (PUBLIC_HOST): behind a
   * proxy that rewrites Host, the console's origin is the public one.
   */
  ownHosts(): string[];
}

/**
 * The operator session the request's cookie names (undefined when it names none). Refused when
 * the request may come from another origin's page (crossOriginRefusal), and when the session has
 * ended.
 */
export async function operatorSessionOf(
  request: FastifyRequest,
  auth: Pick<AdminAuth, 'sessions' | 'ownHosts'>,
): Promise<{ id: string; session: OperatorSession } | undefined> {
  const id = sessionIdOf(request.headers.cookie);
  if (id === undefined) return undefined;
  refuseCrossOrigin(request, auth);
  const session = await auth.sessions.find(id);
  if (!session)
    throw unauthorized(
      'the operator session has ended (signed out, expired, or the admin token changed): sign in again',
      'session-ended',
    );
  return { id, session };
}

/** Throws when a request a browser would send with the session cookie may be another origin's forgery. */
export function refuseCrossOrigin(request: FastifyRequest, auth: Pick<AdminAuth, 'ownHosts'>): void {
  const header = request.headers[CONSOLE_HEADER];
  const refusal = crossOriginRefusal(
    {
      method: request.method,
      host: request.host,
      origin: request.headers.origin,
      console: Array.isArray(header) ? header[0] : header,
    },
    auth.ownHosts(),
  );
  if (refusal) throw new DomainError('forbidden', 'cross-origin-refused', refusal);
}
