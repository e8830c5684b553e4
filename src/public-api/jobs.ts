import { CompiledQuery, sql, type Generated, type Kysely, type Migration } from 'kysely';
import type { Dialect, MigrationDb, RowGuard, Store } from '../store/index.js';
import { WriteStatements, boundQuery, json, tablesOf } from '../store/index.js';
import type { Action } from '../contract/public-api.js';
import { timeOrderedId } from '../util/time-ordered-id.js';

export const JOB_STATUSES = ['queued', 'running', 'done', 'expired', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/**
 * How far a started job got, committed with the conversation change that got it there: a worker
 * taking the job over resumes from here, so nothing is done twice or skipped.
 */
export interface JobProgress {
  /** Items of a send-messages job carried out (a pause counts once it has begun). */
  items: number;
  /** The end of the pause under way (epoch ms): a takeover waits only what is left of it. */
  resumeAt?: number;
}

/**
 * The job's record is no longer the worker's to move on (another worker took it over, believing
 * this one gone): thrown inside the change's transaction, it rolls the change back.
 */
export class JobLost extends Error {
  constructor(readonly jobId: string) {
    super(`public api job ${jobId} is no longer this worker's: it was taken over`);
  }
}

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
  /** Not started by then: it expires and does nothing. A job once started is finished, ttl or not. */
  expiresAt: number;
  startedAt?: number;
  finishedAt?: number;
  progress: JobProgress;
  /** The sending request's trace (W3C traceparent), when tracing was on. */
  traceparent?: string;
}

export interface NewJob {
  accountId: string;
  conversationId: string;
  action: Action;
  payload: unknown;
  actorUserId: string;
  ttlSeconds: number;
  /** The sending request's trace (W3C traceparent), when tracing is on. */
  traceparent?: string;
  /** Its id (newJobId), when whoever stores it must know it before the store answers. */
  id?: string;
}

/** Time-ordered: jobs are inserted in time order, so their id's unique index grows at its right edge. */
export const newJobId = timeOrderedId;

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
    /** The worker (one per process) that started it, or took it over. */
    worker_id: string | null;
    /** JobProgress.items */
    done_items: Generated<number>;
    /** The W3C traceparent of the request that sent it, when tracing is on: its run continues that trace. */
    traceparent: string | null;
    /** JobProgress.resumeAt */
    resume_at: number | null;
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
  | { kind: 'started'; job: Job }
  /** A job whose worker is gone, taken over to be finished from its progress. */
  | { kind: 'resumed'; job: Job; from: string | null };

/** Who asks, and since when a worker must have beaten to count as alive. */
export interface Claimant {
  self: string;
  aliveSince: number;
}

/** The durable queue's tables; JSON as text and epoch-ms bigints, as everywhere in the store. */
export function jobMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0100_public_api_jobs': {
      async up(db: MigrationDb) {
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
        await db.schema
          .createIndex('public_api_jobs_pending')
          .on('public_api_jobs')
          .columns(['status', 'conversation_id', 'seq'])
          .execute();
      },
    },
    '0101_public_api_workers': {
      async up(db: MigrationDb) {
        await db.schema.alterTable('public_api_jobs').addColumn('worker_id', 'text').execute();
        await db.schema
          .createTable('public_api_workers')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0102_public_api_job_progress': {
      async up(db: MigrationDb) {
        await db.schema
          .alterTable('public_api_jobs')
          .addColumn('done_items', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.alterTable('public_api_jobs').addColumn('resume_at', 'bigint').execute();
      },
    },
    '0103_public_api_jobs_open': {
      // A conversation's head job, looked up twice per job: over (status, conversation_id, seq)
      // SQLite sorted two ranges for it (~37 us with 50,000 jobs kept, against ~2 us here);
      // the ended jobs a week's retention keeps are not in this one at all.
      async up(db: MigrationDb) {
        await sql`create index public_api_jobs_open on public_api_jobs (conversation_id, seq) where status in ('queued', 'running')`.execute(
          db,
        );
      },
    },
    '0104_public_api_job_trace': {
      async up(db: MigrationDb) {
        await db.schema.alterTable('public_api_jobs').addColumn('traceparent', 'text').execute();
      },
    },
    '0105_public_api_jobs_pending_dropped': {
      // Every job moved through (status, conversation_id, seq) twice, the second time to a page
      // of its conversation among all the ended jobs kept: a page more for each commit to write.
      // What looked jobs up by status reads the unfinished ones through public_api_jobs_open.
      async up(db: MigrationDb) {
        await db.schema.dropIndex('public_api_jobs_pending').execute();
      },
    },
  };
}

