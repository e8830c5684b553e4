import { sql, type Kysely } from 'kysely';
import type { BotStatus, Exchange, ExchangeOutcome } from './types.js';

/**
 * Per-bot statistics for the operator console: a rollup of counts per bot and minute, kept in
 * the store (table `bot_stats`, migration 0051), so it survives restarts and sums across the
 * instances of one PostgreSQL (each bot is driven by one of them at a time, and every instance
 * adds its increments to the same rows). The exchange log could answer the same questions, but
 * it keeps only the last 5,000 exchanges of a bot and reading a week of it would read every
 * record; a minute's rollup is a handful of rows however busy the bot was.
 */

export type StatsTables = {
  bot_stats: {
    bot_id: string;
    /** The start of the minute the row's counts fall in, epoch ms. */
    minute: number;
    metric: string;
    /** What the count is of within its metric (a reason, an outcome, a code, a latency bound); '' when nothing. */
    key: string;
    count: number;
  };
};

type StatRow = StatsTables['bot_stats'];

/** Counts: summed over time. `open` is a gauge: the bot's open conversations when last sampled. */
export type CountMetric = 'started' | 'escalated' | 'closed' | 'exchange' | 'error' | 'latency';
export type GaugeMetric = 'open';

export const MINUTE_MS = 60_000;
/** A week's window and a day to spare; older rows are deleted. */
export const STATS_KEPT_MS = 8 * 24 * 3_600_000;
/** How often the rows past STATS_KEPT_MS are looked for: they only grow by a minute's worth a minute. */
export const STATS_PRUNE_EVERY_MS = 3_600_000;

/**
 * Upper bounds (ms) of the vendor latency histogram, as in Prometheus: a minute keeps one row per
 * bucket used instead of one per exchange, and bucket counts sum across minutes and instances,
 * which raw percentiles never could. Past the last bound is OVERFLOW.
 */
export const LATENCY_BOUNDS_MS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000] as const;
export const OVERFLOW = '+inf';

export const OUTCOMES: readonly ExchangeOutcome[] = ['PROCESSED', 'PARTIAL', 'ESCALATED', 'FAILED'];

/** What the console draws: a window of equal display buckets ending with the one now falls in. */
export const WINDOWS = {
  hour: { buckets: 60, bucketMs: MINUTE_MS },
  day: { buckets: 96, bucketMs: 15 * MINUTE_MS },
  week: { buckets: 168, bucketMs: 60 * MINUTE_MS },
} as const;
export type StatsWindow = keyof typeof WINDOWS;

export function minuteOf(at: number): number {
  return Math.floor(at / MINUTE_MS) * MINUTE_MS;
}

export function latencyBucket(ms: number): string {
  const bound = LATENCY_BOUNDS_MS.find((b) => ms <= b);
  return bound === undefined ? OVERFLOW : String(bound);
}

/**
 * How long until the middle of the next minute: the open-conversations gauge is sampled there,
 * so timer drift never puts two samples in one minute and none in the next.
 */
export function untilMidMinute(now: number): number {
  const next = minuteOf(now) + MINUTE_MS / 2;
  return next > now ? next - now : next + MINUTE_MS - now;
}

/**
 * The vendor's time for an exchange: its answer's duration (all attempts) when it answered, the
 * whole exchange when the call failed without an answer (then the call was nearly all of it),
 * nothing when no call was made. Not the exchange's own duration: that includes the DELAYs and
 * functions of carrying the answer out, which say nothing about the bot service.
 */
export function vendorLatencyOf(exchange: Exchange): number | undefined {
  if (exchange.response) return exchange.response.durationMs;
  return exchange.request ? exchange.durationMs : undefined;
}

/**
 * Increments recorded and not written yet, summed per row: a batch of any number of exchanges
 * becomes one upsert of a few rows per bot and minute.
 */
export class StatTally {
  private counts = new Map<string, StatRow>();
  private samples = new Map<string, StatRow>();

  get empty(): boolean {
    return this.counts.size === 0 && this.samples.size === 0;
  }

  count(botId: string, at: number, metric: CountMetric, key = '', by = 1): void {
    const minute = minuteOf(at);
    const id = rowId(botId, minute, metric, key);
    const row = this.counts.get(id);
    if (row) row.count += by;
    else this.counts.set(id, { bot_id: botId, minute, metric, key, count: by });
  }

