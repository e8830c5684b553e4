import { createHash, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { SignJWT, type CryptoKey } from 'jose';
import type { Store } from '../store/index.js';
import { isUniqueViolation } from '../store/index.js';
import { settingOrCreate } from '../store/settings.js';
import { conflict, notFound } from '../errors.js';
import { signHs256, verifyHs256 } from './session-jwt.js';
import { openStored, type SecretBox } from '../util/secret-box.js';
import { APP_TOKEN_TTL_SECONDS, type KeyRing } from './keys.js';

/**
 * What Sentinel needs of the platform's directory: that an account exists (not-found otherwise).
 * Declared here so Sentinel depends on no other part; the platform's Directory provides it.
 */
export interface Accounts {
  requireAccount(accountId: string): Promise<unknown>;
}

export { SENTINEL_ISSUER } from '../contract/index.js';
import { SENTINEL_ISSUER } from '../contract/index.js';

export interface App {
  clientId: string;
  accountId: string;
  name: string;
  scope: string;
}

/**
 * App installations and their client-credentials tokens (RS256, issuer Sentinel, audience the
 * account). Client secrets are random 32-byte values, so a SHA-256 digest is a safe verifier;
 * scrypt is kept for human passwords.
 */
export class AppTokens {
  constructor(
    private readonly store: Store,
    private readonly keys: KeyRing,
  ) {}

  async install(accountId: string, input: { name: string; scope: string }): Promise<App & { clientSecret: string }> {
    const clientId = randomBytes(16).toString('hex');
    const clientSecret = randomBytes(32).toString('base64url');
    try {
      await this.store.db
        .insertInto('apps')
        .values({
          client_id: clientId,
          account_id: accountId,
          name: input.name,
          scope: input.scope,
          secret_hash: digest(clientSecret),
          created_at: Date.now(),
        })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict('app id collision, try again');
      throw error;
    }
    return { clientId, clientSecret, accountId, name: input.name, scope: input.scope };
  }

  /**
   * A new client secret for the app; the old one stops working at once (tokens it got stay valid
   * until they expire). Shown only in this answer, like at installation.
   */
  async rotateSecret(accountId: string, clientId: string): Promise<App & { clientSecret: string }> {
    const clientSecret = randomBytes(32).toString('base64url');
    const row = await this.store.db
      .updateTable('apps')
      .set({ secret_hash: digest(clientSecret) })
      .where('account_id', '=', accountId)
      .where('client_id', '=', clientId)
      .returning(['name', 'scope'])
      .executeTakeFirst();
    if (!row) throw notFound(`unknown app '${clientId}'`);
    return { clientId, clientSecret, accountId, name: row.name, scope: row.scope };
  }

  async list(accountId: string): Promise<App[]> {
    const rows = await this.store.db
      .selectFrom('apps')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({ clientId: r.client_id, accountId: r.account_id, name: r.name, scope: r.scope }));
  }

  async remove(accountId: string, clientId: string): Promise<void> {
    const result = await this.store.db
      .deleteFrom('apps')
      .where('account_id', '=', accountId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    if (!result.numDeletedRows) throw notFound(`unknown app '${clientId}'`);
  }

  async find(accountId: string, clientId: string): Promise<App | undefined> {
    const r = await this.row(accountId, clientId);
    return r && { clientId: r.client_id, accountId: r.account_id, name: r.name, scope: r.scope };
  }

  /** Whether the secret is the app's current one (a client that still sends one is checked, not trusted). */
  async secretMatches(accountId: string, clientId: string, clientSecret: string): Promise<boolean> {
    const app = await this.row(accountId, clientId);
    return app !== undefined && safeEqual(app.secret_hash, digest(clientSecret));
  }

  /**
   * An app token for an installed app, without its secret: for the platform's own use of an app
   * it holds (a bot refers to its app installation; its calls carry the app's tokens), so a
   * rotated secret never breaks a bot. Undefined when the app is not installed (any more).
   */
  async grantTo(accountId: string, clientId: string): Promise<{ token: string; expiresIn: number } | undefined> {
    const app = await this.row(accountId, clientId);
    return app && this.sign(app);
  }

  /** The client-credentials grant: a signed app JWT, or undefined when the credentials do not match. */
  async grant(
    accountId: string,
    clientId: string,
    clientSecret: string,
  ): Promise<{ token: string; expiresIn: number } | undefined> {
    const app = await this.row(accountId, clientId);
    if (!app || !safeEqual(app.secret_hash, digest(clientSecret))) return undefined;
    return this.sign(app);
  }

  private row(accountId: string, clientId: string) {
    return this.store.db
      .selectFrom('apps')
      .selectAll()
      .where('client_id', '=', clientId)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
  }

  private async sign(app: { account_id: string; client_id: string; scope: string }) {
    const token = await signAppToken(await this.keys.current(), {
      accountId: app.account_id,
      clientId: app.client_id,
      scope: app.scope,
    });
    return { token, expiresIn: APP_TOKEN_TTL_SECONDS };
  }
}

/** An app installation's token as Sentinel grants it (also what the standalone conformance check mints). */
export function signAppToken(
  key: { kid: string; privateKey: CryptoKey },
  app: { accountId: string; clientId: string; scope: string },
): Promise<string> {
  return new SignJWT({ scope: app.scope, client_id: app.clientId })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setIssuer(SENTINEL_ISSUER)
    .setAudience(app.accountId)
    .setSubject(app.clientId)
    .setIssuedAt()
    .setExpirationTime(`${APP_TOKEN_TTL_SECONDS}s`)
    .sign(key.privateKey);
}

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type SessionKind = 'consumer' | 'agent' | 'api';

export interface SessionClaims {
  kind: SessionKind;
  accountId: string;
  /** consumer: the conversation it may open; agent/api: the user. */
  subject: string;
}

/** The settings row holding the HS256 secret, sealed. */
const SESSION_SECRET = 'session-secret';

const SESSION_TTL_SECONDS: Record<SessionKind, number> = { consumer: 30 * 86_400, agent: 12 * 3_600, api: 3_600 };
/** Verified tokens remembered (the oldest is forgotten beyond this). */
const VERIFIED_KEPT = 10_000;

interface VerifiedToken {
  knd: unknown;
  acc: unknown;
  sub: unknown;
  /** Expiry, epoch seconds. */
  exp: number;
}

/**
 * Bearer tokens of consumers, agents and Public API users: HS256 JWTs bound to the account and
 * the subject, with an expiry, signed by a secret kept in the store (shared by all instances).
 */
export class SessionTokens {
  /** The secret, read from the store once. */
  private secret?: KeyObject;
  /**
   * Tokens whose signature was checked, by their exact text: every consumer request carries the
   * same token, and checking the HMAC again cost more than the rest of the request's auth. The
   * expiry is still checked on every use; nothing else about a signed token can change.
   */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
  ) {}

  /**
   * Loads the secret, sealing it when an earlier version stored it in plaintext: a store sealed
   * with another SECRET_KEY fails here, at start, with the reason.
   */
  async sealAtRest(): Promise<void> {
    await this.key();
  }

  /** `ttlSeconds` overrides the kind's lifetime (a negative one makes an already-expired token). */
  async issue(claims: SessionClaims, ttlSeconds?: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const ttl = ttlSeconds ?? SESSION_TTL_SECONDS[claims.kind];
    return signHs256(
      {
        acc: claims.accountId,
        knd: claims.kind,
        sub: claims.subject,
        iss: 'botbridge',
        iat: ttl < 0 ? now + ttl - 1 : now,
        exp: now + ttl,
      },
      await this.key(),
    );
  }

  /** The claims of a valid, unexpired token of that kind, else undefined (and why, for logs). */
  async verify(token: string, kind: SessionKind): Promise<{ claims?: SessionClaims; reason?: 'expired' | 'invalid' }> {
    const now = Math.floor(Date.now() / 1000);
    const known = this.verified.get(token);
    // Expired once exp <= now, in whole seconds; an expired one is verified again below (and refused).
    // A token remembered passed the canonical form check when it was first seen (by its exact text).
    if (known && known.exp > now) return claimsOf(known, kind);
    const checked = verifyHs256(token, await this.key(), { issuer: 'botbridge', nowSeconds: now });
    if ('reason' in checked) return { reason: checked.reason };
    const { payload } = checked;
    this.verified.delete(token);
    if (this.verified.size >= VERIFIED_KEPT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { knd: payload.knd, acc: payload.acc, sub: payload.sub, exp: payload.exp });
    return claimsOf(payload, kind);
  }

  private async key(): Promise<KeyObject> {
    if (!this.secret) {
      const db = this.store.db;
      const stored = await settingOrCreate(db, SESSION_SECRET, () => this.box.seal(randomBytes(32).toString('base64')));
      const value = await openStored(this.box, 'the session-token secret in the store', stored, {
        reread: async () =>
          (await db.selectFrom('settings').select('value').where('key', '=', SESSION_SECRET).executeTakeFirst())?.value,
        sealIfUnchanged: async (plain, sealed) => {
          await db
            .updateTable('settings')
            .set({ value: sealed })
            .where('key', '=', SESSION_SECRET)
            .where('value', '=', plain)
            .execute();
        },
      });
      if (value === undefined) throw new Error('the session-token secret vanished from the store');
      this.secret = createSecretKey(Buffer.from(value, 'base64'));
    }
    return this.secret;
  }
}

function claimsOf(
  payload: { knd?: unknown; acc?: unknown; sub?: unknown },
  kind: SessionKind,
): { claims?: SessionClaims; reason?: 'invalid' } {
  if (payload.knd !== kind || typeof payload.acc !== 'string' || typeof payload.sub !== 'string')
    return { reason: 'invalid' };
  return { claims: { kind, accountId: payload.acc, subject: payload.sub } };
}
