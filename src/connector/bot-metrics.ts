import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { vendorLatencyOf, type CountMetric } from './bot-stats.js';
import type { BotStatus, Exchange, ExchangeOutcome } from './types.js';

/** The statuses a bot can be in: each is a series of `botbridge_bot_status`, 1 for the one it is in. */
const STATUSES: readonly BotStatus[] = ['ONLINE', 'OFFLINE', 'VENDOR_INTERRUPTION', 'SERVICE_INTERRUPTION'];

type Inc = { inc(): void };

/**
 * One bot's series, resolved once for as long as the bot is tracked: a count or an exchange then
 * costs a lookup by bot id and prom-client's own update, not a label lookup per series.
 */
interface BotSeries {
  account: string;
  conversations: Record<'started' | 'escalated' | 'closed', Inc>;
  exchanges: Record<ExchangeOutcome, Inc>;
  /** By code: codes are ours and few, but not a fixed list. */
  errors: Map<string, Inc>;
  latency: { observe(seconds: number): void };
}

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
  private readonly conversations: Counter<'account' | 'bot_id' | 'event'>;
  private readonly exchanges: Counter<'account' | 'bot_id' | 'outcome'>;
  private readonly errors: Counter<'account' | 'bot_id' | 'code'>;
  private readonly latency: Histogram<'account' | 'bot_id'>;
  private readonly series = new Map<string, BotSeries>();

  constructor(
    registry: Registry,
    private readonly accountOf: (botId: string) => string | undefined,
    sources: BotMetricSources,
  ) {
    const registers = [registry];
    const bot = ['account', 'bot_id'] as const;
    this.conversations = new Counter({
      name: 'botbridge_bot_conversations_total',
      help: 'Conversations that reached the bot (started), left it for the escalation skill (escalated) or closed while it held them (closed)',
      labelNames: [...bot, 'event'],
      registers,
    });
    this.exchanges = new Counter({
      name: 'botbridge_bot_exchanges_total',
      help: 'Exchanges with the bot service, by outcome (PROCESSED, PARTIAL, ESCALATED, FAILED)',
      labelNames: [...bot, 'outcome'],
      registers,
    });
    this.errors = new Counter({
      name: 'botbridge_bot_errors_total',
      help: 'Errors by code (GET /admin/v1/error-codes says what each means)',
      labelNames: [...bot, 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'botbridge_bot_vendor_latency_seconds',
      help: 'How long the bot service took to answer an exchange (its last attempt), as the dashboard’s p50/p95',
      labelNames: [...bot],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
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

  /** The bot is no longer tracked: what it counts from now on is not a bot's series (see seriesOf). */
  forget(botId: string): void {
    this.series.delete(botId);
  }

  /** A count the dashboard's rollup takes (BotStore.count). */
  counted(botId: string, metric: CountMetric, key: string): void {
    const series = this.seriesOf(botId);
    if (series === undefined) return;
    if (metric === 'started' || metric === 'escalated' || metric === 'closed') series.conversations[metric].inc();
    else if (metric === 'error') this.errorOf(series, botId, key).inc();
  }

  /** An exchange as the dashboard's rollup takes it: its outcome, its errors, its vendor latency. */
  exchanged(exchange: Exchange): void {
    const series = this.seriesOf(exchange.botId);
    if (series === undefined) return;
    series.exchanges[exchange.outcome].inc();
    for (const error of exchange.errors) this.errorOf(series, exchange.botId, error.code).inc();
    const latency = vendorLatencyOf(exchange);
    if (latency !== undefined) series.latency.observe(latency / 1000);
  }

  /** Undefined for a bot this instance does not track (any more): it has no series. */
  private seriesOf(botId: string): BotSeries | undefined {
    const known = this.series.get(botId);
    if (known !== undefined) return known;
    const account = this.accountOf(botId);
    if (account === undefined) return undefined;
    const conversation = (event: string) => this.conversations.labels(account, botId, event);
    const outcome = (outcome: ExchangeOutcome) => this.exchanges.labels(account, botId, outcome);
    const series: BotSeries = {
      account,
      conversations: {
        started: conversation('started'),
        escalated: conversation('escalated'),
        closed: conversation('closed'),
      },
      exchanges: {
        PROCESSED: outcome('PROCESSED'),
        PARTIAL: outcome('PARTIAL'),
        ESCALATED: outcome('ESCALATED'),
        FAILED: outcome('FAILED'),
      },
      errors: new Map(),
      latency: this.latency.labels(account, botId),
    };
    this.series.set(botId, series);
    return series;
  }

  private errorOf(series: BotSeries, botId: string, code: string): Inc {
    let child = series.errors.get(code);
    if (child === undefined) {
      child = this.errors.labels(series.account, botId, code);
      series.errors.set(code, child);
    }
    return child;
  }
}
