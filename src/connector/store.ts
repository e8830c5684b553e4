import { randomUUID } from 'node:crypto';
import type { Migration, Kysely } from 'kysely';
import type { Dialect, MigrationDb, Store } from '../store/index.js';
import { json, tablesOf, WriteStatements } from '../store/index.js';
import { applySettings } from './bot-config.js';
import type { BotSettings, BotStatus, Exchange, LastError } from './types.js';

/** The connector's tables: bot configurations and the exchange log. */
export function connectorMigrations(_dialect: Dialect): Record<string, Migration> {
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
  };
}

export interface BotRecord {
  id: string;
  accountId: string;
  userId: string;
  settings: BotSettings;
  clientSecretSealed: string;
  status: BotStatus;
  desired: 'STARTED' | 'STOPPED';
  lastError: LastError | null;
}

type Tables = {
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
  /** Exchanges written per bot since its log was last pruned. */
  private readonly sincePrune = new Map<string, number>();
  /** Exchanges recorded and not written yet, and when they will be. */
  private queued: Tables['bot_exchanges'][] = [];
  private timer?: NodeJS.Timeout;
  /** Every write so far: reads wait for it, so they see every exchange recorded before them. */
  private written: Promise<unknown> = Promise.resolve();
  private pruning: Promise<unknown> = Promise.resolve();
  private readonly writes: WriteStatements;

  constructor(
    private readonly store: Store,
    /** A write of the log failed: the exchanges in it are lost, the conversations are not. */
    private readonly onError: (error: unknown, exchangesLost: number) => void,
  ) {
    this.writes = new WriteStatements(store.dialect);
    this.db = tablesOf<Tables>(store.db);
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
        client_secret_sealed: bot.clientSecretSealed,
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
    patch: Partial<Pick<BotRecord, 'settings' | 'clientSecretSealed' | 'status' | 'desired' | 'lastError'>>,
  ): Promise<void> {
    await this.db
      .updateTable('bots')
      .set({
        ...(patch.settings ? { settings: JSON.stringify(patch.settings) } : {}),
        ...(patch.clientSecretSealed ? { client_secret_sealed: patch.clientSecretSealed } : {}),
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
    this.timer ??= setTimeout(() => this.flush(), EXCHANGE_WRITE_DELAY_MS);
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
    if (!rows.length) return;
    this.queued = [];
    const write =
      rows.length <= EXCHANGES_PER_INSERT
        ? this.store.writeOne(this.writes.insert('bot_exchanges', rows))
        : this.store.transact(async (tx) => {
            for (let i = 0; i < rows.length; i += EXCHANGES_PER_INSERT)
              await tx.executeQuery(this.writes.insert('bot_exchanges', rows.slice(i, i + EXCHANGES_PER_INSERT)));
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

  /** Newest first. */
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
    clientSecretSealed: r.client_secret_sealed,
    status: r.status as BotStatus,
    desired: r.desired as 'STARTED' | 'STOPPED',
    lastError: json<LastError | null>(r.last_error, null),
  };
}

/**
 * A time-ordered UUID (version 7): exchanges are written in time order, so their primary key
 * grows at its right edge instead of touching a random index page per insert.
 */
export function newExchangeId(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
}