/**
 * Written out, not bound: the stores use the partial index `public_api_jobs_open` only for a
 * condition they can read in the statement itself. Lookups by a status of an unfinished job
 * carry it too, so that they read the few unfinished jobs through it, not every job kept.
 */
const UNFINISHED = sql<boolean>`status in ('queued', 'running')`;

/** SQLite: a job inserted running for its starter when its conversation has nothing unfinished (see `add`). */
const ADD_STARTED = `insert into public_api_jobs
  (id, account_id, conversation_id, action, payload, actor_user_id, created_at, expires_at, traceparent, status, started_at, worker_id)
  select ?, ?, ?, ?, ?, ?, ?, ?, ?, iif(waiting, 'queued', 'running'), iif(waiting, null, ?), iif(waiting, null, ?)
  from (select exists (select 1 from public_api_jobs where conversation_id = ? and status in ('queued', 'running')) as waiting)
  returning status`;

/** The store's connection seen with the job tables. */
type JobDb = Kysely<PublicApiTables>;

type JobRow = Omit<PublicApiTables['public_api_jobs'], 'seq' | 'done_items'> & { seq: number; done_items: number };

/**
 * The Public API's job table. Every transition is a conditional update from the state it
 * leaves, so a job is started at most once and never both run and expired, and a running job's
 * record moves on only with the conversation change it describes, by the worker holding it;
 * taking a conversation's next job is serialized across every instance sharing the store.
 */
export class JobStore {
  private readonly db: JobDb;
  private readonly dialect: Dialect;
  /** A job's writes join the conversation changes' group commit on SQLite (store/group-commit.ts). */
  private readonly transact: <T>(work: (tx: JobDb) => Promise<T>) => Promise<T>;
  private readonly writeOne: Store['writeOne'];
  /** The head's select, compiled once: it runs for every job, and building it cost more than running it. */
  private readonly writes: WriteStatements;
  private readonly head: ReturnType<typeof headQuery>;

  constructor(
    store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.db = tablesOf<PublicApiTables>(store.db);
    this.dialect = store.dialect;
    this.transact = (work) => store.transact((tx) => work(tablesOf<PublicApiTables>(tx)));
    this.writeOne = (query) => store.writeOne(query);
    this.writes = new WriteStatements(store.dialect);
    this.head = headQuery(this.db);
  }

  private async headOf(db: JobDb, conversationId: string) {
    const { rows } = await db.executeQuery(this.head(conversationId));
    return rows[0] as JobRow | undefined;
  }