  /** A gauge's sample; a later one of the same minute replaces it. */
  sample(botId: string, at: number, metric: GaugeMetric, value: number): void {
    const minute = minuteOf(at);
    this.samples.set(rowId(botId, minute, metric, ''), { bot_id: botId, minute, metric, key: '', count: value });
  }

  /** An exchange's outcome, its error codes and its vendor latency, in the minute it started. */
  exchange(exchange: Exchange): void {
    const { botId, startedAt } = exchange;
    this.count(botId, startedAt, 'exchange', exchange.outcome);
    for (const error of exchange.errors) this.count(botId, startedAt, 'error', error.code);
    const latency = vendorLatencyOf(exchange);
    if (latency !== undefined) this.count(botId, startedAt, 'latency', latencyBucket(latency));
  }

  /**
   * Everything tallied so far, and a fresh tally. Rows come sorted by key: PostgreSQL locks the
   * rows an upsert touches in the order given, and two batches in flight at once taking them in
   * one order never wait for each other in a cycle (a deadlock).
   */
  take(): { counts: StatRow[]; samples: StatRow[] } {
    const sorted = (rows: Map<string, StatRow>) =>
      [...rows.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, row]) => row);
    const taken = { counts: sorted(this.counts), samples: sorted(this.samples) };
    this.counts = new Map();
    this.samples = new Map();
    return taken;
  }
}

function rowId(botId: string, minute: number, metric: string, key: string): string {
  return `${botId}\u0000${String(minute).padStart(15, '0')}\u0000${metric}\u0000${key}`;
}

/** Rows per upsert statement: a handful of statement texts, each well within the parameter limits. */
const ROWS_PER_UPSERT = 50;

/** Adds counts to their rows, and sets gauges' rows to their sample; part of the caller's unit of work. */
export async function writeStats(
  db: Kysely<StatsTables>,
  rows: { counts: StatRow[]; samples: StatRow[] },
): Promise<void> {
  for (let i = 0; i < rows.counts.length; i += ROWS_PER_UPSERT)
    await db
      .insertInto('bot_stats')
      .values(rows.counts.slice(i, i + ROWS_PER_UPSERT))
      .onConflict((oc) =>
        oc
          .columns(['bot_id', 'minute', 'metric', 'key'])
          .doUpdateSet((eb) => ({ count: eb('bot_stats.count', '+', eb.ref('excluded.count')) })),
      )
      .execute();
  for (let i = 0; i < rows.samples.length; i += ROWS_PER_UPSERT)
    await db
      .insertInto('bot_stats')
      .values(rows.samples.slice(i, i + ROWS_PER_UPSERT))
      .onConflict((oc) =>
        oc.columns(['bot_id', 'minute', 'metric', 'key']).doUpdateSet((eb) => ({ count: eb.ref('excluded.count') })),
      )
      .execute();
}

/** Deletes the bots' rows from before `before`; the primary key leads with the bot, so this reads only those. */
export async function pruneStats(db: Kysely<StatsTables>, botIds: string[], before: number): Promise<void> {
  if (!botIds.length) return;
  await db.deleteFrom('bot_stats').where('bot_id', 'in', botIds).where('minute', '<', before).execute();
}

// ---- reading ----

/** The display buckets of a window at `now`; `to` (exclusive) ends the bucket `now` falls in. */
export interface Frame {
  window: StatsWindow;
  from: number;
  to: number;
  bucketMs: number;
  buckets: number;
}

export function frameOf(window: StatsWindow, now: number): Frame {
  const { buckets, bucketMs } = WINDOWS[window];
  const to = (Math.floor(now / bucketMs) + 1) * bucketMs;
  return { window, from: to - buckets * bucketMs, to, bucketMs, buckets };
}

export interface StatsTotals {
  started: number;
  escalated: number;
  closed: number;
  exchanges: number;
  errors: number;
}

export interface BotStats {
  window: StatsWindow;
  from: number;
  to: number;
  bucketMs: number;
  totals: StatsTotals;
  escalationsByReason: Record<string, number>;
  exchangesByOutcome: Record<string, number>;
  errorsByCode: Record<string, number>;
  latencyMs: { p50: number | null; p95: number | null };
  series: {
    t: number[];
    started: number[];
    escalated: number[];
    closed: number[];
    exchanges: number[];
    errors: number[];
    latencyP50: (number | null)[];
    latencyP95: (number | null)[];
    open: (number | null)[];
  };
  /** Open conversations the bot holds now: also the last bucket of `series.open`. */
  openNow: number;
}

/** What the rollup alone says of a bot (BotStats without the count taken now). */
export type RollupStats = Omit<BotStats, 'openNow'>;

