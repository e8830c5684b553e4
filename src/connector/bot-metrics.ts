import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { childrenOf } from '../ops/metrics.js';
import { vendorLatencyOf, type CountMetric } from './bot-stats.js';
import type { BotStatus, Exchange } from './types.js';

/** The statuses a bot can be in: each is a series of `botbridge_bot_status`, 1 for the one it is in. */
const STATUSES: readonly BotStatus[] = ['ONLINE', 'OFFLINE', 'VENDOR_INTERRUPTION', 'SERVICE_INTERRUPTION'];

/** What the metrics read at a scrape. */
export interface BotMetricSources {
  /** Every bot this instance knows, its user, its status and whether (at which lease epoch) it drives it. */
  bots(): Array<{ id: string; accountId: string; userId: string; status: BotStatus; epoch?: number }>;
  /** Open conversations each of these bot users holds now, read at once (one holding none may be left out). */
  openConversations(userIds: readonly string[]): Promise<Map<string, number>>;
}

/**
 * Prometheus series for what a bot's dashboard shows, labelled by account and bot id (bounded:
 * no conversation ids, and codes and outcomes are ours). Fed from the same calls the dashboard's
 * rollup is (BotStore's counts and exchanges), so the two say the same; each instance counts
 * what it did, and Prometheus sums the instances.
 */
export class BotMetrics {
  private readonly conversations: (account: string, bot: string, event: string) => { inc(): void };
  private readonly exchanges: (account: string, bot: string, outcome: string) => { inc(): void };
  private readonly errors: (account: string, bot: string, code: string) => { inc(): void };
  private readonly latency: (account: string, bot: string) => { observe(seconds: number): void };

  constructor(
    registry: Registry,
    private readonly accountOf: (botId: string) => string | undefined,
    sources: BotMetricSources,
  ) {
    const registers = [registry];
    const bot = ['account', 'bot_id'] as const;
    this.conversations = childrenOf(
      new Counter({
        name: 'botbridge_bot_conversations_total',
        help: 'Conversations that reached the bot (started), left it for the escalation skill (escalated) or closed while it held them (closed)',
        labelNames: [...bot, 'event'],
        registers,
      }),
    );
    this.exchanges = childrenOf(
      new Counter({
        name: 'botbridge_bot_exchanges_total',
        help: 'Exchanges with the bot service, by outcome (PROCESSED, PARTIAL, ESCALATED, FAILED)',
        labelNames: [...bot, 'outcome'],
        registers,
      }),
    );
    this.errors = childrenOf(
      new Counter({
        name: 'botbridge_bot_errors_total',
        help: 'Errors by code (GET /admin/v1/error-codes says what each means)',
        labelNames: [...bot, 'code'],
        registers,
      }),
    );
    this.latency = childrenOf(
      new Histogram({
        name: 'botbridge_bot_vendor_latency_seconds',
        help: 'How long the bot service took to answer an exchange (its last attempt), as the dashboard’s p50/p95',
        labelNames: [...bot],
        buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers,
      }),
    );
    new Gauge({
      name: 'botbridge_bot_status',
      help: 'The bot’s status: 1 for the one it is in, 0 for the others',
      labelNames: [...bot, 'status'],
      registers,
      collect() {
        this.reset();
        for (const b of sources.bots())
          for (const status of STATUSES)
            this.set({ account: b.accountId, bot_id: b.id, status }, b.status === status ? 1 : 0);
      },
    });
    new Gauge({
      name: 'botbridge_bot_open_conversations',
      help: 'Open conversations the bot holds',
      labelNames: [...bot],
      registers,
      async collect() {
        this.reset();
        const bots = sources.bots();
        const open = await sources.openConversations(bots.map((b) => b.userId));
        for (const b of bots) this.set({ account: b.accountId, bot_id: b.id }, open.get(b.userId) ?? 0);
      },
    });
    new Gauge({
      name: 'botbridge_bot_lease_epoch',
      help: 'The lease epoch under which this instance drives the bot (only the bots it drives: one instance per bot)',
      labelNames: [...bot],
      registers,
      collect() {
        this.reset();
        for (const b of sources.bots())
          if (b.epoch !== undefined) this.set({ account: b.accountId, bot_id: b.id }, b.epoch);
      },
    });
  }

  /** A count the dashboard's rollup takes (BotStore.count). */
  counted(botId: string, metric: CountMetric, key: string): void {
    const account = this.accountOf(botId);
    if (account === undefined) return;
    if (metric === 'started' || metric === 'escalated' || metric === 'closed')
      this.conversations(account, botId, metric).inc();
    else if (metric === 'error') this.errors(account, botId, key).inc();
  }

  /** An exchange as the dashboard's rollup takes it: its outcome, its errors, its vendor latency. */
  exchanged(exchange: Exchange): void {
    const account = this.accountOf(exchange.botId);
    if (account === undefined) return;
    this.exchanges(account, exchange.botId, exchange.outcome).inc();
    for (const error of exchange.errors) this.errors(account, exchange.botId, error.code).inc();
    const latency = vendorLatencyOf(exchange);
    if (latency !== undefined) this.latency(account, exchange.botId).observe(latency / 1000);
  }
}
