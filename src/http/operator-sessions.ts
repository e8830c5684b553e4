import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely, Migration } from 'kysely';
import type { OperatorSessionTimes } from '../config.js';
import { tablesOf, type Dialect, type MigrationDb, type Store } from '../store/index.js';

/**
 * Operator sign-in for the console: the admin token is shown once, at sign-in, and the browser
 * keeps a random session id in an httpOnly cookie instead, so every tab of that browser, and the
 * browser after a restart, is signed in until sign-out or expiry.
 *
 * The session lives in the store, not in a signed cookie: sign-out has to end it at once for every
 * instance sharing the database, and the idle expiry moves with use. A signed token would need a
 * revocation list and a last-use record in the store anyway, plus a signing key of its own.
 */

/** The cookie's name; it is only sent to the admin API (`Path=/admin/v1`). */
export const SESSION_COOKIE = 'botbridge_operator';
/**
 * What a write signed in by the cookie must carry (any value; the console sends `1`). A page of
 * another origin cannot add a header to a request without a CORS preflight, which this server
 * never grants, so a forged form or fetch arrives without it.
 */
export const CONSOLE_HEADER = 'x-botbridge-console';
export const SESSION_PATH = '/admin/v1';

/** 32 random bytes, base64url: what `randomBytes(32).toString('base64url')` always is. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export interface OperatorSession {
  signedInAt: number;
  /** Ends here unless used again: each use moves it on, never past `endsAt`. */
  expiresAt: number;
  /** Ends here however busy. */
  endsAt: number;
  /** The operator signed in; absent for a sign-in with the admin token. */
  operatorId?: string;
}

type SessionTables = {
  operator_sessions: {
    /** HMAC-SHA256 of the cookie's id under the admin token (see OperatorSessions.keyOf). */
    key: string;
    signed_in_at: number;
    expires_at: number;
    ends_at: number;
    operator_id: string | null;
  };
};

/** The sessions table; the store runs it with the other parts' migrations. */
export function operatorSessionMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '0200_operator_sessions': {
      async up(db: MigrationDb) {
        await db.schema
          .createTable('operator_sessions')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('signed_in_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('ends_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('operator_sessions_expiry').on('operator_sessions').column('expires_at').execute();
      },
    },
    '0201_operator_session_operator': {
      /** Who signed in: a named operator (operators/), or nobody named for the admin token's sessions. */
      async up(db: MigrationDb) {
        await db.schema.alterTable('operator_sessions').addColumn('operator_id', 'text').execute();
      },
    },
  };
}

export interface OperatorSessionOptions {
  /** Keys the stored form of each id: a new admin token ends every session signed in with the old one. */
  adminToken: string;
  times: OperatorSessionTimes;
  now?: () => number;
}

/**
 * Operator sessions in the store, each row found by a keyed hash of its id: the store never holds
 * an id a cookie could be made from, nor anything to test guesses of the admin token against.
 */
export class OperatorSessions {
  private readonly db: Kysely<SessionTables>;
  private readonly writeOne: Store['writeOne'];
  private readonly adminToken: string;
  private readonly times: OperatorSessionTimes;
  private readonly now: () => number;
  /**
   * A use moves the expiry on only once this much of the idle time has passed since the last
   * move: a session read by every request of a busy page is written once a minute, not each time.
   */
  private readonly moveEveryMs: number;

  constructor(store: Store, options: OperatorSessionOptions) {
    this.db = tablesOf<SessionTables>(store.db);
    this.writeOne = (query) => store.writeOne(query);
    this.adminToken = options.adminToken;
    this.times = options.times;
    this.now = options.now ?? Date.now;
    this.moveEveryMs = Math.min(60_000, Math.floor(options.times.idleMs / 10));
  }

  /** A new session (of the operator, or of the admin token) and the id its cookie carries (shown nowhere else). */
  async signIn(operatorId?: string): Promise<{ id: string; session: OperatorSession }> {
    const now = this.now();
    await this.prune(now);
    const id = randomBytes(32).toString('base64url');
    const session: OperatorSession = {
      signedInAt: now,
      ...this.expiryAt(now, now + this.times.maxMs),
      ...(operatorId ? { operatorId } : {}),
    };
    await this.writeOne(
      this.db
        .insertInto('operator_sessions')
        .values({
          key: this.keyOf(id),
          signed_in_at: session.signedInAt,
          expires_at: session.expiresAt,
          ends_at: session.endsAt,
          operator_id: operatorId ?? null,
        })
        .compile(),
    );
    return { id, session };
  }

