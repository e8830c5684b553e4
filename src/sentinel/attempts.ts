import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect, MigrationDb, Store } from '../store/index.js';
import { tablesOf } from '../store/index.js';
import { rateLimited, type DomainError } from '../errors.js';

/**
 * What a caller tries to guess. Agent login and Public API login check the same password of the
 * same account user, so they share one count: two routes must not mean twice the guesses.
 */
export type Credential = 'password' | 'client-secret';

export interface Limit {
  /** Failures allowed within one window; the next attempt is refused until the window ends. */
  failures: number;
  windowMs: number;
}

export interface CredentialLimits {
  /** Per account and the name tried: the login name, or the client id of the grant. */
  perName: Limit;
  /** Per client address (an IPv6 address counts by its /64, which one host usually holds whole). */
  perAddress: Limit;
}

const MINUTE = 60_000;

export const STANDARD_LIMITS: Record<Credential, CredentialLimits> = {
  password: {
    perName: { failures: 5, windowMs: 5 * MINUTE },
    // One address may front many users (an office NAT), so it gets more room.
    perAddress: { failures: 20, windowMs: 5 * MINUTE },
  },
  'client-secret': {
    // Secrets are 32 random bytes: the limit is about making guessing cost, not about the
    // secret's strength. A short window lets a bot whose secret was just fixed back in soon.
    perName: { failures: 10, windowMs: MINUTE },
    // One egress may front many bots; one bot with a stale secret (at most 10 a minute) never
    // locks out its neighbours.
    perAddress: { failures: 100, windowMs: MINUTE },
  },
};

export interface AttemptOptions {
  limits?: Partial<Record<Credential, CredentialLimits>>;
  now?: () => number;
}

/** One try at a credential, with everything it is counted by. */
export interface Attempt {
  credential: Credential;
  accountId: string;
  /** The login name or client id, as typed: unknown names are counted like known ones. */
  name: string;
  /** The client address (request.ip). */
  address: string;
}

type AttemptTables = {
  credential_failures: {
    /** SHA-256 of what is counted: bounded, whatever the user typed. */
    key: string;
    /** Failures in the window, plus the tries being checked at this moment. */
    failures: number;
    /** The window opens at the first failure and ends here; a failure after it opens a new one. */
    window_ends_at: number;
  };
};

interface Count {
  key: string;
  limit: Limit;
}

interface Claim extends Count {
  failures: number;
  windowEndsAt: number;
}

/** Expired rows removed per statement: small, so pruning never holds the table for long. */
const PRUNE_BATCH = 100;
/** A prune that found less than a full batch waits this long before the next one. */
const PRUNE_PAUSE_MS = 10_000;

/** The table of failure counts; the store runs it with the other parts' migrations. */
export function attemptMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '0150_credential_failures': {
      async up(db: MigrationDb) {
        await db.schema
          .createTable('credential_failures')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('failures', 'integer', (c) => c.notNull())
          .addColumn('window_ends_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('credential_failures_window')
          .on('credential_failures')
          .column('window_ends_at')
          .execute();
      },
    },
  };
}

/**
 * Failed tries at credentials, counted in the store so every process on one database shares the
 * counts and a restart does not clear them. A try takes its place in the counts before the
 * credential is checked, in one atomic upsert, so concurrent guesses cannot all slip in under
 * the limit; a try that turns out refused or right gives its place back.
 */
export class CredentialAttempts {
  private readonly db: Kysely<AttemptTables>;
  private readonly limits: Record<Credential, CredentialLimits>;
  private readonly now: () => number;
  private readonly dialect: Dialect;
  private nextPruneAt = 0;
  private pruning?: Promise<void>;

  constructor(store: Store, options: AttemptOptions = {}) {
    this.db = tablesOf<AttemptTables>(store.db);
    this.limits = { ...STANDARD_LIMITS, ...options.limits };
    this.now = options.now ?? Date.now;
    this.dialect = store.dialect;
  }

  /**
   * Checks the credential with `check` (undefined: wrong) unless this name or this address has
   * failed too often; then refuses (rate-limited, with the seconds to wait) without checking
   * anything, so a locked caller learns nothing, right credential or not. A right one clears the
   * name's failures.
   */
  async verify<T>(attempt: Attempt, check: () => Promise<T | undefined>): Promise<T | undefined> {
    const counts = this.countsOf(attempt);
    const now = this.now();
    // A read first: a caller hammering while locked out costs no write.
    const locked = await this.lockedUntil(counts, now);
    if (locked) throw tooManyAttempts(attempt.credential, locked - now);

    const claims = await this.claim(counts, now);
    const over = claims.filter((c) => c.failures > c.limit.failures);
    if (over.length) {
      // Concurrent tries got there first and took the last places.
      await this.giveBack(claims);
      throw tooManyAttempts(attempt.credential, Math.max(...over.map((c) => c.windowEndsAt)) - now);
    }
    let verified: T | undefined;
    try {
      verified = await check();
    } catch (error) {
      await this.giveBack(claims);
      throw error;
    }
    if (verified !== undefined) {
      const [byName, byAddress] = claims;
      await Promise.all([
        this.db.deleteFrom('credential_failures').where('key', '=', byName.key).execute(),
        this.giveBack([byAddress]),
      ]);
    }
    return verified;
  }

