import { setTimeout as sleep } from 'node:timers/promises';
import { createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey, type RemoteJWKSet } from 'jose';
import { isCanonicalCompactJws } from '../util/base64url.js';

/** The scope of a Custom Endpoint app installation (LivePerson's name for it). */
export const CUSTOM_ENDPOINT_SCOPE = 'thirdpartybots.customendpoint.bot';
/** Issuer of app tokens, as Sentinel signs them. */
export const SENTINEL_ISSUER = 'Sentinel';

export type AppTokenVerdict =
  | { ok: true; accountId: string; clientId?: string }
  | { ok: false; status: 401 | 503; code: string; message: string };

export interface AppTokenVerifierOptions {
  /** The platform's JWKS; a function when the URL is known only once the platform listens. */
  jwksUrl: string | (() => string);
  /**
   * Accepted `aud` values (account ids), or a check of one (a service serving every account of a
   * platform asks whether the account exists). When absent any account is accepted, but `aud` must
   * be there: a real service names its accounts.
   */
  accounts?: readonly string[] | ((accountId: string) => Promise<boolean>);
  /**
   * How long after fetching the JWKS an unknown `kid` does not trigger a new fetch (jose's
   * cooldown, which stops forged kids from hammering the JWKS). A token signed right after a key
   * rotation waits out the rest of it once instead of failing.
   */
  jwksCooldownMs?: number;
}

/** Refused before any key lookup: the only algorithm Sentinel signs with. */
const ALGORITHMS = ['RS256'];

/**
 * Verifies the `Authorization: Bearer <app JWT>` of a request the way a Custom Endpoint service
 * must: signature against the platform's JWKS (refetched when a token names an unknown key, so
 * key rotation needs no restart), RS256 only, issuer Sentinel, an audience (the account, in
 * `accounts` when given), the Custom Endpoint scope, not expired.
 */
export function createAppTokenVerifier(
  options: AppTokenVerifierOptions,
): (authorization: string | undefined) => Promise<AppTokenVerdict> {
  const cooldownMs = options.jwksCooldownMs ?? 1000;
  let keySet: { url: string; keys: RemoteJWKSet; getKey: JWTVerifyGetKey } | undefined;

  const keysFor = (url: string) => {
    if (keySet?.url !== url) {
      const keys = createRemoteJWKSet(new URL(url), { cooldownDuration: cooldownMs, timeoutDuration: 5000 });
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
    const { keys, getKey } = keysFor(typeof options.jwksUrl === 'function' ? options.jwksUrl() : options.jwksUrl);
    const verifyOnce = () =>
      jwtVerify(token, getKey, {
        algorithms: ALGORITHMS,
        issuer: SENTINEL_ISSUER,
        ...(Array.isArray(options.accounts) ? { audience: [...options.accounts] } : {}),
        requiredClaims: ['exp', 'aud'],
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
    const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
    if (!match) return refuse('missing-token', 'an Authorization: Bearer <app JWT> header is required');
    // jose decodes leniently: a padded or bit-flipped copy of a genuine signature would verify.
    if (!isCanonicalCompactJws(match[1]))
      return refuse('invalid-token', 'the token is not three canonical base64url segments');
    try {
      const { payload } = await verify(match[1]);
      if (payload.scope !== CUSTOM_ENDPOINT_SCOPE)
        return refuse('insufficient-scope', `the token's scope must be ${CUSTOM_ENDPOINT_SCOPE}`);
      const audiences = (Array.isArray(payload.aud) ? payload.aud : [payload.aud]).filter(
        (a): a is string => typeof a === 'string' && a !== '',
      );
      const accepts = options.accounts;
      let accountId: string | undefined;
      for (const aud of audiences) {
        const ok = !accepts || (typeof accepts === 'function' ? await accepts(aud) : accepts.includes(aud));
        if (ok) {
          accountId = aud;
          break;
        }
      }
      if (!accountId) return refuse('wrong-audience', 'the token names no account this service serves');
      return { ok: true, accountId, clientId: typeof payload.client_id === 'string' ? payload.client_id : undefined };
    } catch (error) {
      return explain(error);
    }
  };
}

class JwksUnavailable extends Error {
  constructor(cause: unknown) {
    super(`the platform's JWKS could not be fetched: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

const CLAIM_CODES = new Map([
  ['iss', 'wrong-issuer'],
  ['aud', 'wrong-audience'],
  ['exp', 'missing-expiry'],
  ['nbf', 'token-not-yet-valid'],
]);

function refuse(code: string, message: string): AppTokenVerdict {
  return { ok: false, status: 401, code, message };
}

function explain(error: unknown): AppTokenVerdict {
  // Not the caller's fault: 503 lets the connector retry instead of refreshing a good token.
  if (error instanceof JwksUnavailable)
    return { ok: false, status: 503, code: 'jwks-unavailable', message: error.message };
  if (error instanceof errors.JWTExpired) return refuse('token-expired', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    return refuse(
      CLAIM_CODES.get(error.claim) ?? 'invalid-claim',
      `the token's ${error.claim} claim is not accepted: ${error.message}`,
    );
  }
  if (error instanceof errors.JOSEAlgNotAllowed)
    return refuse('algorithm-not-allowed', 'tokens must be signed with RS256');
  if (error instanceof errors.JWKSNoMatchingKey)
    return refuse('unknown-signing-key', 'the token was not signed by a key of the platform’s JWKS');
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return refuse('invalid-signature', 'the token signature does not verify');
  return refuse('invalid-token', 'the token is malformed or cannot be verified');
}