export interface AccountBotStats {
  botId: string;
  totals: StatsTotals;
  series: { t: number[]; exchanges: number[]; errors: number[] };
}

/** The account overview: every bot with its sparklines. */
export interface AccountStats {
  window: StatsWindow;
  from: number;
  to: number;
  bucketMs: number;
  bots: (AccountBotStats & { name: string; status: BotStatus })[];
}

/** One aggregated row: a metric's key in a display bucket. */
export interface BucketRow {
  metric: string;
  key: string;
  bucket: number;
  n: number;
}

/**
 * The display bucket of a row, in SQL: rows are grouped by it there, so a week is 168 groups per
 * metric and key, not 10,080 minutes. Cast because SQLite divides the reals better-sqlite3 binds
 * numbers as without truncating; PostgreSQL's bigint division already does.
 */
function bucketOf(frame: Frame) {
  return sql<number>`cast((${sql.ref('minute')} - ${frame.from}) / ${frame.bucketMs} as integer)`;
}

/**
 * One bot's rows of the window, summed per metric, key and display bucket; the gauge keeps its
 * highest sample of the bucket (a day's 15-minute bucket shows the peak load in it, which is what
 * a capacity question needs; an hour's minute holds one sample anyway).
 */
export async function readBotStats(db: Kysely<StatsTables>, botId: string, frame: Frame): Promise<RollupStats> {
  const rows = await db
    .selectFrom('bot_stats')
    .select([
      'metric',
      'key',
      bucketOf(frame).as('bucket'),
      sql<number>`case when ${sql.ref('metric')} = ${sql.lit('open')} then max(${sql.ref('count')}) else sum(${sql.ref('count')}) end`.as(
        'n',
      ),
    ])
    .where('bot_id', '=', botId)
    .where('minute', '>=', frame.from)
    .where('minute', '<', frame.to)
    // By the output name: PostgreSQL does not see two spellings of one parameterised expression as the same.
    .groupBy(['metric', 'key', sql`bucket`])
    .execute();
  return botStatsOf(frame, rows.map(numeric));
}

/** Every listed bot's counts of the window in one query (the account overview's sparklines). */
export async function readAccountStats(
  db: Kysely<StatsTables>,
  botIds: string[],
  frame: Frame,
): Promise<AccountBotStats[]> {
  const rows = botIds.length
    ? await db
        .selectFrom('bot_stats')
        .select(['bot_id', 'metric', bucketOf(frame).as('bucket'), sql<number>`sum(${sql.ref('count')})`.as('n')])
        .where('bot_id', 'in', botIds)
        .where('metric', 'in', ['started', 'escalated', 'closed', 'exchange', 'error'])
        .where('minute', '>=', frame.from)
        .where('minute', '<', frame.to)
        .groupBy(['bot_id', 'metric', sql`bucket`])
        .execute()
    : [];
  const byBot = new Map<string, BucketRow[]>(botIds.map((id) => [id, []]));
  for (const row of rows) byBot.get(row.bot_id)?.push(numeric({ ...row, key: '' }));
  return botIds.map((botId) => {
    const stats = botStatsOf(frame, byBot.get(botId) ?? []);
    const { t, exchanges, errors } = stats.series;
    return { botId, totals: stats.totals, series: { t, exchanges, errors } };
  });
}

/** Counts may arrive as strings or bigints from a driver; they are small integers. */
function numeric<R extends { bucket: unknown; n: unknown }>(row: R): R & { bucket: number; n: number } {
  return { ...row, bucket: Number(row.bucket), n: Number(row.n) };
}

