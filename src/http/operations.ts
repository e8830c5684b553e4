import type { FastifyPluginAsync } from 'fastify';
import { checkStore, type HealthDeps } from '../ops/health.js';
import type { Metrics } from '../ops/metrics.js';
import { errorResponses } from './schemas.js';

export interface OperationsDeps extends HealthDeps {
  metrics: Metrics;
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

/**
 * What operators and their probes read, with no auth (they sit at the root, as orchestrators
 * expect): `GET /healthz`, 200 once the store answers and (PostgreSQL) the change listener is
 * connected, else 503 naming the part; `GET /metrics` in Prometheus' text format.
 *
 * Here in http/ rather than ops/: http/ imports ops/ (the metrics, the store check), so a route
 * in ops/ needing http/'s schemas would make the two folders import each other again.
 */
export const operations: FastifyPluginAsync<OperationsDeps> = async (server, deps) => {
  const timeoutMs = deps.timeoutMs ?? 2000;
  server.get(
    '/healthz',
    {
      schema: {
        tags: ['ops'],
        summary: 'Ready once the store and listeners are: 200, or 503 naming the failing part',
        // Its whole contract, which probes rely on: nothing else is documented here.
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

  server.get(
    '/metrics',
    {
      schema: {
        tags: ['ops'],
        summary: 'Prometheus metrics',
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      reply.header('content-type', deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );
};
