import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** A unit of work on the store, given the connection of the transaction it runs in. */
export type Work<T> = (tx: Kysely<Database>) => Promise<T>;
/** Runs `work` in a transaction and resolves once it is committed. */
export type Transact = <T>(work: Work<T>) => Promise<T>;

interface Queued {
  work: Work<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** PostgreSQL has a pool and row locks: each unit of work is its own transaction. */
export function transactionPerUnit(db: Kysely<Database>): Transact {
  return (work) => db.transaction().execute(work);
}

/**
 * Group commit for SQLite. Its one connection commits one transaction at a time, and a commit
 * costs far more than the statements before it (a WAL append of every page touched, the lock
 * dance, and later a checkpoint of those pages). So the units of work that arrive within one
 * event-loop turn share a transaction, each in its own savepoint: a unit that fails is rolled
 * back alone and rejects alone; the others commit together, and each caller hears of its unit
 * only after that commit, so what a caller was told is written stays written. Pages several
 * units touch (the events table's last leaf, its indexes) reach the WAL once per batch.
 */
export function groupCommit(db: Kysely<Database>, database: BetterSqlite3.Database): Transact {
  let queue: Queued[] = [];
  // The transaction's own statements run on the driver directly, synchronously, on the
  // connection Kysely has lent the batch (nothing else runs on it meanwhile): through Kysely's
  // executor they were four promise chains per unit, and as many again per batch.
  const statement = (text: string) => {
    const prepared = database.prepare(text);
    return () => prepared.run();
  };
  const begin = statement('begin');
  const commit = statement('commit');
  const rollback = statement('rollback');
  const savepoint = statement('savepoint unit');
  const release = statement('release unit');
  const rollbackTo = statement('rollback to unit');

  const flush = async () => {
    const batch = queue;
    queue = [];
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    try {
      await db.connection().execute(async (connection) => {
        begin();
        try {
          for (const unit of batch) {
            savepoint();
            try {
              const value = await unit.work(connection);
              release();
              outcomes.push({ ok: true, value });
            } catch (error) {
              // If SQLite already rolled the whole transaction back (I/O error, full disk), this
              // throws and the batch fails as one, which is the truth.
              rollbackTo();
              release();
              outcomes.push({ ok: false, error });
            }
          }
          commit();
        } catch (error) {
          if (database.inTransaction) rollback();
          throw error;
        }
      });
    } catch (error) {
      for (const unit of batch) unit.reject(error);
      return;
    }
    batch.forEach((unit, i) => {
      const outcome = outcomes[i];
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
  };

  return <T>(work: Work<T>) =>
    new Promise<T>((resolve, reject) => {
      // The first unit of a batch schedules it; the rest of this turn's join it, so the commit
      // waits one turn at most.
      if (queue.push({ work, resolve: resolve as (value: unknown) => void, reject }) === 1)
        setImmediate(() => void flush());
    });
}
