import type { FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../errors.js';
import { bearerOf } from '../http/server.js';
import type { SessionClaims, SessionKind, SessionTokens } from './tokens.js';

/**
 * Verifies a session bearer of the given kind for the account in the path. A token of another
 * account answers 403 without touching that account's data.
 */
export async function requireSession(
  sessions: SessionTokens,
  request: FastifyRequest,
  kind: SessionKind,
  accountId: string,
  allowQueryToken = false,
): Promise<SessionClaims> {
  const token = bearerOf(request, allowQueryToken);
  if (!token) throw unauthorized();
  const { claims, reason } = await sessions.verify(token, kind);
  if (!claims) throw unauthorized(reason === 'expired' ? 'bearer token expired' : 'invalid bearer token');
  if (claims.accountId !== accountId) throw forbidden('token does not belong to this account');
  return claims;
}
