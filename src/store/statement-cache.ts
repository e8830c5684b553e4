import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * The better-sqlite3 database as Kysely's SQLite dialect sees it, with prepared statements kept
 * by SQL text. Kysely prepares every query it runs; compiling the SQL again each time (planning
 * the joins included) cost more than running it. A statement still being iterated (a streamed
 * query) is busy, so that rare case gets a fresh one instead of the cached one.
 */
export function withStatementCache(database: BetterSqlite3.Database, size = 1000): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string): SqliteStatement {
      const cached = cache.get(sql);
      if (cached && !cached.busy) return cached as unknown as SqliteStatement;
      const statement = database.prepare(sql);
      if (!cached) {
        // Least recently added goes first: queries are few and fixed, so eviction is rare.
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
        cache.set(sql, statement);
      }
      return statement as unknown as SqliteStatement;
    },
  };
}
