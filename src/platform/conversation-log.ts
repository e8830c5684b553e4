import type { Store, Db, RowGuard } from '../store/index.js';
import { WriteStatements, requireStillHeld } from '../store/index.js';
import { notFound } from '../errors.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { EventBus, PlatformEvent } from './bus.js';
import { EVENT_COLUMN_TYPES, toEventRow } from './conversation-rows.js';
import {
  announcedOf,
  changeAnnouncements,
  changedColumns,
  committed,
  loadChanges,
  type Announced,
  type Answered,
  type Change,
} from './conversation-changes.js';
import { eventsAfter, type ConversationLoader, type Held } from './conversation-reads.js';
import type { Conversation, ConversationEvent } from './types.js';

/**
 * The message path: how one change to a conversation is committed and announced. Every change
 * to one conversation runs alone (in-process mutex, plus a row lock or a version check on
 * PostgreSQL), commits its log entries and state together, and only then is announced on the
 * bus, in sequence order, after whatever of the log the bus has not announced yet (other
 * instances' changes, see ConversationReplication).
 */

/** What else a change commits, in its own transaction: all of it is written, or none. */
export interface ActOptions {
  answered?: Answered;
  /**
   * A row that must still exist when the change commits (the lease of the bot it speaks for, the
   * job it carries out), else guard.refused() is thrown; its `then` commits with the change.
   */
  guard?: RowGuard;
}

/** How a change is made: ActOptions, and whether its work reads nothing but the conversation (`pure`). */
export interface ChangeOptions extends ActOptions {
  /**
   * The work reads nothing from the store (no routing): on PostgreSQL the change can then be
   * written as one statement, without a transaction around it.
   */
  pure?: boolean;
}

/** The work of one change: the next state and the entries, from the state before it. */
export type ChangeWork = (current: Conversation, tx: Db) => Promise<Change>;

/** Conversations held at most (the oldest go first): one per open conversation a busy instance serves. */
const HELD_MAX = 50_000;

/** A change written onto a version the row is no longer at: another writer came first. */
class MovedOn extends Error {}

/** A change as committed: the state before and after, its entries, and the row's version now. */
interface Committed {
  before: Conversation;
  next: Conversation;
  written: ConversationEvent[];
  version: number;
}

export class ConversationLog {
  private readonly mutex = new KeyedMutex();
  private readonly writes: WriteStatements;
  /** PostgreSQL serves several writers at once (a pool, other instances): rows counted are locked first. SQLite has one writer. */
  readonly locksRows: boolean;

  /**
   * Per conversation, what this instance's bus last announced of it: the bus announces every
   * conversation's entries in sequence order, its own changes and other instances' alike, and
   * fills any gap from the store first. Forgotten once the conversation closes.
   */
  private readonly announced = new Map<string, Announced>();

