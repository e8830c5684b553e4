import { randomUUID } from 'node:crypto';
import { sql, type Generated, type Kysely, type Migration } from 'kysely';
import type { Dialect, Store } from '../store/index.js';
import { json } from '../store/index.js';
import type { Action } from './commands.js';

export const JOB_STATUSES = ['queued', 'running', 'done', 'expired', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** One accepted Public API command, waiting for or done with its turn on the conversation. */
export interface Job {
  id: string;
  accountId: string;
  conversationId: string;
  action: Action;
  payload: unknown;
  /** The Public API user whose bearer sent it. */
  actorUserId: string;
  status: JobStatus;
  error?: string;
  createdAt: number;
  /** Not started by then: it expires and does nothing. */
  expiresAt: number;
  startedAt?: number;
  finishedAt?: number;
}

export interface NewJob {
  accountId: string;
  conversationId: string;
  action: Action;
  payload: unknown;
  actorUserId: string;
  ttlSeconds: number;
}

export type PublicApiTables = {
  public_api_jobs: {
    /** Acceptance order: a conversation's jobs run in this order. */
    seq: Generated<number>;
    id: string;
    account_id: string;
    conversation_id: string;
    action: string;
    /** JSON */
    payload: string;
    actor_user_id: string;
    status: string;
    error: string | null;
    created_at: number;
    expires_at: number;
    started_at: number | null;
    finished_at: number | null;
    /** The worker (one per process) that started it. */
    worker_id: string | null;
  };
  /** Workers alive on this store: a running job whose worker stopped beating was abandoned. */
  public_api_workers: { id: string; heartbeat_at: number };
};

/** What a conversation's queue has for a worker. */
export type Step =
  | { kind: 'idle' }
  /** Its oldest job is running elsewhere (another instance), which carries on with the rest. */
  | { kind: 'busy' }
  | { kind: 'expired'; job: Job }
  | { kind: 'started'; job: Job };

/** The durable queue's tables; JSON as text and epoch-ms bigints, as everywhere in the store. */
export function jobMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0100_public_api_jobs': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        const table = db.schema.createTable('public_api_jobs');
        const withSeq =
          dialect === 'postgres'
            ? table.addColumn('seq', 'serial', (c) => c.primaryKey())
            : table.addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement());
        await withSeq
          .addColumn('id', 'text', (c) => c.notNull().unique())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('actor_user_id', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('started_at', 'bigint')
          .addColumn('finished_at', 'bigint')
          .execute();
        await db.schema.createIndex('public_api_jobs_pending').on('public_api_jobs').columns(['status', 'conversation_id', 'seq']).execute();
      },
    },
    '0101_public_api_workers': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
        await db.schema.alterTable('public_api_jobs').addColumn('worker_id', 'text').execute();
        await db.schema
          .createTable('public_api_workers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
  };
}

type JobRow = PublicApiTables['public_api_jobs'] & { seq: number };

/**
 * The Public API's job table. Every transition is a conditional update from the state it
 * leaves, so a job is started at most once and never both run and expired; taking a
 * conversation's next job is serialized across every instance sharing the store.
 */
export class JobStore {
  private readonly db: Kysely<PublicApiTables>;
  private readonly dialect: Dialect;
  /** A job's writes join the conversation changes' group commit on SQLite (store/group-commit.ts). */
  private readonly transact: <T>(work: (tx: Kysely<PublicApiTables>) => Promise<T>) => Promise<T>;

  constructor(store: Store, private readonly now: () => number = Date.now) {
    this.db = store.db.withTables<PublicApiTables>() as unknown as Kysely<PublicApiTables>;
    this.dialect = store.dialect;
    this.transact = (work) => store.transact((tx) => work(tx as unknown as Kysely<PublicApiTables>));
  }

  async add(input: NewJob): Promise<Job> {
    const createdAt = this.now();
    const job: Job = {
      id: randomUUID(),
      accountId: input.accountId,
      conversationId: input.conversationId,
      action: input.action,
      payload: input.payload,
      actorUserId: input.actorUserId,
      status: 'queued',
      createdAt,
      expiresAt: createdAt + input.ttlSeconds * 1000,
    };
    await this.transact((tx) =>
      tx
        .insertInto('public_api_jobs')
        .values({
          id: job.id,
          account_id: job.accountId,
          conversation_id: job.conversationId,
          action: job.action,
          payload: JSON.stringify(job.payload ?? {}),
          actor_user_id: job.actorUserId,
          status: job.status,
          error: null,
          created_at: job.createdAt,
          expires_at: job.expiresAt,
          started_at: null,
          finished_at: null,
          worker_id: null,
        })
        .execute(),
    );
    return job;
  }

  /** The job as it stands now: a queued job past its ttl is expired on the spot. */
  async get(accountId: string, id: string): Promise<Job | undefined> {
    const job = await this.find(id);
    if (!job || job.accountId !== accountId) return undefined;
    if (job.status === 'queued' && job.expiresAt <= this.now()) {
      await this.db
        .updateTable('public_api_jobs')
        .set({ status: 'expired', finished_at: this.now() })
        .where('id', '=', id)
        .where('status', '=', 'queued')
        .execute();
      return this.find(id);
    }
    return job;
  }

