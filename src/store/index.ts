import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  sql,
  type CompiledQuery,
  type Migration,
  type QueryResult,
  type Transaction,
} from 'kysely';
import type { Database } from './schema.js';
import { migrations, type Dialect } from './migrations.js';
import { withStatementCache } from './statement-cache.js';
import { withPreparedStatements } from './prepared-statements.js';
import { startCheckpointer } from './checkpointer.js';
import { groupCommit, transactionPerUnit, type Transact } from './group-commit.js';
import { wordIndex } from './word-index.js';
import { ensurePrivateFile, tightenIfPresent } from '../util/private-files.js';
import { clusterTimings, type ClusterTimings } from '../config.js';

export type { Database } from './schema.js';
export type { Dialect, MigrationDb } from './migrations.js';
export type { Transact } from './group-commit.js';
export { WriteStatements, boundQuery, requireStillHeld, type RowGuard, type TypedRows } from './statements.js';

/** The largest value of an `integer` column on PostgreSQL: sequences, caps, TTR seconds, user ids. */
export const MAX_INT32 = 2_147_483_647;

export type Db = Kysely<Database> | Transaction<Database>;

/**
 * A part's own tables (connector, Public API, leases, Sentinel attempts) on the store's
 * connection or transaction. Each part declares its tables beside its migrations instead of in
 * the platform's schema, so it sees the same connection through its own schema type: this is
 * the one place that view is taken.
 */
export function tablesOf<T>(db: Db): Kysely<T> {
  return db as unknown as Kysely<T>;
}

export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /**
   * Runs a unit of work in a transaction and resolves after its commit. On SQLite the units of
   * one event-loop turn commit together (see group-commit.ts); a unit must not wait for another.
   */
  readonly transact: Transact;
  /**
   * One statement, committed. On SQLite it joins the group commit like any unit; on PostgreSQL a
   * statement is a transaction of its own, so it runs alone, without BEGIN and COMMIT round trips.
   */
  writeOne<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
  /**
   * Resolves once every message committed before the call is in the word index (what a search
   * of messages reads): SQLite writes it in batches behind the log (word-index.ts), PostgreSQL
   * with each message.
   */
  wordsIndexed(): Promise<void>;
  /** Adds migrations of a later part (connector, public API); they run in name order with the rest. */
  migrate(extra?: Record<string, Migration>): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** PostgreSQL connection string; when absent the store is SQLite under dataDir. */
  databaseUrl?: string;
  dataDir: string;
  /** SQLite `synchronous` pragma: NORMAL survives a process crash, FULL also a power loss. */
  sqliteSynchronous?: 'NORMAL' | 'FULL';
  /**
   * A server claims its SQLite data dir for itself: a second server on it refuses to start. Tools
   * (rotate-keys) open it unclaimed beside the running server; SQLite serialises their writes.
   */
  claim?: boolean;
  /** PostgreSQL: the `application_name` of this process's connections (change notices name their writer by it). */
  connectionName?: string;
  /** Hears of failures in the store's background work (SQLite checkpoints), which no caller awaits. */
  onBackgroundError?: (error: unknown, what: string) => void;
  /**
   * PostgreSQL: how long a query waits for a connection, opening one or for a busy pool's
   * turn, before it fails. Default 10 s: a server that stops answering (a failover, a dropped
   * network) then costs each request an error, not a hang until the OS gives up on TCP.
   */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL: what every connection of the pool sets, so that nothing waits on a paused or
   * cut-off peer for longer than a lease (config's ClusterTimings; defaults from an 8 s lease).
   * Migrations run without them: a long index build at an upgrade is not a stuck peer.
   */
  timeouts?: Pick<ClusterTimings, 'idleInTransactionMs' | 'lockTimeoutMs' | 'statementTimeoutMs'>;
}

export async function openStore(options: StoreOptions): Promise<Store> {
  const opened: {
    db: Kysely<Database>;
    dialect: Dialect;
    stop?: () => Promise<void>;
    release?: () => void;
    sqlite?: BetterSqlite3.Database;
  } = options.databaseUrl ? openPostgres(options.databaseUrl, options) : openSqlite(options);
  const { db, dialect, stop, release, sqlite } = opened;
  const transact = sqlite ? groupCommit(db, sqlite) : transactionPerUnit(db);
  const words = sqlite ? wordIndex(transact, options.onBackgroundError ?? (() => {})) : undefined;
  const store: Store = {
    db,
    dialect,
    transact,
    wordsIndexed: () => words?.catchUp() ?? Promise.resolve(),
    writeOne: (query) => (dialect === 'sqlite' ? transact((tx) => tx.executeQuery(query)) : db.executeQuery(query)),
    async migrate(extra = {}) {
      const all = { ...migrations(dialect), ...extra };
      const migrate = async (on: Kysely<Database>) => {
        // Parts add their migrations independently, so a newer part's older-named migration may arrive late.
        const migrator = new Migrator({
          db: on,
          provider: { getMigrations: async () => all },
          allowUnorderedMigrations: true,
        });
        return migrator.migrateToLatest();
      };
      const { error, results } =
        dialect === 'postgres'
          ? await db.connection().execute(async (one) => {
              await sql`set statement_timeout = 0; set lock_timeout = 0; set idle_in_transaction_session_timeout = 0`.execute(
                one,
              );
              try {
                return await migrate(one);
              } finally {
                await sql`reset statement_timeout; reset lock_timeout; reset idle_in_transaction_session_timeout`
                  .execute(one)
                  .catch(() => undefined);
              }
            })
          : await migrate(db);
      const failed = results?.find((r) => r.status === 'Error');
      if (error || failed) {
        throw new Error(`store migration ${failed?.migrationName ?? ''} failed: ${String(error)}`);
      }
      // Its tables are there now. A tool beside the server (not claiming the store) leaves the
      // indexing to the server and catches up only if it searches.
      if (options.claim) words?.keepUp();
    },
    async close() {
      await words?.stop();
      await stop?.();
      await db.destroy();
      // Last: the data dir is another process's to take only once nothing of ours writes to it.
      release?.();
    },
  };
  return store;
}

