import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import type { Store, Db, RowGuard } from '../store/index.js';
import { WriteStatements, requireStillHeld } from '../store/index.js';
import { conflict, forbidden, notFound } from '../errors.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { childrenOf, type Metrics } from '../ops/metrics.js';
import type { EventBus, PlatformEvent } from './bus.js';
import { InProcessTransport, type BusTransport, type ChangeNotice, type TypingNotice } from './transport.js';
import { isUserId, type Directory } from './directory.js';
import { candidate, hasCapacity, mergeSdes, onlineBots, pickLeastLoaded, toAssignee } from './routing.js';
import {
  CONVERSATION_ROW,
  EVENT_COLUMN_TYPES,
  newConversationRow,
  toConversation,
  toEvent,
  toEventRow,
  toQueued,
  type ConversationRow,
} from './conversation-rows.js';
import {
  announcedOf,
  announcedStanding,
  changeAnnouncements,
  changedColumns,
  committed,
  loadChanges,
  standingAnnouncements,
  standingChanges,
  standingOf,
  type Announced,
  type Answered,
  type Change,
} from './conversation-changes.js';
import type {
  CloseReason,
  Conversation,
  ConversationEvent,
  ConversationType,
  ConversationWithEvents,
  NewEvent,
  Originator,
  QueuedConversation,
  Sdes,
  Skill,
  Ttr,
  Visitor,
} from './types.js';

export interface OpenConversation {
  skill: string;
  type?: ConversationType;
  sdes?: Sdes;
  visitor?: Visitor;
  engagementId?: number;
  campaignId?: number;
  /** Skip routing and hand it straight to this user (the console's bot tester uses it). */
  assignTo?: string;
  /** A tester's conversation, kept open until then (see `keepTest`). */
  testUntil?: number;
}

export interface NewMessage {
  text?: string;
  content?: unknown;
  file?: unknown;
  quickReplies?: unknown;
  audience?: 'ALL' | 'AGENTS_AND_MANAGERS';
  metadata?: unknown;
  encodedMetadata?: string;
  context?: unknown;
}

/** One thing an originator does to a conversation; several make one change (see `act`). */
export type Step =
  | { kind: 'message'; message: NewMessage }
  | { kind: 'transfer'; skill: Skill; agentId?: string }
  | { kind: 'close'; reason: CloseReason; withoutPcs?: boolean }
  | { kind: 'ttr'; ttr: Ttr };

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
interface ChangeOptions extends ActOptions {
  /**
   * The work reads nothing from the store (no routing): on PostgreSQL the change can then be
   * written as one statement, without a transaction around it.
   */
  pure?: boolean;
}

/** A conversation as this instance last committed or read it, and its row's version then. */
interface Held {
  conversation: Conversation;
  version: number;
}

/** Conversations held at most (the oldest go first): one per open conversation a busy instance serves. */
const HELD_MAX = 50_000;

/**
 * The queue's order: what the conversation's TTR asks of agents first (URGENT, then PRIORITIZED,
 * then CUSTOM by its seconds, then NORMAL), and within that the longest wait. A bot that sets
 * URGENT before a transfer promises the consumer a quicker answer, so the queue must keep that.
 */
const QUEUE_URGENCY = sql`case conversations.ttr_type when 'URGENT' then 0 when 'PRIORITIZED' then 1 when 'CUSTOM' then 2 else 3 end`;

/** A change written onto a version the row is no longer at: another writer came first. */
class MovedOn extends Error {}

/**
 * Conversations and their ordered, durable event log. Every change to one conversation runs
 * alone (in-process mutex plus a row lock on PostgreSQL), commits its log entries and state in
 * one transaction, and only then is announced on the bus, in sequence order.
 */
