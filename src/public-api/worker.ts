import type { Logger } from 'pino';
import { HttpError } from '../http/errors.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { Job, JobStatus, JobStore } from './jobs.js';

/** Carries out one job against the platform; aborting the signal asks it to stop early. */
export type JobExecutor = (job: Job, signal: AbortSignal) => Promise<void>;

export const INTERRUPTED_BY_RESTART = 'interrupted: the server stopped while the job was running';
const INTERRUPTED_BY_SHUTDOWN = 'interrupted: the server shut down before the job finished';

/**
 * Runs the durable jobs of each conversation one at a time, in the order they were accepted;
 * conversations never wait for each other. It is told about new work (a job was stored) rather
 * than polling, and reads the next job from the store, so the store's order is the only order.
 */
export class JobWorker {
  private readonly mutex = new KeyedMutex();
  /** Conversations with a drain queued but not yet started: a later nudge is already covered. */
  private readonly scheduled = new Set<string>();
  private readonly draining = new Set<Promise<void>>();
  private readonly stop = new AbortController();

  constructor(
    private readonly jobs: JobStore,
    private readonly execute: JobExecutor,
    private readonly log: Logger,
    private readonly finished: (job: Job, status: JobStatus) => void = () => {},
  ) {}

  /** A job of the conversation was stored. */
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

  /** Picks up what a previous process left: running jobs fail, waiting ones get their turn. */
  async resume(): Promise<void> {
    const interrupted = await this.jobs.failInterrupted(INTERRUPTED_BY_RESTART);
    if (interrupted) this.log.warn({ interrupted }, 'public api jobs interrupted by a restart marked failed');
    for (const conversationId of await this.jobs.conversationsWaiting()) this.nudge(conversationId);
  }

  /** Stops taking work, cuts pauses short and waits for the jobs in hand to settle. */
  async close(): Promise<void> {
    this.stop.abort();
    while (this.draining.size) await Promise.allSettled([...this.draining]);
  }

  private async drain(conversationId: string): Promise<void> {
    while (!this.stop.signal.aborted) {
      const job = await this.jobs.nextQueued(conversationId);
      if (!job) return;
      await this.runOne(job);
    }
  }

  private async runOne(job: Job): Promise<void> {
    if (!(await this.jobs.start(job.id))) {
      // Its ttl ran out while earlier jobs held the conversation (or another instance took it).
      if (await this.jobs.expire(job.id)) this.report(job, 'expired');
      return;
    }
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
    this.finished(job, status);
  }
}
