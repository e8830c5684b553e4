import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { HttpError } from '../http/errors.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { Job, JobStatus, JobStore } from './jobs.js';

/** Carries out one job against the platform; aborting the signal asks it to stop early. */
export type JobExecutor = (job: Job, signal: AbortSignal) => Promise<void>;

export const INTERRUPTED_BY_CRASH = 'interrupted: the server running the job stopped before it finished';
const INTERRUPTED_BY_SHUTDOWN = 'interrupted: the server shut down before the job finished';

export interface WorkerOptions {
  /**
   * Other processes may work on the same store (PostgreSQL replicas): a running job is only
   * theirs to give up once their heartbeat is stale. Without that, every job found running at
   * start was left by a process that is gone.
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
 * and, as a safety net, picks up what stopped instances left behind.
 */
export class JobWorker {
  readonly id = randomUUID();
  private readonly mutex = new KeyedMutex();
  /** Conversations with a drain queued but not yet started: a later nudge is already covered. */
  private readonly scheduled = new Set<string>();
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

  /** A job of the conversation was stored (or may now go ahead). */
  nudge(conversationId: string): void {
    if (this.stop.signal.aborted || this.scheduled.has(conversationId)) return;
    this.scheduled.add(conversationId);
    const drain = this.mutex
      .run(conversationId, async () => {
        this.scheduled.delete(conversationId);
        await this.drain(conversationId);
      })
      .catch((err) => this.log.error({ err, conversationId }, 'public api job queue failed'));
    this.draining.add(drain);
    void drain.finally(() => this.draining.delete(drain));
  }

  /** Picks up what earlier processes left: their running jobs fail, waiting ones get their turn. */
  async start(): Promise<void> {
    await this.jobs.heartbeat(this.id);
    // Alone on the store, nobody else can be running anything: whatever runs was abandoned.
    await this.sweep(this.options.sharedStore ? this.staleBefore() : Number.MAX_SAFE_INTEGER);
    this.timer = setInterval(() => {
      this.beating = this.beat();
    }, this.heartbeatMs);
    this.timer.unref();
  }

  /** Stops taking work, cuts pauses short and waits for the jobs in hand to settle. */
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
      await this.sweep(this.staleBefore());
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
    const pruned = await this.jobs.prune(now - (this.options.retentionMs ?? 7 * 86_400_000));
    if (pruned) this.log.info({ pruned }, 'public api jobs past retention removed');
  }

  /** A worker silent for three beats is gone. */
  private staleBefore(): number {
    return Date.now() - 3 * this.heartbeatMs;
  }

  private async sweep(aliveSince: number): Promise<void> {
    if (this.stop.signal.aborted) return;
    const freed = await this.jobs.failAbandoned(INTERRUPTED_BY_CRASH, { self: this.id, aliveSince });
    if (freed.length) this.log.warn({ conversations: freed.length }, 'public api jobs of a stopped server marked failed');
    for (const conversationId of [...freed, ...(await this.jobs.conversationsWaiting())]) this.nudge(conversationId);
  }

  private async drain(conversationId: string): Promise<void> {
    while (!this.stop.signal.aborted) {
      const step = await this.jobs.next(conversationId, this.id);
      if (step.kind === 'idle' || step.kind === 'busy') return;
      if (step.kind === 'expired') this.report(step.job, 'expired');
      else await this.run(step.job);
    }
  }

  private async run(job: Job): Promise<void> {
    try {
      await this.execute(job, this.stop.signal);
      await this.jobs.finish(job.id, { status: 'done' });
      this.report(job, 'done');
    } catch (error) {
      const reason = this.reason(job, error);
      await this.jobs.finish(job.id, { status: 'failed', error: reason });
      this.report(job, 'failed', reason);
    }
  }

  private reason(job: Job, error: unknown): string {
    if (this.stop.signal.aborted) return INTERRUPTED_BY_SHUTDOWN;
    if (error instanceof HttpError) return error.message;
    this.log.error({ err: error, jobId: job.id, action: job.action }, 'public api job failed unexpectedly');
    return 'internal error';
  }

  private report(job: Job, status: JobStatus, error?: string): void {
    this.log.info({ jobId: job.id, action: job.action, conversationId: job.conversationId, status, error }, 'public api job finished');
    this.options.finished?.(job, status);
  }
}
