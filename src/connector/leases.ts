import { sql, type Kysely, type Migration } from 'kysely';
import type { Logger } from 'pino';
import type { Db, Dialect, MigrationDb, RowGuard } from '../store/index.js';
import { tablesOf } from '../store/index.js';

/**
 * Who drives each bot. Exactly one instance sends a bot's events, runs its probes, combine
 * buffers, inactivity timers and recovery; the others only serve its admin routes. One process
 * alone on its store (SQLite) drives every bot (SoleLeases); instances sharing a PostgreSQL hold
 * time-limited leases in the store (StoreLeases), and a dead holder's bots move on.
 */
export interface BotLeases {
  start(events: LeaseEvents): Promise<void>;
  /**
   * What a change made for the bot carries so that it commits only while this instance still holds
   * the bot's lease of that epoch (else LeaseLost): a holder that was paused past its lease cannot
   * act after another took over. None when nobody else could drive the bot.
   */
  guard(botId: string, epoch: number): RowGuard | undefined;
  /**
   * Whether this instance's own clock vouches that it still holds the bot's lease of that epoch.
   * Asked before every request to the bot: after a pause (a long GC, SIGSTOP, a VM migration) or
   * while the store is out of reach, the answer is no until the lease is held again.
   */
  surelyHeld(botId: string, epoch: number): boolean;
  /** The INSTANCE_ID driving the bot now, or null while nobody does. */
  holderOf(botId: string): string | null;
  /** Bots were created or deleted: share them out now rather than at the next round. */
  botsChanged(): void;
  close(): Promise<void>;
}

export interface LeaseEvents {
  /** This instance drives the bot from now on; `epoch` fences its writes. */
  gained(botId: string, epoch: number): void;
  /** It no longer does (another instance took over, or the bot was deleted). */
  lost(botId: string): void;
}

/** A change refused because the bot it speaks for is driven elsewhere now. */
export class LeaseLost extends Error {
  constructor(botId: string) {
    super(`this instance no longer drives bot ${botId}`);
  }
}

/** One process alone on its store: it drives every bot there is. */
export class SoleLeases implements BotLeases {
  private readonly held = new Set<string>();
  private events?: LeaseEvents;

  constructor(
    private readonly instance: string,
    private readonly bots: () => string[],
  ) {}

  async start(events: LeaseEvents): Promise<void> {
    this.events = events;
    this.botsChanged();
  }

  guard(): undefined {
    return undefined;
  }

  surelyHeld(botId: string): boolean {
    return this.held.has(botId);
  }

  holderOf(botId: string): string | null {
    return this.held.has(botId) ? this.instance : null;
  }

  botsChanged(): void {
    if (!this.events) return;
    const now = new Set(this.bots());
    for (const botId of [...this.held]) {
      if (now.has(botId)) continue;
      this.held.delete(botId);
      this.events.lost(botId);
    }
    for (const botId of now) {
      if (this.held.has(botId)) continue;
      this.held.add(botId);
      this.events.gained(botId, 1);
    }
  }

  async close(): Promise<void> {
    this.events = undefined;
  }
}

export interface StoreLeaseOptions {
  /** INSTANCE_ID, shown as the bot's driver. */
  instance: string;
  /** Unique to this process (two processes may share an INSTANCE_ID by mistake). */
  owner: string;
  log: Logger;
  /** How long a lease lasts unless renewed; a dead holder's bots move on after about this. */
  ttlMs?: number;
  /** How often leases are renewed and shared out. */
  renewMs?: number;
  /** A monotonic clock in ms (performance.now); tests may pass their own. */
  clock?: () => number;
}

type LeaseTables = {
  bot_leases: { bot_id: string; owner: string; holder: string; epoch: number; expires_at: number };
  connector_instances: { owner: string; instance: string; heartbeat_at: number };
};

/** The store's clock, so instances with skewed clocks agree on when a lease ends. */
const NOW_SQL = '(extract(epoch from clock_timestamp()) * 1000)::bigint';
const NOW = sql<number>`${sql.raw(NOW_SQL)}`;

/**
 * Leases in PostgreSQL: a row per bot with its holder, an epoch that grows with every new holder,
 * and an expiry the holder pushes forward every `renewMs`. Each round an instance renews what it
 * holds, takes expired or unheld leases up to its fair share (bots / live instances, rounded up),
 * and gives back one lease at a time beyond it, so bots spread over instances and move off a dead
 * one within `ttlMs` + `renewMs`.
 */
