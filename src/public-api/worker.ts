import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DomainError } from '../errors.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { RowGuard } from '../store/index.js';
import {
  JobLost,
  newJobId,
  type Claimant,
  type Job,
  type JobProgress,
  type JobStatus,
  type JobStore,
  type NewJob,
} from './jobs.js';

/**
 * The guard of the conversation change that carries a job from one point of its progress to
 * the next ('done': its last part), so the change and the job's record commit together.
 */
export type RecordProgress = (from: JobProgress, to: JobProgress | 'done') => RowGuard;

/**
 * Carries out one job against the platform from `job.progress` on, every part committed with
 * `record` and the last one with 'done'; aborting the signal asks it to stop early (what it
 * committed stays committed, the rest is for whoever takes the job over).
 */
export type JobExecutor = (job: Job, signal: AbortSignal, record: RecordProgress) => Promise<void>;

export interface WorkerOptions {
  /**
   * Other processes may work on the same store (PostgreSQL replicas): a running job is only
   * theirs to give up once their heartbeat is stale. Without that (one process owns a SQLite
   * store), every job running on another worker was left by a process that is gone.
   */
  sharedStore: boolean;
  heartbeatMs?: number;
  /** How long a finished job stays readable (GET jobs/{id}) before it is forgotten. */
  retentionMs?: number;
  /** A job ended (for metrics). */
  finished?: (job: Job, status: JobStatus) => void;
}

/**
 * Runs the durable jobs of each conversation one at a time, in the order they were accepted;
 * conversations never wait for each other. It is told about new work (a job was stored) rather
 * than polling for it, and takes each next job from the store, so the store's order is the only
 * order, whichever instance accepted the job. A slow heartbeat keeps this worker known alive
 * and picks up what stopped instances left behind: jobs they accepted, and jobs they were
 * running, which are finished from their committed progress (exactly once: see `progressGuard`).
 */
export class JobWorker {
  readonly id = randomUUID();
  private readonly mutex = new KeyedMutex();
  /** Conversations with a drain queued but not yet started: a later nudge is already covered. */
  private readonly scheduled = new Set<string>();
  /**
   * Jobs being accepted, or started for this worker as they were and not yet run: whichever
   * comes first in the conversation's turn, their own run or a drain that finds them at the head,
   * runs them. Known before the store answers, so that no drain can take one for a job this
   * worker left.
   */
  private readonly handed = new Set<string>();
  private readonly draining = new Set<Promise<void>>();
  private readonly stop = new AbortController();
  private readonly heartbeatMs: number;
  private timer?: NodeJS.Timeout;
  private beating: Promise<void> = Promise.resolve();
  private prunedAt = 0;

  constructor(
    private readonly jobs: JobStore,
    private readonly execute: JobExecutor,
    private readonly log: Logger,
    private readonly options: WorkerOptions,
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
  }

  /**
   * Stores a job and sees it run. A job the store started for this worker at once (nothing of
   * its conversation was unfinished) is run as it is, without a trip to the store to take it;
   * one queued behind others gets its turn through the conversation's drain.
   */
  async accept(input: NewJob): Promise<Job> {
    const id = newJobId();
    this.handed.add(id);
    let job: Job;
    try {
      job = await this.jobs.add({ ...input, id }, this.id);
    } catch (error) {
      this.handed.delete(id);
      throw error;
    }
    // Stopping, a started one stays running with nothing done: the next start takes it over.
    if (job.status !== 'running' || this.stop.signal.aborted) {
      this.handed.delete(id);
      this.nudge(job.conversationId);
    } else
      this.inTurn(job.conversationId, async () => {
        if (this.handed.delete(id)) await this.run(job);
      });
    return job;
  }

  /** A job of the conversation was stored (or may now go ahead). */
  private nudge(conversationId: string): void {
    if (this.stop.signal.aborted || this.scheduled.has(conversationId)) return;
    this.scheduled.add(conversationId);
    this.inTurn(conversationId, async () => {
      this.scheduled.delete(conversationId);
      await this.drain(conversationId);
    });
  }

  /** Runs `work` in the conversation's turn: after what this worker is doing there, alone. */
  private inTurn(conversationId: string, work: () => Promise<void>): void {
    const turn = this.mutex
      .run(conversationId, work)
      .catch((err) => this.log.error({ err, conversationId }, 'public api job queue failed'));
    this.draining.add(turn);
    void turn.finally(() => this.draining.delete(turn));
  }

