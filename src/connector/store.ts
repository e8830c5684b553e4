import { sql, type Migration, type Kysely } from 'kysely';
import type { Dialect, MigrationDb, Store } from '../store/index.js';
import { json, tablesOf, WriteStatements } from '../store/index.js';
import { applySettings } from './bot-config.js';
import {
  StatTally,
  frameOf,
  pruneStats,
  readAccountStats,
  readRecentCounts,
  type RecentCounts,
  readBotStats,
  writeStats,
  type AccountBotStats,
  type RollupStats,
  type Frame,
  type CountMetric,
  type GaugeMetric,
  type StatsTables,
  type StatsWindow,
} from './bot-stats.js';
import type { BotSettings, BotStatus, Exchange, LastError } from './types.js';

/** The connector's tables: bot configurations, the exchange log, the statistics rollup. */
export function connectorMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0050_connector_bots': {
      async up(db: MigrationDb) {
        await db.schema
          .createTable('bots')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('user_id', 'integer', (c) => c.notNull())
          .addColumn('settings', 'text', (c) => c.notNull())
          .addColumn('client_secret_sealed', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          /** What the operator asked for: a STARTED bot is brought back after a restart. */
          .addColumn('desired', 'text', (c) => c.notNull())
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('bot_exchanges')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('bot_id', 'text', (c) => c.notNull())
          .addColumn('conversation_id', 'text', (c) => c.notNull())
          .addColumn('event_type', 'text', (c) => c.notNull())
          .addColumn('started_at', 'bigint', (c) => c.notNull())
          .addColumn('duration_ms', 'integer', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('outcome', 'text', (c) => c.notNull())
          .addColumn('record', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('bot_exchanges_bot')
          .on('bot_exchanges')
          .columns(['bot_id', 'started_at'])
          .execute();
        await db.schema
          .createIndex('bot_exchanges_conversation')
          .on('bot_exchanges')
          .columns(['bot_id', 'conversation_id', 'started_at'])
          .execute();
      },
    },
    '0051_bot_stats': {
      /**
       * Counts per bot, minute, metric and key (bot-stats.ts). Every read is one bot's (or one
       * account's bots') minutes in a time range, which the primary key's order serves; on SQLite
       * the rows are kept in that order (WITHOUT ROWID) rather than beside a second index of it.
       */
      async up(db: MigrationDb) {
        await db.schema
          .createTable('bot_stats')
          .addColumn('bot_id', 'text', (c) => c.notNull())
          .addColumn('minute', 'bigint', (c) => c.notNull())
          .addColumn('metric', 'text', (c) => c.notNull())
          .addColumn('key', 'text', (c) => c.notNull())
          .addColumn('count', 'integer', (c) => c.notNull())
          .addPrimaryKeyConstraint('bot_stats_pk', ['bot_id', 'minute', 'metric', 'key'])
          .$call((t) => (dialect === 'sqlite' ? t.modifyEnd(sql`without rowid`) : t))
          .execute();
      },
    },
    '0053_exchange_log_without_conversation_index': {
      /**
       * The per-conversation index put every exchange's entry (and every pruned exchange's
       * removal) on a random page of its own: most of the exchange log's pages written, which
       * were a quarter of a message's server CPU on SQLite. A conversation's exchanges are read
       * from its bot's newest ones instead (BotStore.exchanges), which the pruning bounds.
       */
      async up(db: MigrationDb) {
        await db.schema.dropIndex('bot_exchanges_conversation').ifExists().execute();
      },
    },
    '0054_bots_refer_to_apps': {
      /**
       * A bot refers to its app installation by client id and its calls carry the app's tokens;
       * the copies of app secrets bots kept (sealed) go, so none is left at rest to drift from
       * its app or outlive a rotation.
       */
      async up(db: MigrationDb) {
        await db.updateTable('bots').set({ client_secret_sealed: '' }).execute();
      },
    },
  };
}

export interface BotRecord {
  id: string;
  accountId: string;
  userId: string;
  settings: BotSettings;
  status: BotStatus;
  desired: 'STARTED' | 'STOPPED';
  lastError: LastError | null;
}

type Tables = StatsTables & {
  bots: {
    id: string;
    account_id: string;
    user_id: number;
    settings: string;
    client_secret_sealed: string;
    status: string;
    desired: string;
    last_error: string | null;
    created_at: number;
    updated_at: number;
  };
  bot_exchanges: {
    id: string;
    bot_id: string;
    conversation_id: string;
    event_type: string;
    started_at: number;
    duration_ms: number;
    attempts: number;
    outcome: string;
    record: string;
  };
};

/** Keep this many exchanges per bot; older ones are pruned as new ones arrive. */
const EXCHANGES_KEPT_PER_BOT = 5000;
/** Rows per statement when exchanges are written, and when old ones are pruned. */
const EXCHANGES_PER_INSERT = 20;
const EXCHANGES_PER_DELETE = 100;
/** How long a recorded exchange may wait to be written with the ones after it. */
const EXCHANGE_WRITE_DELAY_MS = 20;