function openSqlite(options: StoreOptions): {
  db: Kysely<Database>;
  dialect: Dialect;
  stop: () => Promise<void>;
  release: () => void;
  sqlite: BetterSqlite3.Database;
} {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const file = join(options.dataDir, 'botbridge.sqlite');
  const claim = options.claim ? claimDataDir(options.dataDir) : undefined;
  // SQLite creates the -wal, -shm and -journal files with the database file's mode, so a 0600
  // database keeps them 0600 too, whatever the umask. Changing the process's umask instead would
  // reach every file any part writes, for as long as the open takes; these modes are local.
  ensurePrivateFile(file);
  for (const companion of ['-wal', '-shm', '-journal']) tightenIfPresent(`${file}${companion}`);
  const database = new BetterSqlite3(file);
  database.pragma('journal_mode = WAL');
  database.pragma(`synchronous = ${options.sqliteSynchronous ?? 'NORMAL'}`);
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const checkpointer = startCheckpointer(database, file, { onError: options.onBackgroundError });
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) }),
    dialect: 'sqlite',
    stop: () => checkpointer.stop(),
    release: () => claim?.close(),
    sqlite: database,
  };
}

/**
 * One SQLite data dir belongs to one process: two would each run the connector on the same bots
 * and answer every message twice. The claim is an exclusive lock SQLite holds on a file of its
 * own for as long as this connection lives; the OS drops it when the process dies, even by
 * kill -9, so a crash never leaves a stale claim behind.
 */
function claimDataDir(dataDir: string): BetterSqlite3.Database {
  const file = join(dataDir, 'botbridge.lock');
  ensurePrivateFile(file);
  // No busy wait: a claim held by another process is an answer, not a contention.
  const claim = new BetterSqlite3(file, { timeout: 0 });
  try {
    claim.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock; in this locking mode it is kept until close.
    claim.exec('begin exclusive; create table if not exists claim (pid integer); commit');
    return claim;
  } catch (error) {
    claim.close();
    if ((error as { code?: string }).code === 'SQLITE_BUSY') {
      throw new Error(
        `the data dir ${dataDir} is in use by another botbridge process: one SQLite data dir belongs to one process (run several instances on PostgreSQL, with DATABASE_URL)`,
      );
    }
    throw error;
  }
}

function openPostgres(
  connectionString: string,
  {
    connectionName,
    onBackgroundError: onError = () => {},
    connectTimeoutMs = 10_000,
    timeouts = clusterTimings(),
  }: StoreOptions,
): { db: Kysely<Database>; dialect: Dialect; stop?: () => Promise<void> } {
  // int8 (bigint timestamps) arrive as strings by default; ours are epoch ms, safe as numbers.
  // Set per pool, not on pg's global type registry, so nothing leaks between instances.
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text'),
  };
  const pool = new pg.Pool({
    connectionString,
    max: 10,
    connectionTimeoutMillis: connectTimeoutMs,
    types,
    ...(connectionName ? { application_name: connectionName } : {}),
    ...sessionTimeouts(timeouts),
  });
  // An idle connection that dies (server restart, failover, a dropped database) is an 'error'
  // event on the pool, which throws when nobody listens. pg already discards that connection and
  // the next query opens a fresh one, so there is nothing more to do than not crash, and say so.
  pool.on('error', (error) => onError(error, 'an idle PostgreSQL connection failed (the pool replaces it)'));
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: withPreparedStatements(pool) }) }),
    dialect: 'postgres',
  };
}

/**
 * What a PostgreSQL connection of botbridge sets at its start (pg's connection parameters), so
 * the server ends a paused peer's transaction and its locks, and a statement stops waiting; and
 * the client's own bound on an answer, for a path gone silent, where the server's never arrives.
 */
export function sessionTimeouts(timeouts: NonNullable<StoreOptions['timeouts']>) {
  return {
    idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
    lock_timeout: timeouts.lockTimeoutMs,
    statement_timeout: timeouts.statementTimeoutMs,
    query_timeout: timeouts.statementTimeoutMs + 2_000,
    keepAlive: true,
  };
}

/** Decodes a JSON column, tolerating the empty value. */
export function json<T>(text: string | null | undefined, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  return JSON.parse(text) as T;
}

/** True when a write failed because a unique key already holds the value. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
