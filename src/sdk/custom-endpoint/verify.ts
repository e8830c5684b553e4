import { setTimeout as sleep } from 'node:timers/promises';
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';
import { CUSTOM_ENDPOINT_SCOPE, SENTINEL_ISSUER } from '../../contract/index.js';
import { isCanonicalCompactJws } from '../../util/base64url.js';

export { CUSTOM_ENDPOINT_SCOPE, SENTINEL_ISSUER };

/** Why a request's token was refused; stable, for logs and for the `error.code` of the answer. */
export type TokenRejection =
  | 'missing-token'
  | 'malformed-token'
  | 'algorithm-not-allowed'
  | 'unknown-signing-key'
  | 'invalid-signature'
  | 'wrong-issuer'
  | 'missing-expiry'
  | 'token-expired'
  | 'token-not-yet-valid'
  | 'wrong-audience'
  | 'wrong-scope'
  | 'jwks-unavailable';

export type TokenVerdict =
  | {
      ok: true;
      /** The token's audience that is one of the configured accounts: the conversation's account. */
      accountId: string;
      /** The app installation that asked Sentinel for the token. */
      clientId?: string;
      claims: JWTPayload;
    }
  | {
      ok: false;
      /**
       * 401: not a valid Sentinel token (the connector fetches a fresh one and retries once).
       * 403: a valid Sentinel token of another account or without the Custom Endpoint scope (a
       * fresh token would be refused the same way, so the connector does not retry).
       * 503: the JWKS could not be fetched: nothing the caller did; the connector retries.
       */
      status: 401 | 403 | 503;
      reason: TokenRejection;
      message: string;
    };

/** Verifies the `Authorization` header of one request. */
export type TokenVerifier = (authorization: string | undefined) => Promise<TokenVerdict>;

export interface TokenVerifierOptions {
  /** The platform's JWKS (`<platform>/sentinel/well-known/jwks`); a function when known only later. */
  jwksUrl: string | URL | (() => string | URL);
  /**
   * The accounts this service serves: a token's `aud` must be one of them. A check instead of a
   * list suits a service serving every account of a platform (it asks whether the account exists).
   */
  accounts: readonly string[] | ((accountId: string) => boolean | Promise<boolean>);
  /**
   * After a JWKS fetch, how long an unknown `kid` waits instead of fetching again (jose's
   * cooldown, which keeps forged kids from hammering the JWKS). A token signed right after a key
   * rotation waits out the rest of it once rather than failing. Default 1 s.
   */
  jwksCooldownMs?: number;
  /** How long one JWKS fetch may take. Default 5 s. */
  jwksTimeoutMs?: number;
  /** Clock skew allowed on `exp` and `nbf`, in seconds. Default 0. */
  clockToleranceSeconds?: number;
}

/** Refused before any key lookup: the only algorithm Sentinel signs with. */
const ALGORITHMS = ['RS256'];