  /**
   * Stores the job, queued; on SQLite started at once for `starter` (a worker of this process)
   * when nothing of its conversation is unfinished, in the same statement: the worker is spared
   * a unit of work to take it, and another to find the queue empty after it. On PostgreSQL it is
   * only queued: another instance may be taking the conversation's head at that very moment,
   * which a statement's snapshot cannot see (`next` takes a lock for it).
   */
  async add(input: NewJob, starter?: string): Promise<Job> {
    const createdAt = this.now();
    const job: Job = {
      id: input.id ?? newJobId(createdAt),
      accountId: input.accountId,
      conversationId: input.conversationId,
      action: input.action,
      payload: input.payload,
      actorUserId: input.actorUserId,
      status: 'queued',
      createdAt,
      expiresAt: createdAt + input.ttlSeconds * 1000,
      progress: { items: 0 },
      ...(input.traceparent ? { traceparent: input.traceparent } : {}),
    };
    const row = {
      id: job.id,
      account_id: job.accountId,
      conversation_id: job.conversationId,
      action: job.action,
      payload: JSON.stringify(job.payload ?? {}),
      actor_user_id: job.actorUserId,
      created_at: job.createdAt,
      expires_at: job.expiresAt,
      traceparent: job.traceparent ?? null,
    };
    if (starter === undefined || this.dialect === 'postgres') {
      await this.writeOne(this.writes.insert('public_api_jobs', [{ ...row, status: 'queued' }]));
      return job;
    }
    const { rows } = await this.writeOne(
      CompiledQuery.raw(ADD_STARTED, [
        row.id,
        row.account_id,
        row.conversation_id,
        row.action,
        row.payload,
        row.actor_user_id,
        row.created_at,
        row.expires_at,
        row.traceparent,
        createdAt,
        starter,
        row.conversation_id,
      ]),
    );
    if ((rows[0] as { status: string }).status === 'queued') return job;
    return { ...job, status: 'running', startedAt: createdAt };
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
   * Takes the conversation's next job for the worker: its oldest unfinished one. A running one
   * whose worker is alive elsewhere leaves nothing to take, so a conversation never runs two at
   * once; one whose worker is gone is taken over, to be resumed from its progress. A queued one
   * whose ttl ran out is expired instead of started; a started one is never expired (its
   * messages may be partly out: it is finished). The caller takes a conversation's jobs one at a
   * time, so a running job of its own found here is one it left (a store failure ended its run).
   */
  async next(conversationId: string, claimant: Claimant): Promise<Step> {
    if (this.dialect === 'postgres') {
      const step = await this.startHead(conversationId, claimant.self);
      if (step) return step;
    }
    // On SQLite the head is read once, in the unit of work: a read outside it first (to skip the
    // unit when the queue is empty) cost a second read per job, and a unit that writes nothing
    // costs little in the group commit.
    const { self, aliveSince } = claimant;
    return this.transact(async (tx) => {
      // SQLite runs one transaction at a time anyway; PostgreSQL instances queue on this lock.
      // Per conversation, not FOR UPDATE SKIP LOCKED on job rows: only the head may be taken,
      // and skipping a head another instance holds would start the job behind it.
      if (this.dialect === 'postgres')
        await sql`select pg_advisory_xact_lock(hashtext(${`public_api_jobs:${conversationId}`}))`.execute(tx);
      const head = await this.headOf(tx, conversationId);
      if (!head) return { kind: 'idle' };
      if (head.status === 'running') {
        const from = head.worker_id;
        if (from !== self && from !== null && (await isAlive(tx, from, aliveSince))) return { kind: 'busy' };
        // Conditional on the worker it was left by: a worker thought gone that commits a part
        // meanwhile holds the row until its commit, and what is taken over is what it left.
        const taken = await tx
          .updateTable('public_api_jobs')
          .set({ worker_id: self })
          .where('id', '=', head.id)
          .where('status', '=', 'running')
          .where((eb) => (from === null ? eb('worker_id', 'is', null) : eb('worker_id', '=', from)))
          .returningAll()
          .executeTakeFirst();
        // Finished meanwhile by a worker that was not gone after all: it carries on with the rest.
        if (!taken) return { kind: 'busy' };
        return { kind: 'resumed', job: toJob(taken as JobRow), from };
      }
      const now = this.now();
      // Both conditional: on PostgreSQL, `startHead` may have started it meanwhile without this lock.
      if (Number(head.expires_at) <= now) {
        const expired = await tx
          .updateTable('public_api_jobs')
          .set({ status: 'expired', finished_at: now })
          .where('id', '=', head.id)
          .where('status', '=', 'queued')
          .executeTakeFirst();
        if (Number(expired.numUpdatedRows) !== 1) return { kind: 'busy' };
        return { kind: 'expired', job: { ...toJob(head as JobRow), status: 'expired', finishedAt: now } };
      }
      const started = await tx.executeQuery(
        this.writes.update(
          'public_api_jobs',
          { status: 'running', started_at: now, worker_id: self },
          { id: head.id, status: 'queued' },
        ),
      );
      if (Number(started.numAffectedRows) !== 1) return { kind: 'busy' };
      return {
        kind: 'started',
        job: toJob({ ...(head as JobRow), status: 'running', started_at: now, worker_id: self }),
      };
    });
  }

  /**
   * PostgreSQL, the usual cases in one statement (no transaction, no advisory lock): no job left,
   * or a queued head within its ttl, started. The head's row lock stands in for the
   * conversation's lock: a head another worker started meanwhile is found running and not
   * started here. A head that ended meanwhile is not found by the lock, but is by the statement's
   * snapshot (`waiting`), so it is never taken for "no job left". Anything else (a running head,
   * an expired one, one that ended meanwhile) goes the locked way: undefined then.
   */
  private async startHead(conversationId: string, self: string): Promise<Step | undefined> {
    const now = this.now();
    const { rows } = await sql<JobRow & { started: boolean; waiting: boolean }>`
      with head as (
        select * from public_api_jobs
        where conversation_id = ${conversationId} and status in ('queued', 'running')
        order by seq limit 1 for update
      ), started as (
        update public_api_jobs as j set status = 'running', started_at = ${now}, worker_id = ${self}
        from head where j.id = head.id and head.status = 'queued' and head.expires_at > ${now}
        returning j.*
      )
      select started.*, started.id is not null as started, exists (
        select 1 from public_api_jobs where conversation_id = ${conversationId} and status in ('queued', 'running')
      ) as waiting
      from (select 1) as one left join started on true`.execute(this.db);
    const [row] = rows;
    if (row.started) return { kind: 'started', job: toJob(row) };
    return row.waiting ? undefined : { kind: 'idle' };
  }

  /**
   * Holds the conversation change that carries a part of a running job out to the job's record,
   * and moves the record on with it ('done' with the job's last part): the change and the record
   * commit together or not at all (`Conversations.act`'s guard). A job that is no longer this
   * worker's, or no longer where it left it, refuses the change with JobLost.
   */
  progressGuard(id: string, workerId: string, from: JobProgress, to: JobProgress | 'done'): RowGuard {
    const pg = this.dialect === 'postgres';
    return {
      // Locked on PostgreSQL until the change commits: a takeover waits for it, and finds the progress it made.
      sql: pg
        ? `select 1 from public_api_jobs where id = $1 and status = 'running' and worker_id = $2 and done_items = $3 for update`
        : `select 1 from public_api_jobs where id = ? and status = 'running' and worker_id = ? and done_items = ?`,
      params: [id, workerId, from.items],
      refused: () => new JobLost(id),
      then: {
        table: 'public_api_jobs',
        set:
          to === 'done'
            ? { status: 'done', finished_at: this.now(), resume_at: null }
            : { done_items: to.items, resume_at: to.resumeAt ?? null },
        where: { id, status: 'running', worker_id: workerId, done_items: from.items },
      },
    };
  }

  /** The account's jobs waiting for their turn: how many, and when the oldest was accepted. */
  async backlog(accountId: string): Promise<{ queued: number; oldestAt: number | null }> {
    const row = await this.db
      .selectFrom('public_api_jobs')
      .select((eb) => [eb.fn.countAll<number>().as('queued'), eb.fn.min('created_at').as('oldest')])
      .where(UNFINISHED)
      .where('status', '=', 'queued')
      .where('account_id', '=', accountId)
      .executeTakeFirstOrThrow();
    return { queued: Number(row.queued), oldestAt: row.oldest === null ? null : Number(row.oldest) };
  }

  /** Conversations with jobs waiting, oldest job first. */
  async conversationsWaiting(): Promise<string[]> {
    const rows = await this.db
      .selectFrom('public_api_jobs')
      .select(['conversation_id', (eb) => eb.fn.min('seq').as('first')])
      .where(UNFINISHED)
      .where('status', '=', 'queued')
      .groupBy('conversation_id')
      .orderBy('first')
      .execute();
    return rows.map((r) => r.conversation_id);
  }

  /**
   * Ends a job this worker runs (done jobs end with their last part, see `advance`); false when
   * it is no longer this worker's to end.
   */
  async finish(
    id: string,
    workerId: string,
    outcome: { status: 'done' } | { status: 'failed'; error: string },
  ): Promise<boolean> {
    const result = await this.writeOne(
      this.writes.update(
        'public_api_jobs',
        {
          status: outcome.status,
          error: outcome.status === 'failed' ? outcome.error : null,
          finished_at: this.now(),
          resume_at: null,
        },
        { id, status: 'running', worker_id: workerId },
      ),
    );
    return Number(result.numAffectedRows) === 1;
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

  /**
   * Forgets workers silent since the time (crashed ones never retire); returns how many. A job
   * one of them left running is still taken over: a worker without a row is a worker gone.
   */
  async forgetWorkers(silentBefore: number): Promise<number> {
    const result = await this.db
      .deleteFrom('public_api_workers')
      .where('heartbeat_at', '<', silentBefore)
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
   * Conversations with a job left running by a worker that is gone (no beat since `aliveSince`,
   * or retired): `next` takes each over, from its progress.
   */
  async abandoned(claimant: Claimant): Promise<string[]> {
    const rows = await this.db
      .selectFrom('public_api_jobs')
      .select('conversation_id')
      .distinct()
      .where(UNFINISHED)
      .where('status', '=', 'running')
      .where((eb) =>
        eb.or([
          eb('worker_id', 'is', null),
          eb.and([
            eb('worker_id', '<>', claimant.self),
            eb(
              'worker_id',
              'not in',
              eb.selectFrom('public_api_workers').select('id').where('heartbeat_at', '>=', claimant.aliveSince),
            ),
          ]),
        ]),
      )
      .execute();
    return rows.map((r) => r.conversation_id);
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
    progress: { items: Number(r.done_items), ...(r.resume_at !== null ? { resumeAt: Number(r.resume_at) } : {}) },
    ...(r.traceparent ? { traceparent: r.traceparent } : {}),
  };
}

/** The conversation's oldest unfinished job, compiled once (it is read for every job). */
function headQuery(db: JobDb) {
  return boundQuery(1, (conversationId: string) =>
    db
      .selectFrom('public_api_jobs')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where(UNFINISHED)
      .orderBy('seq')
      .limit(1),
  );
}

async function isAlive(tx: JobDb, workerId: string, aliveSince: number): Promise<boolean> {
  const row = await tx
    .selectFrom('public_api_workers')
    .select('id')
    .where('id', '=', workerId)
    .where('heartbeat_at', '>=', aliveSince)
    .executeTakeFirst();
  return row !== undefined;
}
