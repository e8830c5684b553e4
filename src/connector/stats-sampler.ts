import type { Logger } from 'pino';
import { STATS_KEPT_MS, STATS_PRUNE_EVERY_MS, untilMidMinute } from './bot-stats.js';
import type { BotStore } from './store.js';
import type { Runtime } from './runtime.js';

export interface SamplerDeps {
  botStore: BotStore;
  /** The bots this instance drives now. */
  driven(): Runtime[];
  /** Open conversations the user holds (the bot's admin view shows the same count). */
  countHeldBy(userId: string): Promise<number>;
  log: Logger;
}

/**
 * Once a minute, the open conversations of every bot this instance drives (their driver samples
 * them, so each bot has one sample a minute however many instances there are), and at most
 * hourly, their statistics past keeping are deleted.
 */
export class StatsSampler {
  private timer?: NodeJS.Timeout;
  private sampling: Promise<void> = Promise.resolve();
  private lastPrune = 0;
  private closed = false;

  constructor(private readonly deps: SamplerDeps) {}

  start(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.sampling = this.sampleAll().finally(() => this.start());
    }, untilMidMinute(Date.now()));
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.sampling;
  }

  /** One bot's sample now (its new driver's first, rather than a gap until the next minute's). */
  async sampleOpen(runtime: Runtime): Promise<void> {
    try {
      const open = await this.deps.countHeldBy(runtime.record.userId);
      if (this.closed) return;
      this.deps.botStore.sample(runtime.record.id, 'open', open);
    } catch (err) {
      this.deps.log.warn({ err, botId: runtime.record.id }, 'could not sample the bot’s open conversations');
    }
  }

  private async sampleAll(): Promise<void> {
    const driven = this.deps.driven();
    for (const runtime of driven) {
      if (this.closed) return;
      await this.sampleOpen(runtime);
    }
    const now = Date.now();
    if (now - this.lastPrune < STATS_PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.deps.botStore
      .pruneStats(
        driven.map((r) => r.record.id),
        now - STATS_KEPT_MS,
      )
      .catch((err) => this.deps.log.warn({ err }, 'could not delete old bot statistics'));
  }
}