export class BotStore {
  private readonly db: Kysely<Tables>;
  private readonly statsDb: Kysely<StatsTables>;
  /** Exchanges written per bot since its log was last pruned. */
  private readonly sincePrune = new Map<string, number>();
  /** Exchanges recorded and not written yet, and when they will be. */
  private queued: Tables['bot_exchanges'][] = [];
  /** Statistics recorded and not written yet: they ride with the exchanges' next write. */
  private readonly tally = new StatTally();
  private timer?: NodeJS.Timeout;
  /** Every write so far: reads wait for it, so they see every exchange recorded before them. */
  private written: Promise<unknown> = Promise.resolve();
  private pruning: Promise<unknown> = Promise.resolve();
  private readonly writes: WriteStatements;

  constructor(
    private readonly store: Store,
    /**
     * A write of the log failed: the exchanges in it, and the statistics written with them, are
     * lost; the conversations are not.
     */
    private readonly onError: (error: unknown, exchangesLost: number) => void,
    /** Hears every count and exchange the rollup takes, as they are taken (the Prometheus series). */
    private readonly observer?: {
      counted(botId: string, metric: CountMetric, key: string): void;
      exchanged(exchange: Exchange): void;
    },
  ) {
    this.writes = new WriteStatements(store.dialect);
    this.db = tablesOf<Tables>(store.db);
    this.statsDb = tablesOf<StatsTables>(store.db);
  }