export class StoreLeases implements BotLeases {
  private readonly db: Kysely<LeaseTables>;
  private readonly ttlMs: number;
  private readonly renewMs: number;
  private readonly clock: () => number;
  /**
   * Bots this instance drives: the epoch, and until when (on the monotonic clock) the lease is
   * surely still ours: the moment the statement that took or renewed it was sent, plus the lease,
   * less a margin. The store's expiry is later still (its clock read the statement after it was
   * sent), so when this says no, another instance may be driving already.
   */
  private readonly held = new Map<string, { epoch: number; validUntil: number }>();
  /** Every bot's driver as of the last round. */
  private holders = new Map<string, string>();
  private events?: LeaseEvents;
  private timer?: NodeJS.Timeout;
  private round: Promise<void> = Promise.resolve();
  private again = false;
  private closed = false;

  constructor(
    db: Db,
    private readonly options: StoreLeaseOptions,
  ) {
    this.db = tablesOf<LeaseTables>(db);
    this.ttlMs = options.ttlMs ?? 8_000;
    this.renewMs = options.renewMs ?? 2_000;
    this.clock = options.clock ?? (() => performance.now());
  }

  async start(events: LeaseEvents): Promise<void> {
    this.events = events;
    await this.runRound();
    this.timer = setInterval(() => void this.runRound(), this.renewMs);
    this.timer.unref();
  }

  guard(botId: string, epoch: number): RowGuard {
    return {
      // FOR SHARE: a takeover (an UPDATE of this row) waits until the change has committed. A
      // paused holder cannot keep it waiting: the server ends a transaction idle past
      // idle_in_transaction_session_timeout, a quarter of the lease.
      sql: `select 1 from bot_leases where bot_id = $1 and owner = $2 and epoch = $3 and expires_at > ${NOW_SQL} for share`,
      params: [botId, this.options.owner, epoch],
      refused: () => new LeaseLost(botId),
      stillHeld: () => this.surelyHeld(botId, epoch),
    };
  }

  surelyHeld(botId: string, epoch: number): boolean {
    const lease = this.held.get(botId);
    return lease?.epoch === epoch && this.clock() < lease.validUntil;
  }

  holderOf(botId: string): string | null {
    return this.held.has(botId) ? this.options.instance : (this.holders.get(botId) ?? null);
  }

  botsChanged(): void {
    void this.runRound();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.round;
    // Handed back at once, so another instance need not wait for them to expire.
    const mine = [...this.held.keys()];
    this.held.clear();
    if (mine.length) {
      await this.db
        .updateTable('bot_leases')
        .set({ expires_at: 0 })
        .where('owner', '=', this.options.owner)
        .execute()
        .catch((err) => this.options.log.warn({ err }, 'could not hand back bot leases'));
    }
    await this.db
      .deleteFrom('connector_instances')
      .where('owner', '=', this.options.owner)
      .execute()
      .catch(() => undefined);
  }

  /** One round at a time; a round asked for meanwhile runs right after. */
  private runRound(): Promise<void> {
    if (this.closed) return this.round;
    if (this.again) return this.round;
    this.again = true;
    this.round = this.round.then(async () => {
      this.again = false;
      if (this.closed) return;
      try {
        await this.share();
      } catch (err) {
        this.options.log.error({ err }, 'bot leases: a round failed');
      }
    });
    return this.round;
  }

  /** Until when a lease taken or renewed by a statement sent at `sent` is surely ours. */
  private validFrom(sent: number): number {
    // The margin covers clocks that run at slightly different rates, and the round trip's own skew.
    return sent + this.ttlMs - Math.min(1_000, this.ttlMs / 8);
  }

