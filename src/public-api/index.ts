import type { FastifyInstance } from 'fastify';
import type { Migration } from 'kysely';
import type { Logger } from 'pino';
import { Counter, Histogram } from 'prom-client';
import type { Store, Dialect } from '../store/index.js';
import type { Directory } from '../platform/directory.js';
import type { Conversations } from '../platform/conversations.js';
import type { SessionTokens } from '../sentinel/tokens.js';
import type { CredentialAttempts } from '../sentinel/attempts.js';
import { childrenOf, type Metrics } from '../ops/metrics.js';
import { JobStore, jobMigrations } from './jobs.js';
import { JobWorker, type JobExecutor } from './worker.js';
import { Tracing } from '../ops/tracing.js';
import { commandExecutor } from './execute.js';
import type { StructuredContentValidator } from '../contract/index.js';
import { publicApi } from './routes.js';

export interface PublicApiDeps {
  store: Store;
  directory: Directory;
  conversations: Conversations;
  sessions: SessionTokens;
  /** Failed logins, counted in the store (shared with agent login: the same passwords). */
  attempts: CredentialAttempts;
  log: Logger;
  metrics: Metrics;
  /** The structured-content validator (src/contract): one compiled schema set for the process. */
  structuredContent: StructuredContentValidator;
  /** When tracing is on: each job's run in a `public api job` span. */
  tracing?: Tracing;
}

/** Tables of the Public API (its durable job queue). */
export function publicApiMigrations(dialect: Dialect): Record<string, Migration> {
  return jobMigrations(dialect);
}

/** Public API v1: login and the five conversation actions. Returns what must stop on shutdown. */
export async function createPublicApi(
  server: FastifyInstance,
  deps: PublicApiDeps,
): Promise<{ close(): Promise<void>; backlog: JobStore['backlog'] }> {
  const jobs = new JobStore(deps.store);
  const outcomes = new Counter({
    name: 'botbridge_public_api_jobs_total',
    help: 'Public API jobs by action and how they ended',
    labelNames: ['action', 'status'] as const,
    registers: [deps.metrics.registry],
  });
  const outcomeOf = childrenOf(outcomes);
  const durationOf = childrenOf(
    new Histogram({
      name: 'botbridge_public_api_job_duration_seconds',
      help: 'From a Public API job accepted (202) to done, by action and how it ended',
      labelNames: ['action', 'status'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [deps.metrics.registry],
    }),
  );
  const worker = new JobWorker(
    jobs,
    deps.tracing
      ? tracedExecutor(deps.tracing, commandExecutor(deps.conversations, deps.directory))
      : commandExecutor(deps.conversations, deps.directory),
    deps.log.child({ part: 'public-api' }),
    {
      sharedStore: deps.store.dialect === 'postgres',
      finished: (job, status) => {
        outcomeOf(job.action, status).inc();
        durationOf(job.action, status).observe(Math.max(0, Date.now() - job.createdAt) / 1000);
      },
    },
  );
  await server.register(publicApi, {
    directory: deps.directory,
    conversations: deps.conversations,
    sessions: deps.sessions,
    jobs,
    attempts: deps.attempts,
    templates: deps.structuredContent,
    accept: (input) => worker.accept(input),
    ...(deps.tracing ? { tracing: deps.tracing } : {}),
  });
  await worker.start();
  return { close: () => worker.close(), backlog: (accountId) => jobs.backlog(accountId) };
}

/** Runs each job in a span: its action and ids, how it ended (an error's code, never its text). */
function tracedExecutor(tracing: Tracing, execute: JobExecutor): JobExecutor {
  return async (job, signal, record) => {
    // A child of the request that sent it, wherever that was taken: the job keeps its context.
    const span = tracing.start(
      'public api job',
      {
        'botbridge.account': job.accountId,
        'botbridge.conversation_id': job.conversationId,
        'botbridge.job_id': job.id,
        'botbridge.action': job.action,
        'botbridge.actor_user_id': job.actorUserId,
        'botbridge.queued_ms': Math.max(0, Date.now() - job.createdAt),
      },
      job.traceparent ? tracing.extract({ traceparent: job.traceparent }) : undefined,
    );
    try {
      await execute(job, signal, record);
      span.setAttribute('botbridge.outcome', 'done');
    } catch (error) {
      const { code, name } = error as { code?: unknown; name?: unknown };
      span.setAttribute('botbridge.outcome', 'failed');
      Tracing.fail(span, typeof code === 'string' ? code : typeof name === 'string' ? name : 'error');
      throw error;
    } finally {
      span.end();
    }
  };
}