/**
 * Verifies app JWTs the way a Custom Endpoint service must: signature against the platform's
 * JWKS (fetched again when a token names an unknown key, so key rotation needs no restart), RS256
 * only, issuer Sentinel, an expiry that has not passed, an audience among `accounts`, the Custom
 * Endpoint scope.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const accounts = typeof options.accounts === 'function' ? options.accounts : [...(options.accounts ?? [])];
  if (typeof accounts !== 'function' && (!accounts.length || !accounts.every((a) => typeof a === 'string' && a !== '')))
    throw new TypeError('createTokenVerifier: accounts must list at least one account id, or be a check of one');
  const serves = async (aud: string) =>
    typeof accounts === 'function' ? aud !== '' && (await accounts(aud)) : accounts.includes(aud);
  const cooldownMs = options.jwksCooldownMs ?? 1000;
  let keySet: { url: string; keys: RemoteJWKSet; getKey: JWTVerifyGetKey } | undefined;

  const keysFor = (url: string) => {
    if (keySet?.url !== url) {
      const keys = createRemoteJWKSet(new URL(url), {
        cooldownDuration: cooldownMs,
        timeoutDuration: options.jwksTimeoutMs ?? 5000,
      });
      // Tells a JWKS that could not be fetched (503) from a token no key of it verifies (401).
      const getKey: JWTVerifyGetKey = async (header, token) => {
        try {
          return await keys(header, token);
        } catch (error) {
          if (
            error instanceof errors.JWKSNoMatchingKey ||
            error instanceof errors.JWKSMultipleMatchingKeys ||
            error instanceof errors.JOSENotSupported
          )
            throw error;
          throw new JwksUnavailable(error);
        }
      };
      keySet = { url, keys, getKey };
    }
    return keySet;
  };

  const verify = async (token: string) => {
    const url = typeof options.jwksUrl === 'function' ? options.jwksUrl() : options.jwksUrl;
    const { keys, getKey } = keysFor(String(url));
    // Audience and scope are checked afterwards: jose checks `aud` before `exp`, and an expired
    // token is a 401 whatever account it names.
    const verifyOnce = () =>
      jwtVerify(token, getKey, {
        algorithms: ALGORITHMS,
        issuer: SENTINEL_ISSUER,
        requiredClaims: ['exp'],
        clockTolerance: options.clockToleranceSeconds ?? 0,
      });
    const coolingDown = keys.coolingDown;
    try {
      return await verifyOnce();
    } catch (error) {
      // An unknown kid during the cooldown was looked up in the old key set only.
      if (!(error instanceof errors.JWKSNoMatchingKey) || !coolingDown) throw error;
      await sleep(cooldownMs);
      return verifyOnce();
    }
  };

  return async (authorization) => {
    const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!match) return refuse(401, 'missing-token', 'an Authorization: Bearer <app JWT> header is required');
    // jose decodes leniently: a padded or bit-flipped copy of a genuine signature would verify.
    if (!isCanonicalCompactJws(match[1]!))
      return refuse(401, 'malformed-token', 'the token is not three canonical base64url segments');
    let claims: JWTPayload;
    try {
      claims = (await verify(match[1]!)).payload;
    } catch (error) {
      return explain(error);
    }
    const audiences = (Array.isArray(claims.aud) ? claims.aud : [claims.aud]).filter(
      (aud): aud is string => typeof aud === 'string',
    );
    let accountId: string | undefined;
    for (const aud of audiences)
      if (await serves(aud)) {
        accountId = aud;
        break;
      }
    if (!accountId)
      return refuse(
        403,
        'wrong-audience',
        audiences.length
          ? `the token is for account ${audiences.join(', ')}, which this service does not serve`
          : 'the token names no account (aud)',
      );
    // OAuth scopes are a space-separated list (RFC 8693 §4.2).
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes(CUSTOM_ENDPOINT_SCOPE))
      return refuse(403, 'wrong-scope', `the token's scope must include ${CUSTOM_ENDPOINT_SCOPE}`);
    return {
      ok: true,
      accountId,
      ...(typeof claims.client_id === 'string' ? { clientId: claims.client_id } : {}),
      claims,
    };
  };
}

class JwksUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the platform's JWKS could not be fetched: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

function refuse(status: 401 | 403 | 503, reason: TokenRejection, message: string): TokenVerdict {
  return { ok: false, status, reason, message };
}

function explain(error: unknown): TokenVerdict {
  if (error instanceof JwksUnavailable) return refuse(503, 'jwks-unavailable', error.message);
  if (error instanceof errors.JWTExpired) return refuse(401, 'token-expired', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'iss') return refuse(401, 'wrong-issuer', `the token must be issued by ${SENTINEL_ISSUER}`);
    if (error.claim === 'exp') return refuse(401, 'missing-expiry', 'the token must have an expiry (exp)');
    if (error.claim === 'nbf') return refuse(401, 'token-not-yet-valid', 'the token is not valid yet (nbf)');
    return refuse(401, 'malformed-token', `the token's ${error.claim} claim is not accepted: ${error.message}`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return refuse(401, 'algorithm-not-allowed', `tokens must be signed with ${ALGORITHMS.join(', ')}`);
  if (error instanceof errors.JWKSNoMatchingKey)
    return refuse(401, 'unknown-signing-key', "the token was not signed by a key of the platform's JWKS");
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return refuse(401, 'invalid-signature', 'the token signature does not verify');
  return refuse(401, 'malformed-token', 'the token is malformed or cannot be verified');
}
