import type { Conversations } from '../platform/conversations.js';
import type { Directory } from '../platform/directory.js';
import { withOpenNow, type AccountStats, type BotStats, type RecentCounts, type StatsWindow } from './bot-stats.js';
import type { BotRegistry } from './registry.js';
import type { BotStore } from './store.js';
import type { Exchange } from './types.js';

export interface BotReadsDeps {
  bots: BotRegistry;
  botStore: BotStore;
  conversations: Conversations;
  directory: Directory;
}

/**
 * What the console and the alert rules read of the bots: their exchange logs, a conversation's
 * exchanges, statistics and recent counts. Reads only: the connector's lifecycle and the message
 * path do not pass through here.
 */
export class BotReads {
  constructor(private readonly deps: BotReadsDeps) {}

  async logs(accountId: string, id: string, options: { conversationId?: string; limit?: number }): Promise<Exchange[]> {
    await this.deps.bots.runtime(accountId, id);
    return this.deps.botStore.exchanges(id, { conversationId: options.conversationId, limit: options.limit ?? 100 });
  }

  /**
   * The exchanges of every bot of the account that held the conversation or spoke in it, newest
   * first: what the Conversations page shows beside a transcript. Bots deleted since have none.
   */
  async conversationLogs(accountId: string, conversationId: string, limit = 100): Promise<Exchange[]> {
    const users = await this.deps.conversations.botUsers(accountId, conversationId);
    const bots = this.deps.bots.ofAccount(accountId).filter((r) => users.has(r.record.userId));
    const logs = await Promise.all(
      bots.map((r) => this.deps.botStore.exchanges(r.record.id, { conversationId, limit })),
    );
    return logs
      .flat()
      .sort((a, b) => b.startedAt - a.startedAt)
      .slice(0, limit);
  }

  /** The bot's statistics over the window (bot-stats.ts). */
  async botStats(accountId: string, id: string, window: StatsWindow): Promise<BotStats> {
    const runtime = await this.deps.bots.runtime(accountId, id);
    const [stats, open] = await Promise.all([
      this.deps.botStore.stats(id, window),
      this.deps.conversations.countHeldBy(runtime.record.userId),
    ]);
    return withOpenNow(stats, open);
  }

  /** Every bot of the account with its counts over the window, read together. */
  async accountStats(accountId: string, window: StatsWindow): Promise<AccountStats> {
    await this.deps.directory.requireAccount(accountId);
    const mine = this.deps.bots.ofAccount(accountId).map((r) => r.record);
    const { frame, bots } = await this.deps.botStore.accountStats(
      mine.map((r) => r.id),
      window,
    );
    return {
      window,
      from: frame.from,
      to: frame.to,
      bucketMs: frame.bucketMs,
      bots: bots.map((stats, i) => ({ ...stats, name: mine[i].settings.name, status: mine[i].status })),
    };
  }

  /** The account's bots by id and name. */
  botNames(accountId: string): Array<{ id: string; name: string }> {
    return this.deps.bots.ofAccount(accountId).map((r) => ({ id: r.record.id, name: r.record.settings.name }));
  }

  /** The account's bots with their counts in the minutes from `fromMinute` on. */
  async recentCounts(
    accountId: string,
    fromMinute: number,
  ): Promise<Array<{ botId: string; name: string; counts: RecentCounts }>> {
    const mine = this.botNames(accountId);
    const counts = await this.deps.botStore.recentCounts(
      mine.map((b) => b.id),
      fromMinute,
    );
    return mine.map((b) => ({ botId: b.id, name: b.name, counts: counts.get(b.id)! }));
  }
}