  /** Picks up what earlier processes left: their running jobs are resumed, waiting ones get their turn. */
  async start(): Promise<void> {
    await this.jobs.heartbeat(this.id);
    await this.sweep();
    this.timer = setInterval(() => {
      this.beating = this.beat();
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /**
   * Stops taking work, cuts pauses short and waits for the jobs in hand to settle. A job cut
   * short stays running with its progress; retired, this worker counts as gone at once, so
   * another instance (or the next start) finishes it.
   */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.stop.abort();
    await this.beating;
    while (this.draining.size) await Promise.allSettled([...this.draining]);
    await this.jobs.retire(this.id).catch((err) => this.log.warn({ err }, 'public api worker could not retire'));
  }

  private async beat(): Promise<void> {
    try {
      await this.jobs.heartbeat(this.id);
      await this.sweep();
      await this.prune();
    } catch (err) {
      this.log.warn({ err }, 'public api worker heartbeat failed');
    }
  }

  /** Finished jobs are kept a week by default; checked at most hourly, it is not urgent. */
  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.prunedAt < 3_600_000) return;
    this.prunedAt = now;
    const before = now - (this.options.retentionMs ?? 7 * 86_400_000);
    const pruned = await this.jobs.prune(before);
    if (pruned) this.log.info({ pruned }, 'public api jobs past retention removed');
    const workers = await this.jobs.forgetWorkers(before);
    if (workers) this.log.info({ workers }, 'public api workers silent past retention forgotten');
  }

  /**
   * Who counts as alive: on a shared store, a worker silent for three beats is gone; on a store
   * this process owns alone, every other worker is.
   */
  private claimant(): Claimant {
    return {
      self: this.id,
      aliveSince: this.options.sharedStore ? Date.now() - 3 * this.heartbeatMs : Number.MAX_SAFE_INTEGER,
    };
  }

  private async sweep(): Promise<void> {
    if (this.stop.signal.aborted) return;
    const abandoned = await this.jobs.abandoned(this.claimant());
    for (const conversationId of [...abandoned, ...(await this.jobs.conversationsWaiting())])
      this.nudge(conversationId);
  }

  private async drain(conversationId: string): Promise<void> {
    while (!this.stop.signal.aborted) {
      const step = await this.jobs.next(conversationId, this.claimant());
      if (step.kind === 'idle' || step.kind === 'busy') return;
      if (step.kind === 'expired') {
        this.report(step.job, 'expired');
        continue;
      }
      if (step.kind === 'resumed' && this.handed.delete(step.job.id)) {
        // Started for this worker as it was accepted, its own turn not come yet: run here, in order.
        await this.run(step.job);
        continue;
      }
      if (step.kind === 'resumed') {
        const { job, from } = step;
        this.log.warn(
          { jobId: job.id, conversationId, from, progress: job.progress },
          'public api job of a stopped worker taken over',
        );
      }
      await this.run(step.job);
    }
  }

  private async run(job: Job): Promise<void> {
    try {
      await this.execute(job, this.stop.signal, (from, to) => this.jobs.progressGuard(job.id, this.id, from, to));
      this.report(job, 'done');
    } catch (error) {
      if (error instanceof JobLost) {
        // Nothing of the part that found out was written; the job is its new worker's.
        this.log.warn(
          { jobId: job.id, conversationId: job.conversationId },
          'public api job taken over by another worker',
        );
        return;
      }
      if (this.stop.signal.aborted) {
        this.log.info(
          { jobId: job.id, conversationId: job.conversationId },
          'public api job left for another worker at shutdown',
        );
        return;
      }
      const reason = this.reason(job, error);
      if (await this.jobs.finish(job.id, this.id, { status: 'failed', error: reason }))
        this.report(job, 'failed', reason);
    }
  }

  private reason(job: Job, error: unknown): string {
    if (error instanceof DomainError) return error.message;
    this.log.error({ err: error, jobId: job.id, action: job.action }, 'public api job failed unexpectedly');
    return 'internal error';
  }

  private report(job: Job, status: JobStatus, error?: string): void {
    this.log.info(
      { jobId: job.id, action: job.action, conversationId: job.conversationId, status, error },
      'public api job finished',
    );
    this.options.finished?.(job, status);
  }
}
