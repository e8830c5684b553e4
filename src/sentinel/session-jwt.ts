import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { isCanonicalCompactJws } from '../util/base64url.js';

/**
 * Session tokens as compact HS256 JWTs (RFC 7515, 7519), signed and checked with node:crypto's
 * HMAC, synchronously. jose does the same through WebCrypto, where every sign and verify is an
 * asynchronous job (a promise, a thread-pool hop, the algorithm normalised again): ~25–45 µs each
 * against ~3–6 µs here, and 11 % of the server's CPU in a profile of opening conversations, which
 * signs one token and checks it once. The bytes are the same JWTs jose makes and takes (tested
 * both ways); jose stays for what needs more than one HMAC (RS256 app tokens, JWKS).
 */

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

export interface SessionJwtPayload {
  [claim: string]: unknown;
  iss?: unknown;
  sub?: unknown;
  iat?: unknown;
  exp?: unknown;
}

export function signHs256(payload: SessionJwtPayload, secret: KeyObject): string {
  const signed = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}

/**
 * The payload of a token signed with `secret` by `issuer`, unexpired at `nowSeconds`; else why
 * not. Only the one canonical spelling of a token passes (tokens are remembered by their text),
 * only HS256, and no critical header extension (none is understood).
 */
export function verifyHs256(
  token: string,
  secret: KeyObject,
  { issuer, nowSeconds }: { issuer: string; nowSeconds: number },
): { payload: SessionJwtPayload & { exp: number } } | { reason: 'expired' | 'invalid' } {
  if (!isCanonicalCompactJws(token)) return { reason: 'invalid' };
  const [header, body, signature] = token.split('.');
  const expected = createHmac('sha256', secret).update(`${header}.${body}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { reason: 'invalid' };
  const protectedHeader = parseObject(header);
  if (protectedHeader?.alg !== 'HS256' || 'crit' in protectedHeader) return { reason: 'invalid' };
  const payload = parseObject(body) as SessionJwtPayload | undefined;
  if (!payload || payload.iss !== issuer || typeof payload.exp !== 'number') return { reason: 'invalid' };
  for (const claim of ['iat', 'nbf'] as const)
    if (payload[claim] !== undefined && typeof payload[claim] !== 'number') return { reason: 'invalid' };
  if (typeof payload.nbf === 'number' && payload.nbf > nowSeconds) return { reason: 'invalid' };
  // RFC 7519 §4.1.4 (and jose): expired once the current time is at or after exp.
  if (payload.exp <= nowSeconds) return { reason: 'expired' };
  return { payload: payload as SessionJwtPayload & { exp: number } };
}

/** A JSON object from a base64url segment, or undefined when it is not one. */
function parseObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