  private async share(): Promise<void> {
    const { owner, instance } = this.options;
    const ttl = this.ttlMs;
    await sql`
      insert into connector_instances (owner, instance, heartbeat_at) values (${owner}, ${instance}, ${NOW})
      on conflict (owner) do update set heartbeat_at = excluded.heartbeat_at`.execute(this.db);

    // Leases whose local validity ran out (this process was paused, or the store out of reach):
    // what was sent or skipped meanwhile is not vouched for, so each is either taken again under a
    // new epoch (the driver then answers what the bot owes from the store) or is gone.
    const lapsed = [...this.held].filter(([, lease]) => this.clock() >= lease.validUntil);
    for (const [botId, { epoch }] of lapsed) {
      this.held.delete(botId);
      this.events?.lost(botId);
      const sent = this.clock();
      const again = await sql<{ epoch: string }>`
        update bot_leases set epoch = epoch + 1, expires_at = ${NOW} + ${ttl}
        where bot_id = ${botId} and owner = ${owner} and epoch = ${epoch} and expires_at > ${NOW}
        returning epoch`.execute(this.db);
      const renewed = again.rows[0] ? Number(again.rows[0].epoch) : undefined;
      if (renewed === undefined || this.closed) continue;
      this.held.set(botId, { epoch: renewed, validUntil: this.validFrom(sent) });
      this.options.log.warn({ botId, epoch: renewed }, 'bot lease lapsed locally (a pause?): taken again');
      this.events?.gained(botId, renewed);
    }

    const sent = this.clock();
    const renewed = await sql<{ bot_id: string; epoch: string }>`
      update bot_leases set expires_at = ${NOW} + ${ttl} where owner = ${owner} and expires_at > ${NOW} returning bot_id, epoch`.execute(
      this.db,
    );
    const mine = new Map(renewed.rows.map((r) => [r.bot_id, Number(r.epoch)]));
    for (const [botId, lease] of this.held) {
      if (mine.get(botId) === lease.epoch) {
        lease.validUntil = this.validFrom(sent);
        continue;
      }
      this.held.delete(botId);
      this.events?.lost(botId);
    }

    const { rows: bots } = await sql<{ id: string; holder: string | null; live: boolean }>`
      select b.id, l.holder, coalesce(l.expires_at > ${NOW}, false) as live
      from bots b left join bot_leases l on l.bot_id = b.id`.execute(this.db);
    const { rows: counted } = await sql<{ n: string }>`
      select count(*) as n from connector_instances where heartbeat_at > ${NOW} - ${ttl}`.execute(this.db);
    const instances = Math.max(1, Number(counted[0]?.n ?? 1));
    const share = Math.ceil(bots.length / instances);
    this.holders = new Map(bots.filter((b) => b.live && b.holder).map((b) => [b.id, b.holder!]));

    // Leases of deleted bots go; what is left of ours is ours.
    const existing = new Set(bots.map((b) => b.id));
    for (const botId of [...this.held.keys()]) {
      if (existing.has(botId)) continue;
      this.held.delete(botId);
      this.events?.lost(botId);
    }
    await sql`delete from bot_leases where bot_id not in (select id from bots)`.execute(this.db);

    if (this.held.size < share) {
      // Free ones in a random order, so instances starting together do not all reach for the same.
      const free = bots.filter((b) => !b.live).sort(() => Math.random() - 0.5);
      for (const bot of free) {
        if (this.held.size >= share || this.closed) break;
        const sent = this.clock();
        const taken = await sql<{ epoch: string }>`
          insert into bot_leases (bot_id, owner, holder, epoch, expires_at) values (${bot.id}, ${owner}, ${instance}, 1, ${NOW} + ${ttl})
          on conflict (bot_id) do update set owner = excluded.owner, holder = excluded.holder, epoch = bot_leases.epoch + 1, expires_at = excluded.expires_at
          where bot_leases.expires_at <= ${NOW}
          returning epoch`.execute(this.db);
        const epoch = taken.rows[0] ? Number(taken.rows[0].epoch) : undefined;
        if (epoch === undefined) continue;
        this.held.set(bot.id, { epoch, validUntil: this.validFrom(sent) });
        this.holders.set(bot.id, instance);
        this.events?.gained(bot.id, epoch);
      }
    } else if (this.held.size > share && instances > 1) {
      // One at a time: the others take it within a round, and nothing swings back and forth.
      const [botId] = [...this.held.keys()].sort();
      this.held.delete(botId);
      this.events?.lost(botId);
      await sql`update bot_leases set expires_at = 0 where bot_id = ${botId} and owner = ${owner}`.execute(this.db);
    }
  }
}

/** The lease tables; they exist on SQLite too (one migration set), where nothing uses them. */
export function leaseMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '0052_bot_leases': {
      async up(db: MigrationDb) {
        await db.schema
          .createTable('bot_leases')
          .addColumn('bot_id', 'text', (c) => c.primaryKey())
          .addColumn('owner', 'text', (c) => c.notNull())
          .addColumn('holder', 'text', (c) => c.notNull())
          .addColumn('epoch', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('connector_instances')
          .addColumn('owner', 'text', (c) => c.primaryKey())
          .addColumn('instance', 'text', (c) => c.notNull())
          .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
  };
}
