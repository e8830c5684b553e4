import { sql } from 'kysely';
import type { Dialect, Store } from '../store/index.js';

export interface StoreHealth {
  dialect: Dialect;
  ok: boolean;
  error?: string;
}

/** What `/healthz` looks at (http/operations.ts). */
export interface HealthDeps {
  store: Store;
  /** Names this process among the replicas (INSTANCE_ID). */
  instanceId: string;
  /** A store slower than this is reported down: a probe must answer before its own timeout. */
  timeoutMs?: number;
  /** PostgreSQL: whether this instance hears the others' changes (undefined: nothing to hear). */
  listener?: () => { ok: boolean; error?: string } | undefined;
}

/**
 * Whether the store answers a trivial query in time. A hung connection (a network partition, a
 * stopped PostgreSQL host) never fails by itself, so the wait is bounded; the query may still
 * finish later, on its connection, without anyone waiting.
 */
export async function checkStore(store: Store, timeoutMs: number): Promise<StoreHealth> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the store did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([sql`SELECT 1`.execute(store.db), timedOut]);
    return { dialect: store.dialect, ok: true };
  } catch (error) {
    return { dialect: store.dialect, ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