  private countsOf(attempt: Attempt): [Count, Count] {
    const limits = this.limits[attempt.credential];
    return [
      { key: keyOf([attempt.credential, 'name', attempt.accountId, attempt.name]), limit: limits.perName },
      { key: keyOf([attempt.credential, 'address', addressOf(attempt.address)]), limit: limits.perAddress },
    ];
  }

  /** When the latest over-limit window ends, or 0 when no count is at its limit. */
  private async lockedUntil(counts: Count[], now: number): Promise<number> {
    const rows = await this.db
      .selectFrom('credential_failures')
      .select(['key', 'failures', 'window_ends_at'])
      .where(
        'key',
        'in',
        counts.map((c) => c.key),
      )
      .where('window_ends_at', '>', now)
      .execute();
    let until = 0;
    for (const row of rows) {
      const { limit } = counts.find((c) => c.key === row.key)!;
      if (row.failures >= limit.failures) until = Math.max(until, Number(row.window_ends_at));
    }
    return until;
  }

  /**
   * Counts the try against every key in one statement. Each row is updated under its row lock
   * (PostgreSQL) or the single writer (SQLite), so no two tries read the same count; the name's
   * key comes first in every statement, so two statements never wait on each other in a circle.
   */
  private async claim(counts: Count[], now: number): Promise<Claim[]> {
    await this.prune(now);
    const rows = await this.db
      .insertInto('credential_failures')
      .values(counts.map((c) => ({ key: c.key, failures: 1, window_ends_at: now + c.limit.windowMs })))
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({
          failures: sql`case when credential_failures.window_ends_at <= ${now} then 1 else credential_failures.failures + 1 end`,
          window_ends_at: sql`case when credential_failures.window_ends_at <= ${now} then excluded.window_ends_at else credential_failures.window_ends_at end`,
        }),
      )
      .returning(['key', 'failures', 'window_ends_at'])
      .execute();
    return counts.map((c) => {
      const row = rows.find((r) => r.key === c.key)!;
      return { ...c, failures: Number(row.failures), windowEndsAt: Number(row.window_ends_at) };
    });
  }

  /**
   * Undoes claims, each only within the window it was counted in: a later window is not ours.
   * One row per statement, so a give-back never holds one row's lock while waiting for another's.
   */
  private async giveBack(claims: Claim[]): Promise<void> {
    await Promise.all(
      claims.map((c) =>
        this.db
          .updateTable('credential_failures')
          .set({ failures: sql`failures - 1` })
          .where('key', '=', c.key)
          .where('window_ends_at', '=', c.windowEndsAt)
          .where('failures', '>', 0)
          .execute(),
      ),
    );
  }

  /**
   * Removes rows whose window has ended, a batch at a time, so made-up names cannot grow the
   * table. Each try may insert two rows and a busy prune removes a batch per try, so removal
   * keeps up with any flood; a quiet table is looked at now and then.
   */
  private async prune(now: number): Promise<void> {
    if (this.pruning || now < this.nextPruneAt) return;
    this.pruning = (async () => {
      const result = await this.db
        .deleteFrom('credential_failures')
        // Checked again on the row itself: on PostgreSQL a row renewed by a concurrent try
        // since the subquery's snapshot is then left alone.
        .where('window_ends_at', '<=', now)
        .where('key', 'in', (eb) => {
          const expired = eb
            .selectFrom('credential_failures')
            .select('key')
            .where('window_ends_at', '<=', now)
            .limit(PRUNE_BATCH);
          // Rows a try holds are left for the next prune: a prune never waits on a lock, so it
          // can never close a circle of waits with a try's two rows (a deadlock, a failed login).
          return this.dialect === 'postgres' ? expired.forUpdate().skipLocked() : expired;
        })
        .executeTakeFirst();
      const full = Number(result.numDeletedRows) >= PRUNE_BATCH;
      this.nextPruneAt = full ? now : now + PRUNE_PAUSE_MS;
    })();
    try {
      await this.pruning;
    } finally {
      this.pruning = undefined;
    }
  }
}

function tooManyAttempts(credential: Credential, waitMs: number): DomainError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  const what = credential === 'password' ? 'logins' : 'token requests';
  return rateLimited(`too many failed ${what}: try again in ${seconds} seconds`, seconds);
}

function keyOf(parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * The address a client is counted by. An IPv4-mapped IPv6 address is its IPv4 address; another
 * IPv6 address counts by its /64, since a host usually holds a whole /64 and could otherwise
 * take a fresh address for every guess.
 */
export function addressOf(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1];
  if (!isIPv6(ip)) return ip;
  // A dotted IPv4 tail (::ffff:…, 64:ff9b::…) fills the last two groups.
  const groups = (part: string) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const [head, tail] = ip.split('%')[0].split('::');
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const all = [...before, ...Array<string>(8 - before.length - after.length).fill('0'), ...after];
  return `${all
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
