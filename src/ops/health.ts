import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { Dialect, Store } from '../store/index.js';

export interface StoreHealth {
  dialect: Dialect;
  ok: boolean;
  error?: string;
}

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

const storeHealthSchema = {
  type: 'object',
  properties: {
    dialect: { type: 'string', enum: ['sqlite', 'postgres'] },
    ok: { type: 'boolean' },
    error: { type: 'string', description: 'why the store is considered down' },
  },
  required: ['dialect', 'ok'],
};

const listenerHealthSchema = {
  type: 'object',
  description: 'PostgreSQL: the connection on which this instance hears the other instances’ changes',
  properties: { ok: { type: 'boolean' }, error: { type: 'string' } },
  required: ['ok'],
};

const healthSchema = (status: string) => ({
  type: 'object',
  properties: {
    status: { type: 'string', enum: [status] },
    instance: { type: 'string' },
    store: storeHealthSchema,
    listener: listenerHealthSchema,
  },
  required: ['status', 'instance', 'store'],
});

/** `GET /healthz`: 200 once the store answers and (PostgreSQL) the change listener is connected, else 503 naming the part. */
export function registerHealthRoute(server: FastifyInstance, deps: HealthDeps): void {
  const timeoutMs = deps.timeoutMs ?? 2000;
  server.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Ready once the store and listeners are: 200, or 503 naming the failing part',
        response: { 200: healthSchema('ok'), 503: healthSchema('unavailable') },
      },
    },
    async (_request, reply) => {
      const store = await checkStore(deps.store, timeoutMs);
      const listener = deps.listener?.();
      const parts = { instance: deps.instanceId, store, ...(listener ? { listener } : {}) };
      if (store.ok && (listener?.ok ?? true)) return { status: 'ok', ...parts };
      return reply.status(503).send({ status: 'unavailable', ...parts });
    },
  );
}