  /**
   * Takes the conversation's next job for the worker: its oldest unfinished one. If that one is
   * running (on another instance) nothing is taken, so a conversation never runs two at once;
   * if its ttl ran out, it is expired instead of started.
   */
  async next(conversationId: string, workerId: string): Promise<Step> {
    return this.transact(async (tx) => {
      // SQLite runs one transaction at a time anyway; PostgreSQL instances queue on this lock.
      if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`public_api_jobs:${conversationId}`}))`.execute(tx);
      const head = await tx
        .selectFrom('public_api_jobs')
        .selectAll()
        .where('conversation_id', '=', conversationId)
        .where('status', 'in', ['queued', 'running'])
        .orderBy('seq')
        .limit(1)
        .executeTakeFirst();
      if (!head) return { kind: 'idle' };
      if (head.status === 'running') return { kind: 'busy' };
      const now = this.now();
      const job = toJob(head as JobRow);
      if (job.expiresAt <= now) {
        await tx.updateTable('public_api_jobs').set({ status: 'expired', finished_at: now }).where('id', '=', job.id).where('status', '=', 'queued').execute();
        return { kind: 'expired', job: { ...job, status: 'expired', finishedAt: now } };
      }
      await tx
        .updateTable('public_api_jobs')
        .set({ status: 'running', started_at: now, worker_id: workerId })
        .where('id', '=', job.id)
        .where('status', '=', 'queued')
        .execute();
      return { kind: 'started', job: { ...job, status: 'running', startedAt: now } };
    });
  }

  /** Conversations with jobs waiting, oldest job first. */
  async conversationsWaiting(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('public_api_jobs')
      .select(['conversation_id', (eb) => eb.fn.min('seq').as('first')])
      .where('status', '=', 'queued')
      .groupBy('conversation_id')
      .orderBy('first')
      .execute();
    return rows.map((r) => r.conversation_id);
  }

  async finish(id: string, outcome: { status: 'done' } | { status: 'failed'; error: string }): Promise<void> {
    await this.transact((tx) =>
      tx
        .updateTable('public_api_jobs')
        .set({ status: outcome.status, error: outcome.status === 'failed' ? outcome.error : null, finished_at: this.now() })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .execute(),
    );
  }

  /** Forgets jobs that ended before the time; returns how many. */
  async prune(endedBefore: number): Promise<number> {
    const result = await this.db
      .deleteFrom('public_api_jobs')
      .where('status', 'in', ['done', 'expired', 'failed'])
      .where('finished_at', '<', endedBefore)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** The worker is alive. */
  async heartbeat(workerId: string): Promise<void> {
    const now = this.now();
    await this.db
      .insertInto('public_api_workers')
      .values({ id: workerId, heartbeat_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: now }))
      .execute();
  }

  /** The worker stopped cleanly, with nothing of it left running. */
  async retire(workerId: string): Promise<void> {
    await this.db.deleteFrom('public_api_workers').where('id', '=', workerId).execute();
  }

  /**
   * Jobs left running by workers that stopped beating before `aliveSince` (a crashed process)
   * cannot be resumed safely, since some of their messages may be out already: they fail with
   * the reason. Returns their conversations, whose later jobs may now go ahead.
   */
  async failAbandoned(reason: string, options: { self: string; aliveSince: number }): Promise<string[]> {
    const rows = await this.db
      .updateTable('public_api_jobs')
      .set({ status: 'failed', error: reason, finished_at: this.now() })
      .where('status', '=', 'running')
      .where((eb) =>
        eb.or([
          eb('worker_id', 'is', null),
          eb.and([
            eb('worker_id', '<>', options.self),
            eb('worker_id', 'not in', eb.selectFrom('public_api_workers').select('id').where('heartbeat_at', '>=', options.aliveSince)),
          ]),
        ]),
      )
      .returning('conversation_id')
      .execute();
    return [...new Set(rows.map((r) => r.conversation_id))];
  }

  private async find(id: string): Promise<Job | undefined> {
    const row = await this.db.selectFrom('public_api_jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toJob(row as JobRow) : undefined;
  }
}

function toJob(r: JobRow): Job {
  return {
    id: r.id,
    accountId: r.account_id,
    conversationId: r.conversation_id,
    action: r.action as Action,
    payload: json<unknown>(r.payload, {}),
    actorUserId: r.actor_user_id,
    status: r.status as JobStatus,
    ...(r.error !== null ? { error: r.error } : {}),
    createdAt: Number(r.created_at),
    expiresAt: Number(r.expires_at),
    ...(r.started_at !== null ? { startedAt: Number(r.started_at) } : {}),
    ...(r.finished_at !== null ? { finishedAt: Number(r.finished_at) } : {}),
  };
}