  /** The session the id names while it lasts (counting this as a use), else undefined. */
  async find(id: string): Promise<OperatorSession | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    const now = this.now();
    const key = this.keyOf(id);
    const row = await this.db
      .selectFrom('operator_sessions')
      .select(['signed_in_at', 'expires_at', 'ends_at', 'operator_id'])
      .where('key', '=', key)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (!row) return undefined;
    const found: OperatorSession = {
      signedInAt: Number(row.signed_in_at),
      expiresAt: Number(row.expires_at),
      endsAt: Number(row.ends_at),
      ...(row.operator_id ? { operatorId: row.operator_id } : {}),
    };
    const moved = { ...found, ...this.expiryAt(now, found.endsAt) };
    if (moved.expiresAt - found.expiresAt < this.moveEveryMs) return found;
    // Only a session still on: one signed out meanwhile stays out.
    await this.writeOne(
      this.db
        .updateTable('operator_sessions')
        .set({ expires_at: moved.expiresAt })
        .where('key', '=', key)
        .where('expires_at', '>', now)
        .compile(),
    );
    return moved;
  }

  /** Ends the session the id names, if any. */
  async signOut(id: string): Promise<void> {
    if (!SESSION_ID.test(id)) return;
    await this.writeOne(this.db.deleteFrom('operator_sessions').where('key', '=', this.keyOf(id)).compile());
  }

  private expiryAt(now: number, endsAt: number): Pick<OperatorSession, 'expiresAt' | 'endsAt'> {
    return { expiresAt: Math.min(now + this.times.idleMs, endsAt), endsAt };
  }

  private keyOf(id: string): string {
    return createHmac('sha256', this.adminToken).update(id).digest('hex');
  }

  /** Sign-ins are rare and the table small: the ended sessions go at each one. */
  private async prune(now: number): Promise<void> {
    await this.writeOne(this.db.deleteFrom('operator_sessions').where('expires_at', '<=', now).compile());
  }
}

// ---------------------------------------------------------------------------------------------
// The cookie and the cross-site checks, as pure functions of what a request carries.

/** The session id the Cookie header carries, when it carries one of the right form. */
export function sessionIdOf(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const pair of cookieHeader.split(';')) {
    const at = pair.indexOf('=');
    if (at < 0 || pair.slice(0, at).trim() !== SESSION_COOKIE) continue;
    const value = pair.slice(at + 1).trim();
    return SESSION_ID.test(value) ? value : undefined;
  }
  return undefined;
}

/**
 * The Set-Cookie value for a session, or, with no id, the one that clears it. Max-Age makes it
 * outlive the browser (until the session's own end); httpOnly keeps it from scripts;
 * SameSite=Strict keeps other sites' pages from sending it; Secure when the page came over HTTPS.
 */
export function sessionCookie(
  session: { id: string; maxAgeMs: number } | undefined,
  options: { secure: boolean },
): string {
  const maxAge = session ? Math.max(0, Math.floor(session.maxAgeMs / 1000)) : 0;
  return [
    `${SESSION_COOKIE}=${session?.id ?? ''}`,
    `Path=${SESSION_PATH}`,
    `Max-Age=${maxAge}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

export interface CookieRequest {
  method: string;
  /** The request's own host (Host, or X-Forwarded-Host from a trusted proxy). */
  host: string;
  origin?: string;
  /** The CONSOLE_HEADER's value. */
  console?: string;
}

/**
 * Why a request signed in by the session cookie may have been forged by another origin's page,
 * or undefined when it cannot have been. A write must carry CONSOLE_HEADER. A read that names an
 * Origin must name this server: browsers send one on a WebSocket upgrade, which cannot carry a
 * header, and on cross-origin reads, but not on the console's own fetches. SameSite=Strict
 * alone would not do: a page on another port or subdomain of the same site is not cross-site.
 */
export function crossOriginRefusal(request: CookieRequest, ownHosts: readonly string[]): string | undefined {
  const reading = request.method === 'GET' || request.method === 'HEAD';
  if (!reading)
    return request.console
      ? undefined
      : `a write signed in by the session cookie must carry the ${CONSOLE_HEADER} header`;
  if (request.origin === undefined) return undefined;
  const host = hostOf(request.origin);
  const own = (name: string) => name.toLowerCase() === host;
  if (host !== undefined && (own(request.host) || ownHosts.some(own))) return undefined;
  return `a request signed in by the session cookie from the page of another origin (${request.origin.slice(0, 200)})`;
}

function hostOf(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.host.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}
