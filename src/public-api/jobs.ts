import { randomUUID } from 'node:crypto';
import type { Generated, Kysely, Migration } from 'kysely';
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
  };
};

/** The durable queue's table; JSON as text and epoch-ms bigints, as everywhere in the store. */
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
  };
}

type JobRow = PublicApiTables['public_api_jobs'] & { seq: number };

/**
 * The Public API's job table. Every transition is a conditional update from the state it
 * leaves, so a job is started at most once and never both run and expired.
 */
export class JobStore {
  private readonly db: Kysely<PublicApiTables>;

  constructor(store: Store, private readonly now: () => number = Date.now) {
    this.db = store.db.withTables<PublicApiTables>() as unknown as Kysely<PublicApiTables>;
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
    await this.db
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
      })
      .execute();
    return job;
  }

  /** The job as it stands now: a queued job past its ttl is expired on the spot. */
  async get(accountId: string, id: string): Promise<Job | undefined> {
    const job = await this.find(id);
    if (!job || job.accountId !== accountId) return undefined;
    if (job.status === 'queued' && job.expiresAt <= this.now()) {
      await this.expire(id);
      return this.find(id);
    }
    return job;
  }

  /** The conversation's oldest job still waiting. */
  async nextQueued(conversationId: string): Promise<Job | undefined> {
    const row = await this.db
      .selectFrom('public_api_jobs')
      .selectAll()
      .where('status', '=', 'queued')
      .where('conversation_id', '=', conversationId)
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
    return row ? toJob(row as JobRow) : undefined;
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

  /** Marks the job running if it is still queued and within its ttl; false when it is not. */
  async start(id: string): Promise<boolean> {
    const now = this.now();
    const result = await this.db
      .updateTable('public_api_jobs')
      .set({ status: 'running', started_at: now })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async expire(id: string): Promise<boolean> {
    const result = await this.db
      .updateTable('public_api_jobs')
      .set({ status: 'expired', finished_at: this.now() })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async finish(id: string, outcome: { status: 'done' } | { status: 'failed'; error: string }): Promise<void> {
    await this.db
      .updateTable('public_api_jobs')
      .set({ status: outcome.status, error: outcome.status === 'failed' ? outcome.error : null, finished_at: this.now() })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .execute();
  }

  /**
   * Jobs a previous process left running cannot be resumed safely (some of their messages may
   * be out already), so they fail with that reason. Returns how many.
   */
  async failInterrupted(reason: string): Promise<number> {
    const result = await this.db
      .updateTable('public_api_jobs')
      .set({ status: 'failed', error: reason, finished_at: this.now() })
      .where('status', '=', 'running')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
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
