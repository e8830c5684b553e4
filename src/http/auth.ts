import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { bearerOf } from './server.js';
import { unauthorized } from '../errors.js';

/**
 * Whether the route takes its bearer from `?token=` as well: stream routes only, since browsers
 * cannot set headers on EventSource or WebSocket. Anywhere else a token stays out of the URL.
 */
export function tokenInQuery(request: FastifyRequest): boolean {
  return request.routeOptions.url?.endsWith('/stream') ?? false;
}

/** Constant-time check of the admin bearer (hashed first so lengths never leak). */
export function adminGuard(adminToken: string) {
  const expected = createHash('sha256').update(adminToken).digest();
  return async (request: FastifyRequest) => {
    const token = bearerOf(request, tokenInQuery(request));
    if (!token) throw unauthorized('admin bearer token required');
    const given = createHash('sha256').update(token).digest();
    if (!timingSafeEqual(given, expected)) throw unauthorized('invalid admin token');
  };
}
