import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

/** Runs of one SQL text before it is prepared by name: startup's one-off queries (and migrations) never are. */
const RUNS_BEFORE_NAMING = 3;

const DML = /^\s*(select|insert|update|delete|with)\b/i;

/**
 * The PostgreSQL pool as Kysely's dialect sees it, with the statements the app keeps running
 * prepared by name. node-postgres sends every query unnamed, so PostgreSQL parses, analyses and
 * plans it again each time; for the one-statement changes of the message path that was as much
 * work as running them. A named statement is parsed once per connection, and its plan is cached.
 * Only DML that has run a few times is named (not DDL, not startup's one-off reads), at most
 * `max` texts, so connections do not keep statements without bound.
 */
export function withPreparedStatements(pool: pg.Pool, max = 500): PostgresPool {
  const runs = new Map<string, number>();
  const names = new Map<string, string>();
  const nameOf = (text: string): string | undefined => {
    const named = names.get(text);
    if (named !== undefined || names.size >= max) return named;
    const n = (runs.get(text) ?? 0) + 1;
    if (n < RUNS_BEFORE_NAMING || !DML.test(text)) {
      if (runs.size < 10 * max) runs.set(text, n);
      return undefined;
    }
    runs.delete(text);
    const name = `botbridge_${names.size + 1}`;
    names.set(text, name);
    return name;
  };
  // One wrapper per connection, kept: Kysely keys its own per-connection state by the client.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    // pg-pool listens for a connection's 'error' only while it is idle in the pool: one that
    // breaks while checked out (the server restarted between two statements of a transaction)
    // emits an 'error' nobody hears, which ends the process. Heard here for the connection's
    // whole life; a connection that failed, or whose query gave up waiting (its answer may still
    // come, on a path gone silent), goes back to the pool as broken, and the pool discards it.
    let broken: Error | undefined;
    client.on('error', (error) => {
      broken ??= error;
    });
    const query = (config: pg.QueryConfig) =>
      client.query(config).catch((error: Error) => {
        if (connectionLost(error)) broken ??= error;
        throw error;
      });
    return {
      // biome-ignore lint/suspicious/noExplicitAny: Kysely's overloads (text or cursor) pass straight through to pg's.
      query: ((textOrCursor: any, values?: readonly unknown[]) => {
        if (typeof textOrCursor !== 'string') return client.query(textOrCursor);
        const name = nameOf(textOrCursor);
        return query(
          name === undefined
            ? { text: textOrCursor, values: values as unknown[] }
            : { name, text: textOrCursor, values: values as unknown[] },
        );
      }) as PostgresPoolClient['query'],
      release: () => client.release(broken),
    };
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        wrapper = wrap(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

/**
 * Errors after which the connection cannot be trusted with another query: it is gone, or a
 * query gave up waiting for its answer (pg's query_timeout), which may still arrive later and be
 * taken for the next query's.
 */
function connectionLost(error: Error & { code?: string }): boolean {
  if (typeof error.code === 'string') return /^(08|57P)/.test(error.code) || error.code.startsWith('E');
  return /Query read timeout|Connection terminated|not queryable|ECONNRESET|EPIPE/.test(error.message);
}
