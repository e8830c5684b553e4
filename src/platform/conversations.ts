import { randomUUID } from 'node:crypto';
import type { Store, Db } from '../store/index.js';
import { conflict, forbidden, notFound } from '../errors.js';
import { childrenOf, type Metrics } from '../ops/metrics.js';
import type { EventBus } from './bus.js';
import { InProcessTransport, type BusTransport } from './transport.js';
import { isUserId, type Directory } from './directory.js';
import { candidate, hasCapacity, mergeSdes, onlineBots, pickLeastLoaded, toAssignee } from './routing.js';
import { newConversationRow } from './conversation-rows.js';
import type { Change } from './conversation-changes.js';
import * as reads from './conversation-reads.js';
import { searchConversations, type ConversationFilter, type ConversationPage } from './conversation-search.js';
import { ConversationLog, type ActOptions, type ChangeWork } from './conversation-log.js';
import { ConversationReplication } from './conversation-replication.js';
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

export type { ActOptions } from './conversation-log.js';

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

/**
 * Conversations and their ordered, durable event log: the commands (open, post, route, transfer,
 * close …) as changes of the log (conversation-log.ts, the message path), the reads
 * (conversation-reads.ts), and other instances' changes announced here (conversation-replication.ts).
 */
export class Conversations {
  private readonly loader: reads.ConversationLoader;
  private readonly log: ConversationLog;
  /** Other instances' changes and typing, heard through the transport, announced on this bus. */
  readonly replication: ConversationReplication;

  constructor(
    private readonly store: Store,
    private readonly directory: Directory,
    private readonly bus: EventBus,
    metrics: Metrics,
    /** Tells the other instances on the store what is not stored (typing); changes they hear of from the store. */
    private readonly transport: BusTransport = new InProcessTransport(),
  ) {
    this.loader = new reads.ConversationLoader(store.db, store.dialect);
    const eventsWritten = childrenOf(metrics.eventsWritten);
    this.log = new ConversationLog(store, bus, this.loader, (type) => eventsWritten(type).inc());
    this.replication = new ConversationReplication(store, this.log, this.loader, directory, bus);
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
    this.log.hold(conversation, 0);
    this.bus.publish({ type: 'conversation.opened', conversation });
    // Routing is a change like any other, so its ASSIGN entry and announcement follow the rules.
    return this.change(accountId, conversation.conversationId, async (current, tx) => {
      if (input.assignTo) {
        const target = await candidate(tx, accountId, Number(input.assignTo), this.log.locksRows);
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
    const found = await this.loader.load(this.store.db, conversationId);
    if (!found || found.accountId !== accountId) throw notFound(`unknown conversation '${conversationId}'`);
    return found;
  }

  /** By id alone, for internal subscribers that already hold a trusted id. */
  find(conversationId: string): Promise<Conversation | undefined> {
    return this.loader.load(this.store.db, conversationId);
  }

  /**
   * By id alone, as this instance last committed it when it did (else read): for the connector's
   * exchange, whose answer is written onto the row's version anyway. On PostgreSQL another
   * instance's change may not be in it yet; what must see every instance's changes (recovery)
   * reads the store with find().
   */
  async current(conversationId: string): Promise<Conversation | undefined> {
    return this.log.heldState(conversationId) ?? this.find(conversationId);
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
    return reads.eventsAfter(this.store.db, conversationId, options.after ?? 0, options.forConsumer);
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

  /**
   * The users who took part in the conversation as bots (spoke in its log, or hold it now), as of
   * one moment like withEvents, without reading what was said.
   */
  async botUsers(accountId: string, conversationId: string): Promise<Set<string>> {
    const conversation = await this.get(accountId, conversationId);
    const users = new Set(await reads.botSpeakers(this.store.db, conversationId, conversation.lastSequence));
    if (conversation.assignee?.userType === 'BOT') users.add(conversation.assignee.userId);
    return users;
  }

  /** A page of the account's conversations, newest first, as the filter narrows them (conversation-search.ts). */
  async search(accountId: string, filter: ConversationFilter): Promise<ConversationPage> {
    if (filter.words) await this.store.wordsIndexed();
    return searchConversations(this.store.db, this.store.dialect, accountId, filter);
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
    return this.log.change(
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
          const agent = await candidate(tx, current.accountId, Number(agentId), this.log.locksRows);
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
      const me = await candidate(tx, accountId, Number(userId), this.log.locksRows);
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
    const { next } = await this.log.change(
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

  /** Conversations waiting on any of the skills, in the queue's order (TTR, then the longest wait). */
  queue(accountId: string, skillIds: number[]): Promise<QueuedConversation[]> {
    return reads.queued(this.store.db, accountId, skillIds);
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
  lapsedTests(now: number): Promise<Array<{ accountId: string; conversationId: string }>> {
    return reads.lapsedTests(this.store.db, now);
  }

  /** Open conversations a user holds. */
  heldBy(accountId: string, userId: string): Promise<Conversation[]> {
    return reads.heldBy(this.store.db, accountId, userId);
  }

  /** What these users' conversations still await of them (see reads.awaitingAnswer): after a crash, what a bot owes. */
  awaitingAnswer(userIds: readonly string[]): Promise<Conversation[]> {
    return reads.awaitingAnswer(this.store.db, userIds);
  }

  /** The whole log after a sequence, private entries included, for internal subscribers. */
  eventsAfter(conversationId: string, after: number): Promise<ConversationEvent[]> {
    return reads.eventsAfter(this.store.db, conversationId, after);
  }

  countHeldBy(userId: string): Promise<number> {
    return reads.countHeldBy(this.store.db, userId);
  }

  /** countHeldBy of many users in one read (a user holding none is left out). */
  countHeldByEach(userIds: readonly string[]): Promise<Map<string, number>> {
    return reads.countHeldByEach(this.store.db, userIds);
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
  healthCheck(): Promise<void> {
    return reads.healthCheck(this.store.db);
  }

  countOpen(): Promise<number> {
    return reads.countOpen(this.store.db);
  }

  /** Bots first: the least-loaded online bot of the skill takes it, else it waits for an agent. */
  private async routeToSkill(tx: Db, current: Conversation, skill: Skill, events: NewEvent[]): Promise<Change> {
    const bot = pickLeastLoaded(await onlineBots(tx, skill.id));
    if (bot) {
      const assignee = toAssignee(bot);
      // Read again under the bot's row lock: the load that picked it may be stale already.
      const load = this.log.locksRows
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

  private async change(accountId: string, conversationId: string, work: ChangeWork): Promise<Conversation> {
    // The state as committed (its lastSequence counts the entries just written), not `work`'s
    // draft, whose lastSequence is still the one before the change.
    const { next } = await this.log.change(accountId, conversationId, work);
    return next;
  }
}

function requireOpen(conversation: Conversation): void {
  if (conversation.status !== 'OPEN') throw conflict('conversation is closed', 'conversation-closed');
}