export class Conversations {
  private readonly mutex = new KeyedMutex();
  private readonly writes: WriteStatements;
  private readonly eventsWritten: (type: string) => { inc(): void };
  /** PostgreSQL serves several writers at once (a pool, other instances): rows counted are locked first. SQLite has one writer. */
  private readonly locksRows: boolean;

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
    private readonly directory: Directory,
    private readonly bus: EventBus,
    metrics: Metrics,
    /** Tells the other instances on the store what is not stored (typing); changes they hear of from the store. */
    private readonly transport: BusTransport = new InProcessTransport(),
  ) {
    this.writes = new WriteStatements(store.dialect);
    this.locksRows = store.dialect === 'postgres';
    this.eventsWritten = childrenOf(metrics.eventsWritten);
  }

  async open(accountId: string, input: OpenConversation): Promise<Conversation> {
    await this.directory.requireAccount(accountId);
    const skill = await this.directory.requireSkill(accountId, input.skill);
    const now = Date.now();
    const conversation: Conversation = {
      conversationId: randomUUID(),
      accountId,
      type: input.type ?? 'MESSAGING',
      status: 'OPEN',
      skill,
      assignee: null,
      ttr: { ttrType: 'NORMAL' },
      sdes: {
        authenticatedSdes: input.sdes?.authenticatedSdes ?? {},
        unauthenticatedSdes: input.sdes?.unauthenticatedSdes ?? {},
      },
      visitor: input.visitor ?? {},
      ...(input.engagementId !== undefined ? { engagementId: input.engagementId } : {}),
      ...(input.campaignId !== undefined ? { campaignId: input.campaignId } : {}),
      createdAt: now,
      queuedAt: now,
      lastSequence: 0,
      answeredSequence: 0,
      ...(input.testUntil !== undefined ? { test: true } : {}),
    };
    await this.store.db.insertInto('conversations').values(newConversationRow(conversation, input.testUntil)).execute();
    this.hold(conversation, 0);
    this.bus.publish({ type: 'conversation.opened', conversation });
    // Routing is a change like any other, so its ASSIGN entry and announcement follow the rules.
    return this.change(accountId, conversation.conversationId, async (current, tx) => {
      if (input.assignTo) {
        const target = await candidate(tx, accountId, Number(input.assignTo), this.locksRows);
        if (!target) throw notFound(`unknown user '${input.assignTo}'`);
        const assignee = toAssignee(target);
        return {
          next: { ...current, assignee, holderLoad: target.open, queuedAt: undefined },
          events: [{ type: 'ASSIGN', originator: { role: 'SYSTEM' }, assignee, audience: 'AGENTS_AND_MANAGERS' }],
        };
      }
      return this.routeToSkill(tx, current, skill, []);
    });
  }

  /** The conversation; not-found when it does not exist in this account. */
  async get(accountId: string, conversationId: string): Promise<Conversation> {
    const found = await this.load(this.store.db, conversationId);
    if (!found || found.accountId !== accountId) throw notFound(`unknown conversation '${conversationId}'`);
    return found;
  }

  /** By id alone, for internal subscribers that already hold a trusted id. */
  find(conversationId: string): Promise<Conversation | undefined> {
    return this.load(this.store.db, conversationId);
  }

  /**
   * By id alone, as this instance last committed it when it did (else read): for the connector's
   * exchange, whose answer is written onto the row's version anyway. On PostgreSQL another
   * instance's change may not be in it yet; what must see every instance's changes (recovery)
   * reads the store with find().
   */
  async current(conversationId: string): Promise<Conversation | undefined> {
    return this.held.get(conversationId)?.conversation ?? this.find(conversationId);
  }

  /**
   * The log after a sequence. `forConsumer` drops private entries (AGENTS_AND_MANAGERS): the
   * consumer never receives them, in history or stream.
   */
  async events(
    accountId: string,
    conversationId: string,
    options: { after?: number; forConsumer: boolean },
  ): Promise<ConversationEvent[]> {
    await this.get(accountId, conversationId);
    let query = this.store.db
      .selectFrom('conversation_events')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('seq', '>', options.after ?? 0)
      .orderBy('seq');
    if (options.forConsumer) query = query.where('audience', '=', 'ALL');
    const rows = await query.execute();
    return rows.map(toEvent);
  }

  /**
   * The conversation and its log as of one moment: a change commits its entries with the state,
   * so the entries up to the state's last sequence are the log that state describes; later ones,
   * committed between the two reads, wait for the next read.
   */
  async withEvents(accountId: string, conversationId: string): Promise<ConversationWithEvents> {
    const conversation = await this.get(accountId, conversationId);
    const events = await this.events(accountId, conversationId, { forConsumer: false });
    return { ...conversation, events: events.filter((e) => e.sequence <= conversation.lastSequence) };
  }

  /** Appends a message. A closed conversation takes no more messages (`conversation-closed`). */
  async post(
    accountId: string,
    conversationId: string,
    originator: Originator,
    message: NewMessage,
  ): Promise<ConversationEvent> {
    const { written } = await this.act(accountId, conversationId, originator, [{ kind: 'message', message }]);
    return written[0];
  }

  /**
   * Several steps of one originator as one change: one commit, its entries in order, nothing
   * announced before the commit. A bot's answer goes this way, with what it answered (`answered`)
   * committed alongside, so a crash can neither lose the answer's record nor deliver it twice;
   * `guard` holds it to a row of its author's (and moves that row on with it).
   * Every step needs the conversation open (else `conversation-closed`), as the draft is after the
   * steps before it; steps may be none (only `answered` is written then).
   */
  act(
    accountId: string,
    conversationId: string,
    originator: Originator,
    steps: readonly Step[],
    options: ActOptions = {},
  ): Promise<{ next: Conversation; written: ConversationEvent[] }> {
    return this.changeReturningEvents(
      accountId,
      conversationId,
      async (current, tx) => {
        let draft = current;
        const events: NewEvent[] = [];
        for (const step of steps) {
          requireOpen(draft);
          const change = await this.stepChange(tx, draft, originator, step);
          draft = change.next;
          events.push(...change.events);
        }
        return { next: draft, events };
      },
      { ...options, pure: steps.every((step) => step.kind !== 'transfer') },
    );
  }

  private async stepChange(tx: Db, current: Conversation, originator: Originator, step: Step): Promise<Change> {
    switch (step.kind) {
      case 'message': {
        const { message } = step;
        const type = message.file !== undefined ? 'FILE' : message.content !== undefined ? 'RICH_CONTENT' : 'TEXT';
        const event: NewEvent = { type, originator, audience: message.audience ?? 'ALL' };
        for (const key of [
          'text',
          'content',
          'file',
          'quickReplies',
          'metadata',
          'encodedMetadata',
          'context',
        ] as const) {
          if (message[key] !== undefined) (event as Record<string, unknown>)[key] = message[key];
        }
        return { next: current, events: [event] };
      }
      case 'transfer': {
        const { skill, agentId } = step;
        const transfer: NewEvent = { type: 'TRANSFER', originator, skill, audience: 'AGENTS_AND_MANAGERS' };
        if (agentId && isUserId(agentId)) {
          const agent = await candidate(tx, current.accountId, Number(agentId), this.locksRows);
          if (agent?.online && hasCapacity(agent)) {
            const assignee = toAssignee(agent);
            return {
              next: { ...current, skill, assignee, holderLoad: agent.open, queuedAt: undefined },
              events: [
                transfer,
                { type: 'ASSIGN', originator: { role: 'SYSTEM' }, assignee, audience: 'AGENTS_AND_MANAGERS' },
              ],
            };
          }
        }
        return this.routeToSkill(tx, current, skill, [transfer]);
      }
      case 'close': {
        const withoutPcs = step.withoutPcs ?? false;
        return {
          next: {
            ...current,
            status: 'CLOSED',
            closeReason: step.reason,
            closedWithoutPcs: withoutPcs,
            queuedAt: undefined,
          },
          events: [{ type: 'CLOSE', originator, closeReason: step.reason, withoutPcs, audience: 'ALL' }],
        };
      }
      case 'ttr': {
        const ttr: Ttr =
          step.ttr.ttrType === 'CUSTOM' ? { ttrType: 'CUSTOM', value: step.ttr.value } : { ttrType: step.ttr.ttrType };
        return {
          next: { ...current, ttr },
          events: [{ type: 'TTR', originator, ttr, audience: 'AGENTS_AND_MANAGERS' }],
        };
      }
    }
  }

  /** Typing is announced, not logged. */
  async typing(accountId: string, conversationId: string, originator: Originator, typing: boolean): Promise<void> {
    const conversation = await this.get(accountId, conversationId);
    requireOpen(conversation);
    this.bus.publish({ type: 'conversation.typing', conversation, originator, typing });
    this.transport.tell({ conversationId, originator, typing });
  }

  /**
   * Another instance committed a change: announce it on this bus as if it were ours, in sequence
   * order with ours (the same lock as local changes), after whatever of the log this bus has not
   * announced yet.
   */
  receive(notice: ChangeNotice): Promise<void> {
    return this.mutex.run(notice.conversationId, async () => {
      this.held.delete(notice.conversationId);
      const known = this.announced.get(notice.conversationId);
      const after = known?.sequence ?? notice.from;
      const changes = notice.previous ? standingChanges(notice.previous, notice) : { moved: false, closed: false };
      if (notice.to <= after && !changes.moved && !changes.closed && !notice.opened) return;
      const current = await this.load(this.store.db, notice.conversationId);
      if (!current) return;
      // The state as of this change: a later one may already be in the row.
      const skill =
        notice.skillId === current.skill.id
          ? current.skill
          : ((await this.directory.skillById(notice.skillId)) ?? current.skill);
      const conversation: Conversation = {
        ...current,
        assignee: notice.holder,
        skill,
        status: notice.status,
        lastSequence: Math.max(notice.to, after),
      };
      if (notice.opened && !known) this.bus.publish({ type: 'conversation.opened', conversation });
      await this.announceEntries(conversation, after, notice.to);
      if (notice.previous) this.publish(standingAnnouncements(notice.previous, changes, conversation));
      this.remember(conversation);
    });
  }

  /**
   * Another instance's change that nothing here listens for (no stream shows it, no bot driven
   * here holds or held it): not read at all, and this bus keeps no order for it either, since
   * what it announces next of the conversation starts afresh.
   */
  ignore(notice: ChangeNotice): void {
    this.announced.delete(notice.conversationId);
    this.held.delete(notice.conversationId);
  }

  /** Typing on another instance, announced here too (best effort: it is not stored). */
  async receiveTyping(notice: TypingNotice): Promise<void> {
    const conversation = await this.load(this.store.db, notice.conversationId);
    if (conversation?.status === 'OPEN')
      this.bus.publish({
        type: 'conversation.typing',
        conversation,
        originator: notice.originator,
        typing: notice.typing,
      });
  }

  /**
   * The instance may have missed other instances' changes (its listener was cut off): every
   * conversation it has announced is brought up to date from the store, in order.
   */
  async catchUp(): Promise<void> {
    this.held.clear();
    for (const conversationId of [...this.announced.keys()]) {
      await this.mutex.run(conversationId, async () => {
        const known = this.announced.get(conversationId);
        const current = await this.load(this.store.db, conversationId);
        if (!known || !current) return;
        await this.announceEntries(current, known.sequence, current.lastSequence);
        const was = announcedStanding(known);
        this.publish(standingAnnouncements(was, standingChanges(was, standingOf(current)), current));
        this.remember(current);
      });
    }
  }

  /** Announces the log entries (after, upTo] the bus has not announced yet, read from the store. */
  private async announceEntries(conversation: Conversation, after: number, upTo: number): Promise<void> {
    if (upTo <= after) return;
    for (const event of await this.eventsAfter(conversation.conversationId, after)) {
      if (event.sequence > upTo) break;
      this.bus.publish({ type: 'conversation.event', conversation, event });
    }
  }

  private remember(conversation: Conversation): void {
    if (conversation.status === 'CLOSED') this.announced.delete(conversation.conversationId);
    else this.announced.set(conversation.conversationId, announcedOf(conversation));
  }

  private publish(announcements: readonly PlatformEvent[]): void {
    for (const announcement of announcements) this.bus.publish(announcement);
  }

  /** An agent takes a conversation waiting in the queue of one of their skills. */
  async accept(accountId: string, conversationId: string, userId: string): Promise<Conversation> {
    const user = await this.directory.user(accountId, userId);
    if (!user) throw notFound(`unknown user '${userId}'`);
    return this.change(accountId, conversationId, async (current, tx) => {
      requireOpen(current);
      if (current.assignee) {
        if (current.assignee.userId === userId) return { next: current, events: [] };
        throw conflict('conversation is already assigned', 'already-assigned');
      }
      if (!user.skills.some((s) => s.id === current.skill.id)) {
        throw forbidden(`conversation is queued on skill '${current.skill.name}', which you do not serve`);
      }
      const me = await candidate(tx, accountId, Number(userId), this.locksRows);
      if (!me || !hasCapacity(me)) throw conflict('you are at your maximum of open conversations', 'agent-at-capacity');
      const assignee = toAssignee(me);
      return {
        next: { ...current, assignee, holderLoad: me.open, queuedAt: undefined },
        events: [{ type: 'ASSIGN', originator: { role: 'AGENT', userId }, assignee, audience: 'AGENTS_AND_MANAGERS' }],
      };
    });
  }

  /**
   * Moves the conversation to a skill. With a preferred agent, that agent takes it when known,
   * online and under capacity; otherwise the skill is the fallback. Either way it is routed again.
   */
  async transfer(
    accountId: string,
    conversationId: string,
    originator: Originator,
    target: { skill: string; agentId?: string },
  ): Promise<Conversation> {
    const skill = await this.directory.requireSkill(accountId, target.skill);
    return (
      await this.act(accountId, conversationId, originator, [{ kind: 'transfer', skill, agentId: target.agentId }])
    ).next;
  }

  async close(
    accountId: string,
    conversationId: string,
    originator: Originator,
    options: { reason: CloseReason; withoutPcs?: boolean },
  ): Promise<Conversation> {
    return (await this.act(accountId, conversationId, originator, [{ kind: 'close', ...options }])).next;
  }

  async setTtr(accountId: string, conversationId: string, originator: Originator, ttr: Ttr): Promise<Conversation> {
    return (await this.act(accountId, conversationId, originator, [{ kind: 'ttr', ttr }])).next;
  }

  /** Merges engagement attributes into the conversation's SDES (see mergeSdes); `guard` as for `act`. */
  async updateSdes(
    accountId: string,
    conversationId: string,
    originator: Originator,
    update: Sdes,
    visitor?: Visitor,
    options: Pick<ActOptions, 'guard'> = {},
  ): Promise<Conversation> {
    const { next } = await this.changeReturningEvents(
      accountId,
      conversationId,
      async (current) => {
        requireOpen(current);
        return {
          next: {
            ...current,
            sdes: mergeSdes(current.sdes, update),
            visitor: visitor ? { ...current.visitor, ...visitor } : current.visitor,
          },
          events: [{ type: 'SDES', originator, sdes: update, audience: 'AGENTS_AND_MANAGERS' }],
        };
      },
      { ...options, pure: true },
    );
    return next;
  }

  /** Conversations waiting on any of the skills, oldest first. */
  async queue(accountId: string, skillIds: number[]): Promise<QueuedConversation[]> {
    if (!skillIds.length) return [];
    const rows = await this.store.db
      .selectFrom('conversations')
      .innerJoin('skills', 'skills.id', 'conversations.skill_id')
      .select([
        'conversations.id',
        'conversations.type',
        'conversations.ttr_type',
        'conversations.ttr_value',
        'conversations.queued_at',
        'conversations.created_at',
        'conversations.test_until',
        'skills.id as skill_id',
        'skills.name as skill_name',
      ])
      .where('conversations.account_id', '=', accountId)
      .where('conversations.status', '=', 'OPEN')
      .where('conversations.assignee_user_id', 'is', null)
      .where('conversations.skill_id', 'in', skillIds)
      .orderBy(QUEUE_URGENCY)
      .orderBy(sql`case when conversations.ttr_type = 'CUSTOM' then conversations.ttr_value end`)
      .orderBy('conversations.queued_at')
      .execute();
    const now = Date.now();
    return rows.map((r) => toQueued(r, now));
  }

  /**
   * The tester still has its conversation on screen: it stays open until `until`. False when it
   * is not an open test conversation of the account (closed already, say).
   */
  async keepTest(accountId: string, conversationId: string, until: number): Promise<boolean> {
    const { numUpdatedRows } = await this.store.db
      .updateTable('conversations')
      .set({ test_until: until })
      .where('id', '=', conversationId)
      .where('account_id', '=', accountId)
      .where('status', '=', 'OPEN')
      .where('test_until', 'is not', null)
      .executeTakeFirst();
    return numUpdatedRows === 1n;
  }

  /** Open test conversations their testers stopped keeping before `now` (see `keepTest`). */
  async lapsedTests(now: number): Promise<Array<{ accountId: string; conversationId: string }>> {
    const rows = await this.store.db
      .selectFrom('conversations')
      .select(['account_id', 'id'])
      .where('status', '=', 'OPEN')
      .where('test_until', '<', now)
      .execute();
    return rows.map((r) => ({ accountId: r.account_id, conversationId: r.id }));
  }

  /** Open conversations a user holds. */
  async heldBy(accountId: string, userId: string): Promise<Conversation[]> {
    const rows = await this.selectConversation(this.store.db)
      .where('conversations.account_id', '=', accountId)
      .where('conversations.assignee_user_id', '=', Number(userId))
      .where('conversations.status', '=', 'OPEN')
      .orderBy('conversations.created_at')
      .execute();
    return rows.map(toConversation);
  }

  /**
   * Open conversations these users hold that await something of their holder: an entry it has
   * not answered yet, or the rest of an answer. After a crash, this is what a bot still owes.
   */
  async awaitingAnswer(userIds: readonly string[]): Promise<Conversation[]> {
    if (!userIds.length) return [];
    const rows = await this.selectConversation(this.store.db)
      .where('conversations.assignee_user_id', 'in', userIds.map(Number))
      .where('conversations.status', '=', 'OPEN')
      .where((eb) =>
        eb.or([
          eb('conversations.inbound_seq', '>', eb.ref('conversations.answered_seq')),
          eb('conversations.pending_answer', 'is not', null),
        ]),
      )
      .orderBy('conversations.created_at')
      .execute();
    return rows.map(toConversation);
  }

  /** The whole log after a sequence, private entries included, for internal subscribers. */
  async eventsAfter(conversationId: string, after: number): Promise<ConversationEvent[]> {
    const rows = await this.store.db
      .selectFrom('conversation_events')
      .selectAll()
      .where('conversation_id', '=', conversationId)
      .where('seq', '>', after)
      .orderBy('seq')
      .execute();
    return rows.map(toEvent);
  }

  async countHeldBy(userId: string): Promise<number> {
    const row = await this.store.db
      .selectFrom('conversations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('assignee_user_id', '=', Number(userId))
      .where('status', '=', 'OPEN')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Hands waiting conversations to online bots of their skill (a bot just came online). */
  async routeQueued(accountId: string, skillIds: number[]): Promise<void> {
    for (const waiting of await this.queue(accountId, skillIds)) {
      await this.change(accountId, waiting.conversationId, async (current, tx) => {
        if (current.status !== 'OPEN' || current.assignee) return { next: current, events: [] };
        return this.routeToSkill(tx, current, current.skill, []);
      });
    }
  }

  /** Reads both tables a change writes: throws while the store cannot serve conversations. */
  async healthCheck(): Promise<void> {
    await this.store.db.selectFrom('conversations').select('id').limit(1).execute();
    await this.store.db.selectFrom('conversation_events').select('seq').limit(1).execute();
  }

  countOpen(): Promise<number> {
    return this.store.db
      .selectFrom('conversations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'OPEN')
      .executeTakeFirstOrThrow()
      .then((r) => Number(r.n));
  }

  /** Bots first: the least-loaded online bot of the skill takes it, else it waits for an agent. */
  private async routeToSkill(tx: Db, current: Conversation, skill: Skill, events: NewEvent[]): Promise<Change> {
    const bot = pickLeastLoaded(await onlineBots(tx, skill.id));
    if (bot) {
      const assignee = toAssignee(bot);
      // Read again under the bot's row lock: the load that picked it may be stale already.
      const load = this.locksRows
        ? ((await candidate(tx, current.accountId, bot.userId, true))?.open ?? bot.open)
        : bot.open;
      return {
        next: { ...current, skill, assignee, holderLoad: load, queuedAt: undefined },
        events: [
          ...events,
          { type: 'ASSIGN', originator: { role: 'SYSTEM' }, assignee, audience: 'AGENTS_AND_MANAGERS' },
        ],
      };
    }
    return { next: { ...current, skill, assignee: null, holderLoad: undefined, queuedAt: Date.now() }, events };
  }

  private async change(
    accountId: string,
    conversationId: string,
    work: (current: Conversation, tx: Db) => Promise<Change>,
  ): Promise<Conversation> {
    // The state as committed (its lastSequence counts the entries just written), not `work`'s
    // draft, whose lastSequence is still the one before the change.
    const { next } = await this.changeReturningEvents(accountId, conversationId, work);
    return next;
  }

  private changeReturningEvents(
    accountId: string,
    conversationId: string,
    work: (current: Conversation, tx: Db) => Promise<Change>,
    options: ChangeOptions = {},
  ): Promise<{ next: Conversation; written: ConversationEvent[] }> {
    return this.mutex.run(conversationId, async () => {
      const held = this.held.get(conversationId);
      const { before, next, written, version } =
        (held?.conversation.accountId === accountId ? await this.commitOnto(held, work, options) : undefined) ??
        (await this.store.transact(async (tx) => {
          await this.enforceFirst(tx, options);
          const read = await this.loadHeld(tx, conversationId, true);
          if (!read || read.conversation.accountId !== accountId)
            throw notFound(`unknown conversation '${conversationId}'`);
          return this.write(tx, read, work, options);
        }));
      // Another instance's changes this bus has not announced yet come first.
      const known = this.announced.get(conversationId);
      if (known && before.lastSequence > known.sequence)
        await this.announceEntries(before, known.sequence, before.lastSequence);
      for (const event of written) this.eventsWritten(event.type).inc();
      this.publish(changeAnnouncements(before, next, written));
      this.remember(next);
      this.hold(next, version);
      return { next, written };
    });
  }

  /**
   * The change made on the state held, without reading the row; undefined when the row has moved
   * on since (another writer came first) or, on PostgreSQL, when the change needs a transaction:
   * the caller then reads the row under its lock.
   */
  private async commitOnto(
    held: Held,
    work: (current: Conversation, tx: Db) => Promise<Change>,
    options: ChangeOptions,
  ): Promise<Committed | undefined> {
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
  private async write(
    tx: Db,
    from: Held,
    work: (current: Conversation, tx: Db) => Promise<Change>,
    { answered }: ChangeOptions,
  ): Promise<Committed> {
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

  private hold(conversation: Conversation, version: number): void {
    const id = conversation.conversationId;
    this.held.delete(id);
    if (conversation.status === 'CLOSED') return;
    if (this.held.size >= HELD_MAX) this.held.delete(this.held.keys().next().value!);
    this.held.set(id, { conversation, version });
  }

  private selectConversation(db: Db) {
    return db
      .selectFrom('conversations')
      .innerJoin('skills', 'skills.id', 'conversations.skill_id')
      .leftJoin('users', 'users.id', 'conversations.assignee_user_id')
      .select(CONVERSATION_ROW);
  }

  /**
   * The load's SQL, compiled once per lock mode: every change and every exchange loads the
   * conversation, and building this select (two joins, twenty columns) with Kysely cost four
   * times what running it did. Only the id is bound per call.
   */
  private readonly loadSql = new Map<boolean, string>();

  private async load(db: Db, conversationId: string): Promise<Conversation | undefined> {
    return (await this.loadHeld(db, conversationId))?.conversation;
  }

  private async loadHeld(db: Db, conversationId: string, forUpdate = false): Promise<Held | undefined> {
    // A second instance on the same PostgreSQL database waits here instead of racing for sequences.
    const lock = forUpdate && this.store.dialect === 'postgres';
    let sql = this.loadSql.get(lock);
    if (sql === undefined) {
      const query = this.selectConversation(db).where('conversations.id', '=', conversationId);
      sql = (lock ? query.forUpdate('conversations') : query).compile().sql;
      this.loadSql.set(lock, sql);
    }
    const { rows } = await db.executeQuery<ConversationRow>(CompiledQuery.raw(sql, [conversationId]));
    return rows.length ? { conversation: toConversation(rows[0]), version: rows[0].version } : undefined;
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

/** A change as committed: the state before and after, its entries, and the row's version now. */
interface Committed {
  before: Conversation;
  next: Conversation;
  written: ConversationEvent[];
  version: number;
}

function requireOpen(conversation: Conversation): void {
  if (conversation.status !== 'OPEN') throw conflict('conversation is closed', 'conversation-closed');
}
