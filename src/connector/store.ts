import { randomUUID } from 'node:crypto';
import type { Migration, Kysely } from 'kysely';
import type { Store, Dialect } from '../store/index.js';
import { json } from '../store/index.js';
import type { BotSettings, BotStatus } from './bot-config.js';

/** The connector's tables: bot configurations and the exchange log. */
export function connectorMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '0050_connector_bots': {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      async up(db: Kysely<any>) {
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
        await db.schema.createIndex('bot_exchanges_bot').on('bot_exchanges').columns(['bot_id', 'started_at']).execute();
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

export interface LastError {
  code: string;
  message: string;
  at: number;
}

export type ExchangeOutcome = 'PROCESSED' | 'PARTIAL' | 'ESCALATED' | 'FAILED';

/** One round trip with the bot service, as the logs route and the console's tester show it. */
export interface Exchange {
  id: string;
  botId: string;
  conversationId: string;
  eventType: string;
  startedAt: number;
  durationMs: number;
  attempts: number;
  request: { method: string; url: string; body: unknown } | null;
  response: { status: number; body: unknown; durationMs: number } | null;
  parsed: { items: unknown[]; action: unknown; intents: unknown[] } | null;
  errors: { code: string; message: string; path?: string }[];
  /** What the connector did with the answer: delivered, functions invoked, escalation steps. */
  effects: string[];
  outcome: ExchangeOutcome;
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
/** Rows per statement when a batch of exchanges is written, and when old ones are pruned. */
const EXCHANGES_PER_INSERT = 20;
const EXCHANGES_PER_DELETE = 100;

export class BotStore {
  private readonly db: Kysely<Tables>;
  private writesSincePrune = 0;
  /** Exchanges recorded and not written yet, the batch that will write them, and the last batch. */
  private queued: Tables['bot_exchanges'][] = [];
  private scheduled?: Promise<void>;
  private written: Promise<void> = Promise.resolve();

  constructor(store: Store) {
    // The connector's tables are not in the platform's schema type; same connection, own view.
    this.db = store.db as unknown as Kysely<Tables>;
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

  async update(id: string, patch: Partial<Pick<BotRecord, 'settings' | 'clientSecretSealed' | 'status' | 'desired' | 'lastError'>>): Promise<void> {
    await this.db
      .updateTable('bots')
      .set({
        ...(patch.settings ? { settings: JSON.stringify(patch.settings) } : {}),
        ...(patch.clientSecretSealed ? { client_secret_sealed: patch.clientSecretSealed } : {}),
        ...(patch.status ? { status: patch.status } : {}),
        ...(patch.desired ? { desired: patch.desired } : {}),
        ...(patch.lastError !== undefined ? { last_error: patch.lastError ? JSON.stringify(patch.lastError) : null } : {}),
        updated_at: Date.now(),
      })
      .where('id', '=', id)
      .execute();
  }

  async remove(id: string): Promise<void> {
    await this.drain();
    await this.db.deleteFrom('bot_exchanges').where('bot_id', '=', id).execute();
    await this.db.deleteFrom('bots').where('id', '=', id).execute();
  }

  async all(): Promise<BotRecord[]> {
    const rows = await this.db.selectFrom('bots').selectAll().orderBy('created_at').execute();
    return rows.map(toRecord);
  }

  /**
   * Logs an exchange. Exchanges finished in the same turn of the event loop are written together
   * (one statement), so the log costs no write of its own per exchange; the promise settles once
   * the batch is written. Reads and deletes wait for what is queued, so they see every exchange
   * recorded before them.
   */
  recordExchange(exchange: Exchange): Promise<void> {
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
    if (!this.scheduled) {
      // One batch at a time, each taking what was queued when it starts.
      const batch = this.written.then(() => new Promise<void>((resolve) => setImmediate(resolve))).then(() => {
        this.scheduled = undefined;
        return this.flush();
      });
      this.scheduled = batch;
      this.written = batch.catch(() => undefined);
    }
    return this.scheduled;
  }

  /** Settles once everything recorded so far is written (or failed to be). */
  drain(): Promise<void> {
    return this.written;
  }

  private async flush(): Promise<void> {
    const rows = this.queued;
    this.queued = [];
    for (let i = 0; i < rows.length; i += EXCHANGES_PER_INSERT) {
      // Small statements with turns of the event loop between them: a big batch of records must
      // not hold up the requests waiting behind it.
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      await this.db.insertInto('bot_exchanges').values(rows.slice(i, i + EXCHANGES_PER_INSERT)).execute();
    }
    this.writesSincePrune += rows.length;
    if (this.writesSincePrune >= 500) {
      this.writesSincePrune = 0;
      for (const botId of new Set(rows.map((r) => r.bot_id))) await this.prune(botId);
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
      const slice = this.db.selectFrom('bot_exchanges').select('id').where('bot_id', '=', botId).where('started_at', '<=', cutoff.started_at).limit(EXCHANGES_PER_DELETE);
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
    settings: json<BotSettings>(r.settings, {} as BotSettings),
    clientSecretSealed: r.client_secret_sealed,
    status: r.status as BotStatus,
    desired: r.desired as 'STARTED' | 'STOPPED',
    lastError: json<LastError | null>(r.last_error, null),
  };
}

export const newExchangeId = () => randomUUID();