/** The console's shape from the aggregated rows (as the queries group them: one per metric, key and bucket). */
export function botStatsOf(frame: Frame, rows: BucketRow[]): RollupStats {
  const zeros = () => new Array<number>(frame.buckets).fill(0);
  const series = {
    t: Array.from({ length: frame.buckets }, (_, i) => frame.from + i * frame.bucketMs),
    started: zeros(),
    escalated: zeros(),
    closed: zeros(),
    exchanges: zeros(),
    errors: zeros(),
    latencyP50: new Array<number | null>(frame.buckets).fill(null),
    latencyP95: new Array<number | null>(frame.buckets).fill(null),
    open: new Array<number | null>(frame.buckets).fill(null),
  };
  const escalationsByReason: Record<string, number> = {};
  const exchangesByOutcome: Record<string, number> = Object.fromEntries(OUTCOMES.map((o) => [o, 0]));
  const errorsByCode: Record<string, number> = {};
  const latency = new Map<string, number>();
  const latencyPerBucket = Array.from({ length: frame.buckets }, () => new Map<string, number>());
  for (const { metric, key, bucket, n } of rows) {
    if (!(bucket >= 0 && bucket < frame.buckets)) continue;
    switch (metric) {
      case 'started':
      case 'closed':
        series[metric][bucket] += n;
        break;
      case 'escalated':
        series.escalated[bucket] += n;
        escalationsByReason[key] = (escalationsByReason[key] ?? 0) + n;
        break;
      case 'exchange':
        series.exchanges[bucket] += n;
        exchangesByOutcome[key] = (exchangesByOutcome[key] ?? 0) + n;
        break;
      case 'error':
        series.errors[bucket] += n;
        errorsByCode[key] = (errorsByCode[key] ?? 0) + n;
        break;
      case 'latency':
        latency.set(key, (latency.get(key) ?? 0) + n);
        latencyPerBucket[bucket].set(key, n);
        break;
      case 'open':
        series.open[bucket] = n;
        break;
      default:
        break;
    }
  }
  latencyPerBucket.forEach((histogram, bucket) => {
    series.latencyP50[bucket] = percentile(histogram, 0.5);
    series.latencyP95[bucket] = percentile(histogram, 0.95);
  });
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return {
    window: frame.window,
    from: frame.from,
    to: frame.to,
    bucketMs: frame.bucketMs,
    totals: {
      started: sum(series.started),
      escalated: sum(series.escalated),
      closed: sum(series.closed),
      exchanges: sum(series.exchanges),
      errors: sum(series.errors),
    },
    escalationsByReason,
    exchangesByOutcome,
    errorsByCode,
    latencyMs: { p50: percentile(latency, 0.5), p95: percentile(latency, 0.95) },
    series,
  };
}

/**
 * The q-quantile of a latency histogram (counts by bucket bound), as the upper bound of the
 * bucket it falls in: "95% answered within 250 ms" is what the histogram knows; interpolating
 * within a bucket 2.5 times as wide as the one below would invent precision. A quantile past the
 * last bound is reported as the last bound, as Prometheus' histogram_quantile does (then read it
 * as "at least"). Null without samples.
 */
export function percentile(histogram: ReadonlyMap<string, number>, q: number): number | null {
  const total = [...histogram.values()].reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const bound of LATENCY_BOUNDS_MS) {
    seen += histogram.get(String(bound)) ?? 0;
    if (seen >= rank) return bound;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
}

/**
 * The rollup's figures with the open conversations counted now, which the current bucket shows
 * too: its samples are up to a minute old, and a dashboard whose "open now" and chart disagree
 * is believed by neither.
 */
export function withOpenNow(stats: RollupStats, openNow: number): BotStats {
  const open = [...stats.series.open];
  if (open.length) open[open.length - 1] = openNow;
  return { ...stats, series: { ...stats.series, open }, openNow };
}

/** A bot's counts since a moment: what the alert rules on rates look at (alerts/rules.ts). */
export interface RecentCounts {
  started: number;
  escalated: number;
  exchanges: number;
  /** Exchanges that did not go through cleanly: partial, escalated on an error, or failed. */
  failedExchanges: number;
}

/** The bots' counts in the minutes from `fromMinute` on, in one query. */
export async function readRecentCounts(
  db: Kysely<StatsTables>,
  botIds: string[],
  fromMinute: number,
): Promise<Map<string, RecentCounts>> {
  const counts = new Map<string, RecentCounts>(
    botIds.map((id) => [id, { started: 0, escalated: 0, exchanges: 0, failedExchanges: 0 }]),
  );
  if (!botIds.length) return counts;
  const rows = await db
    .selectFrom('bot_stats')
    .select(['bot_id', 'metric', 'key', sql<number>`sum(${sql.ref('count')})`.as('n')])
    .where('bot_id', 'in', botIds)
    .where('metric', 'in', ['started', 'escalated', 'exchange'])
    .where('minute', '>=', fromMinute)
    .groupBy(['bot_id', 'metric', 'key'])
    .execute();
  for (const row of rows) {
    const bot = counts.get(row.bot_id);
    if (!bot) continue;
    const n = Number(row.n);
    if (row.metric === 'started') bot.started += n;
    else if (row.metric === 'escalated') bot.escalated += n;
    else {
      bot.exchanges += n;
      if (row.key !== 'PROCESSED') bot.failedExchanges += n;
    }
  }
  return counts;
}