  /**
   * Per open conversation, the state this instance last committed (or read) and the row's version:
   * the next change starts from it instead of reading the row again, and writes only onto that
   * version. On SQLite this process is the one writer, so it is the row; on PostgreSQL another
   * instance may have changed the row since, and the version check sends the change back to read
   * it. The store stays the truth: this only saves reading it back.
   */
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly loader: ConversationLoader,
    /** Counts the entries written, by type. */
    private readonly written: (type: string) => void,
  ) {
    this.writes = new WriteStatements(store.dialect);
    this.locksRows = store.dialect === 'postgres';
  }

  /** The conversation as this instance last committed it, when it holds it. */
  heldState(conversationId: string): Conversation | undefined {
    return this.held.get(conversationId)?.conversation;
  }

  /** A conversation this instance has just created, held from the start (version 0). */
  hold(conversation: Conversation, version: number): void {
    const id = conversation.conversationId;
    this.held.delete(id);
    if (conversation.status === 'CLOSED') return;
    if (this.held.size >= HELD_MAX) this.held.delete(this.held.keys().next().value!);
    this.held.set(id, { conversation, version });
  }

  /**
   * Commits one change and announces it: `work` runs on the state held (or read under the row's
   * lock), its entries are numbered and written with the state, and the bus hears of them after
   * the commit.
   */
  change(
    accountId: string,
    conversationId: string,
    work: ChangeWork,
    options: ChangeOptions = {},
  ): Promise<{ next: Conversation; written: ConversationEvent[] }> {
    return this.mutex.run(conversationId, async () => {
      const held = this.held.get(conversationId);
      const { before, next, written, version } =
        (held?.conversation.accountId === accountId ? await this.commitOnto(held, work, options) : undefined) ??
        (await this.store.transact(async (tx) => {
          await this.enforceFirst(tx, options);
          const read = await this.loader.loadHeld(tx, conversationId, true);
          if (!read || read.conversation.accountId !== accountId)
            throw notFound(`unknown conversation '${conversationId}'`);
          return this.write(tx, read, work, options);
        }));
      // Another instance's changes this bus has not announced yet come first.
      const known = this.announced.get(conversationId);
      if (known && before.lastSequence > known.sequence)
        await this.announceEntries(before, known.sequence, before.lastSequence);
      for (const event of written) this.written(event.type);
      this.publish(changeAnnouncements(before, next, written));
      this.remember(next);
      this.hold(next, version);
      return { next, written };
    });
  }

  // ---- what replication between instances needs ----

  /** Runs `work` alone for the conversation, in order with its changes. */
  exclusive<T>(conversationId: string, work: () => Promise<T>): Promise<T> {
    return this.mutex.run(conversationId, work);
  }

  /** What this bus last announced of the conversation. */
  announcedOf(conversationId: string): Announced | undefined {
    return this.announced.get(conversationId);
  }

  /** The conversations this bus has announced and not seen close. */
  announcedIds(): string[] {
    return [...this.announced.keys()];
  }

  /** Another writer changed the conversation: what is held of it is no longer the row. */
  release(conversationId: string): void {
    this.held.delete(conversationId);
  }

  /** This bus keeps no order for the conversation any more, nor its state (see ConversationReplication.ignore). */
  forget(conversationId: string): void {
    this.announced.delete(conversationId);
    this.held.delete(conversationId);
  }

  /** Nothing held can be trusted to be the row (this instance may have missed changes). */
  releaseAll(): void {
    this.held.clear();
  }

  /** Announces the log entries (after, upTo] the bus has not announced yet, read from the store. */
  async announceEntries(conversation: Conversation, after: number, upTo: number): Promise<void> {
    if (upTo <= after) return;
    for (const event of await eventsAfter(this.store.db, conversation.conversationId, after)) {
      if (event.sequence > upTo) break;
      this.bus.publish({ type: 'conversation.event', conversation, event });
    }
  }

  /** The conversation as the bus now knows it announced. */
  remember(conversation: Conversation): void {
    if (conversation.status === 'CLOSED') this.announced.delete(conversation.conversationId);
    else this.announced.set(conversation.conversationId, announcedOf(conversation));
  }

  publish(announcements: readonly PlatformEvent[]): void {
    for (const announcement of announcements) this.bus.publish(announcement);
  }

  // ---- committing ----

  /**
   * The change made on the state held, without reading the row; undefined when the row has moved
   * on since (another writer came first) or, on PostgreSQL, when the change needs a transaction:
   * the caller then reads the row under its lock.
   */
  private async commitOnto(held: Held, work: ChangeWork, options: ChangeOptions): Promise<Committed | undefined> {
    if (this.store.dialect === 'sqlite') {
      return this.store
        .transact(async (tx) => {
          await this.enforceFirst(tx, options);
          return this.write(tx, held, work, options);
        })
        .catch((error: unknown) => {
          if (error instanceof MovedOn) return undefined;
          throw error;
        });
    }
    if (!options.pure) return undefined;
    const before = held.conversation;
    const change = await work(before, this.store.db);
    requireStillHeld(options.guard);
    const now = Date.now();
    const { next, written, inbound } = committed(before, change, options.answered, now);
    // A close moves its holder's load too: that takes a transaction (the work is pure, so it can run again there).
    if (loadChanges(before, next).length) return undefined;
    const { set, where, entries } = rowWrites(before, next, written, inbound, now, held.version);
    const { rows } = await this.store.db.executeQuery<{ n: number }>(
      this.writes.changeAt(
        'conversations',
        set,
        where,
        entries.length ? { table: 'conversation_events', rows: entries, types: EVENT_COLUMN_TYPES } : undefined,
        options.guard,
      ),
    );
    return rows[0]?.n === 1 ? { before, next, written, version: held.version + 1 } : undefined;
  }

  /** The change's writes in `tx`, onto the row at `from`'s version (else MovedOn). */
  private async write(tx: Db, from: Held, work: ChangeWork, { answered }: ChangeOptions): Promise<Committed> {
    const before = from.conversation;
    const change = await work(before, tx);
    const now = Date.now();
    const { next, written, inbound } = committed(before, change, answered, now);
    let version = from.version;
    if (written.length || next !== before) {
      const { set, where, entries } = rowWrites(before, next, written, inbound, now, version);
      const { numAffectedRows } = await tx.executeQuery(this.writes.update('conversations', set, where));
      if (numAffectedRows !== 1n) throw new MovedOn();
      version += 1;
      for (const { userId, by } of loadChanges(before, next))
        await tx.executeQuery(this.writes.increment('users', 'open_conversations', by, { id: userId }));
      // After the row's update: entries are only written onto the version they were numbered on.
      if (entries.length) await tx.executeQuery(this.writes.insert('conversation_events', entries));
    }
    return { before, next, written, version };
  }

  /**
   * The guard's row (a Public API job) is locked, checked and moved on before the conversation's
   * row is touched: the one-statement path locks them in that order too, and two writers taking
   * the same two rows in opposite orders could deadlock.
   */
  private async enforceFirst(tx: Db, { guard }: ChangeOptions): Promise<void> {
    if (guard) await this.writes.enforce(tx, guard);
  }
}

/** What a change writes: its row's update onto `version` (and the next version), and its log entries' rows. */
function rowWrites(
  before: Conversation,
  next: Conversation,
  written: readonly ConversationEvent[],
  inbound: number | undefined,
  now: number,
  version: number,
) {
  const id = before.conversationId;
  return {
    set: { ...changedColumns(before, next, now, inbound), version: version + 1 },
    where: { id, version },
    entries: written.map((e) => toEventRow(id, e)),
  };
}