  async insert(bot: BotRecord): Promise<void> {
    const now = Date.now();
    await this.db
      .insertInto('bots')
      .values({
        id: bot.id,
        account_id: bot.accountId,
        user_id: Number(bot.userId),
        settings: JSON.stringify(bot.settings),
        // A bot refers to its app installation: no secret is kept with it (migration 0054).
        client_secret_sealed: '',
        status: bot.status,
        desired: bot.desired,
        last_error: bot.lastError ? JSON.stringify(bot.lastError) : null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  async update(
    id: string,
    patch: Partial<Pick<BotRecord, 'settings' | 'status' | 'desired' | 'lastError'>>,
  ): Promise<void> {
    await this.db
      .updateTable('bots')
      .set({
        ...(patch.settings ? { settings: JSON.stringify(patch.settings) } : {}),
        ...(patch.status ? { status: patch.status } : {}),
        ...(patch.desired ? { desired: patch.desired } : {}),
        ...(patch.lastError !== undefined
          ? { last_error: patch.lastError ? JSON.stringify(patch.lastError) : null }
          : {}),
        updated_at: Date.now(),
      })
      .where('id', '=', id)
      .execute();
  }

  async remove(id: string): Promise<void> {
    await this.drain();
    this.sincePrune.delete(id);
    await this.db.deleteFrom('bot_exchanges').where('bot_id', '=', id).execute();
    await this.db.deleteFrom('bot_stats').where('bot_id', '=', id).execute();
    await this.db.deleteFrom('bots').where('id', '=', id).execute();
  }

  async find(id: string): Promise<BotRecord | undefined> {
    const row = await this.db.selectFrom('bots').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async all(): Promise<BotRecord[]> {
    const rows = await this.db.selectFrom('bots').selectAll().orderBy('created_at').execute();
    return rows.map(toRecord);
  }

  /**
   * Logs an exchange. The log is a diagnostic record, not the conversation: exchanges recorded
   * within a few milliseconds are written together, in one unit of the store's group commit
   * (store/group-commit.ts), so at any rate the log adds neither a commit of its own per
   * exchange nor a wait to the conversation's next exchange. Reads drain what is queued first.
   */
  recordExchange(exchange: Exchange): void {
    this.queued.push({
      id: exchange.id,
      bot_id: exchange.botId,
      conversation_id: exchange.conversationId,
      event_type: exchange.eventType,
      started_at: exchange.startedAt,
      duration_ms: Math.round(exchange.durationMs),
      attempts: exchange.attempts,
      outcome: exchange.outcome,
      record: JSON.stringify(exchange),
    });
    this.tally.exchange(exchange);
    this.observer?.exchanged(exchange);
    this.timer ??= setTimeout(() => this.flush(), EXCHANGE_WRITE_DELAY_MS);
  }

  /**
   * Counts a conversation's arrival, escalation or close for the bot's statistics. Written with
   * the next batch of the exchange log (one is due within milliseconds whenever the bot is
   * busy), so counting costs no write of its own.
   */
  count(botId: string, metric: CountMetric, key = '', at = Date.now()): void {
    this.tally.count(botId, at, metric, key);
    this.observer?.counted(botId, metric, key);
    this.timer ??= setTimeout(() => this.flush(), EXCHANGE_WRITE_DELAY_MS);
  }

  /** A gauge's sample for the bot's statistics (the last of a minute is kept), written like count(). */
  sample(botId: string, metric: GaugeMetric, value: number, at = Date.now()): void {
    this.tally.sample(botId, at, metric, value);
    this.timer ??= setTimeout(() => this.flush(), EXCHANGE_WRITE_DELAY_MS);
  }

  /** One bot's statistics over the window, including everything recorded before the call. */
  async stats(botId: string, window: StatsWindow, now = Date.now()): Promise<RollupStats> {
    await this.drain();
    return readBotStats(this.statsDb, botId, frameOf(window, now));
  }

  /** The bots' counts over the window, in one query. */
  async accountStats(
    botIds: string[],
    window: StatsWindow,
    now = Date.now(),
  ): Promise<{ frame: Frame; bots: AccountBotStats[] }> {
    await this.drain();
    const frame = frameOf(window, now);
    return { frame, bots: await readAccountStats(this.statsDb, botIds, frame) };
  }

  /** The bots' counts in the minutes from `fromMinute` on, including everything recorded before the call. */
  async recentCounts(botIds: string[], fromMinute: number): Promise<Map<string, RecentCounts>> {
    await this.drain();
    return readRecentCounts(this.statsDb, botIds, fromMinute);
  }

  /** Deletes the bots' statistics from before `before`. */
  async pruneStats(botIds: string[], before: number): Promise<void> {
    await pruneStats(this.statsDb, botIds, before);
  }

  /** Settles once everything recorded so far is written (or failed to be). */
  async drain(): Promise<void> {
    this.flush();
    await Promise.all([this.written, this.pruning]);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.queued;
    if (!rows.length && this.tally.empty) return;
    this.queued = [];
    const stats = this.tally.take();
    // One unit of work, so a batch's log and its statistics are written together or not at all:
    // on SQLite it joins the group commit like any other, on PostgreSQL it is one transaction per
    // batch (not per exchange).
    const write = this.store.transact(async (tx) => {
      for (let i = 0; i < rows.length; i += EXCHANGES_PER_INSERT)
        await tx.executeQuery(this.writes.insert('bot_exchanges', rows.slice(i, i + EXCHANGES_PER_INSERT)));
      await writeStats(tablesOf<StatsTables>(tx), stats);
    });
    // On PostgreSQL two writes may be in flight at once and the later may commit first.
    this.written = Promise.all([this.written, write.catch((error: unknown) => this.onError(error, rows.length))]);
    for (const row of rows) this.sincePrune.set(row.bot_id, (this.sincePrune.get(row.bot_id) ?? 0) + 1);
    for (const [botId, since] of this.sincePrune) {
      if (since < 500) continue;
      this.sincePrune.set(botId, 0);
      this.pruning = Promise.all([this.pruning, this.written])
        .then(() => this.prune(botId))
        .catch((error: unknown) => this.onError(error, 0));
    }
  }

  /**
   * Newest first. One conversation's are found among its bot's newest (no index of their own,
   * see migration 0053): a scan of at most the exchanges kept per bot, which only the console's
   * log of one conversation asks for.
   */
  async exchanges(botId: string, options: { conversationId?: string; limit: number }): Promise<Exchange[]> {
    await this.drain();
    let query = this.db.selectFrom('bot_exchanges').select('record').where('bot_id', '=', botId);
    if (options.conversationId) query = query.where('conversation_id', '=', options.conversationId);
    const rows = await query.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(options.limit).execute();
    return rows.map((r) => json<Exchange>(r.record, {} as Exchange));
  }

  private async prune(botId: string): Promise<void> {
    const cutoff = await this.db
      .selectFrom('bot_exchanges')
      .select('started_at')
      .where('bot_id', '=', botId)
      .orderBy('started_at', 'desc')
      .offset(EXCHANGES_KEPT_PER_BOT)
      .limit(1)
      .executeTakeFirst();
    if (!cutoff) return;
    // In slices, with turns of the event loop between them, for the same reason as the inserts.
    for (;;) {
      const slice = this.db
        .selectFrom('bot_exchanges')
        .select('id')
        .where('bot_id', '=', botId)
        .where('started_at', '<=', cutoff.started_at)
        .limit(EXCHANGES_PER_DELETE);
      const result = await this.db.deleteFrom('bot_exchanges').where('id', 'in', slice).executeTakeFirst();
      if (Number(result.numDeletedRows) < EXCHANGES_PER_DELETE) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

function toRecord(r: Tables['bots']): BotRecord {
  return {
    id: r.id,
    accountId: r.account_id,
    userId: String(r.user_id),
    // Normalised, so settings added since the bot was stored read as their defaults.
    settings: applySettings({}, json<BotSettings>(r.settings, {} as BotSettings)),
    status: r.status as BotStatus,
    desired: r.desired as 'STARTED' | 'STOPPED',
    lastError: json<LastError | null>(r.last_error, null),
  };
}
