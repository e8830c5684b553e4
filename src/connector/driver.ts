import { isConsumerMessage } from '../platform/conversation-changes.js';
import type { BotStatus, LastError } from './types.js';
import type { Logger } from 'pino';
import type { Conversations } from '../platform/conversations.js';

import type { PlatformEvent } from '../platform/bus.js';
import type { Conversation, ConversationEvent } from '../platform/types.js';
import { KeyedMutex } from '../util/keyed-mutex.js';

import { CombineBuffer } from './combine.js';
import type { Exchanges } from './exchange.js';
import { ChatInactivity } from './inactivity.js';
import { LeaseLost } from './leases.js';
import { isStoreUnavailable } from '../store/errors.js';
import { closeEventBody, lastConsumerMessage, startEventBody } from './requests.js';
import { messagesInbound, type Inbound, type Runtime } from './runtime.js';

export interface DriverDeps {
  conversations: Conversations;
  exchanges: Exchanges;
  log: Logger;
  /** The bot a user speaks for, when this instance drives it. */
  drivenBy(userId: string): Runtime | undefined;
  /** The bot, when this instance drives it. */
  driven(botId: string): Runtime | undefined;
  setStatus(runtime: Runtime, status: BotStatus, lastError: LastError | null): Promise<void>;
  countError(runtime: Runtime, code: string): void;
  /**
   * The store was out of reach during the bot's work: what it owes stays owed, and is answered
   * from the store once the store answers again (the connector retries with backoff).
   */
  storeUnavailable(runtime: Runtime): void;
  /**
   * For the bot's statistics: a conversation reached the bot, or closed while the bot held it.
   * Counted from the platform's announcement, which the bot's driver hears once per change.
   */
  countLifecycle(runtime: Runtime, metric: 'started' | 'closed'): void;
}

/**
 * The exchange loop of the bots this instance drives: for every conversation they hold, what
 * arrives (an assignment, consumer messages, a close) becomes exchanges with the bot service, one
 * at a time per conversation, in order; other conversations never wait. What a bot owes is read
 * from the store whenever this instance cannot vouch for having seen it all (after a start, a
 * failover, an outage), so nothing is sent twice or skipped.
 */
export class Driver {
  private readonly lanes = new KeyedMutex();
  /**
   * Per conversation, the last log entry this instance has taken on for its bot, and under which
   * lease epoch. A conversation without an entry of the bot's current epoch has history this
   * instance has not seen: it is recovered from the store before anything newer is sent. The
   * epoch matters because a task still running when the lease went (dropBot) may write its entry
   * after that; under a later lease such an entry vouches for nothing.
   */
  private readonly taken = new Map<string, { botId: string; epoch: number | undefined; upTo: number }>();
  private readonly combine: CombineBuffer;
  readonly inactivity: ChatInactivity;
  private closed = false;

  constructor(private readonly deps: DriverDeps) {
    this.combine = new CombineBuffer((conversationId, botId, events) => {
      const runtime = this.deps.driven(botId);
      if (runtime) this.inLane(conversationId, () => this.answerMessages(runtime, conversationId, events, undefined));
    });
    this.inactivity = new ChatInactivity({
      conversations: deps.conversations,
      log: deps.log,
      inLane: (id, task) => this.inLane(id, task),
    });
  }

  /** Whatever runs now finishes on its own; nothing new starts. */
  close(): void {
    this.closed = true;
    this.combine.clear();
    this.inactivity.clearAll();
  }

  onPlatformEvent(e: PlatformEvent): void {
    if (this.closed) return;
    const conversation = e.conversation;
    const conversationId = conversation.conversationId;
    const holder = conversation.assignee ? this.deps.drivenBy(conversation.assignee.userId) : undefined;
    switch (e.type) {
      case 'conversation.assigned': {
        const previous = e.previousAssignee ? this.deps.drivenBy(e.previousAssignee.userId) : undefined;
        if (previous && previous !== holder) this.forget(previous, conversationId);
        if (holder && holder !== previous) {
          this.deps.countLifecycle(holder, 'started');
          // A new holder owes an answer from its ASSIGN entry on: the one just after what it has answered.
          const assigned = conversation.answeredSequence + 1;
          const nothingBefore = conversation.lastSequence === assigned;
          this.inLane(conversationId, () =>
            this.seen(holder, conversationId, nothingBefore)
              ? this.guarded(holder, conversationId, assigned, async () => {
                  if (this.take(holder, conversationId, assigned)) await this.arrived(holder, conversationId, assigned);
                })
              : this.recover(holder, conversationId),
          );
        }
        break;
      }
      case 'conversation.event':
        if (holder && isConsumerMessage(e.event)) {
          this.inactivity.clear(conversationId);
          const first = conversation.answeredSequence + 1 === e.event.sequence;
          const { combineMessages } = holder.record.settings;
          if (combineMessages.enabled && this.takenFor(holder, conversationId) !== undefined)
            this.combine.add(conversationId, holder.record.id, combineMessages, e.event);
          else this.inLane(conversationId, () => this.answerMessages(holder, conversationId, [e.event], first));
        }
        break;
      case 'conversation.typing':
        if (holder && e.originator.role === 'CONSUMER') this.combine.typing(conversationId, e.typing);
        break;
      case 'conversation.closed':
        if (!holder) break;
        this.deps.countLifecycle(holder, 'closed');
        this.combine.drop(conversationId);
        this.inactivity.clear(conversationId);
        if (holder.record.settings.survey && !conversation.closedWithoutPcs) {
          // The service still knows the conversation: the survey event needs no PUT before it.
          const inbound: Inbound = {
            eventType: 'CLOSE_CONVERSATION',
            upTo: conversation.lastSequence,
            body: (c) => closeEventBody(c, conversation.lastSequence),
          };
          this.inLane(conversationId, () => this.exchange(holder, conversationId, inbound));
        }
        // After anything queued for it: then nothing of the conversation is kept in memory.
        this.inLane(conversationId, async () => this.forget(holder, conversationId));
        break;
      default:
        break;
    }
  }

  /** Every conversation of the bot that awaits something of it, each recovered in its lane. */
  async recoverAll(runtime: Runtime): Promise<void> {
    for (const conversation of await this.deps.conversations.awaitingAnswer([runtime.record.userId])) {
      this.inLane(conversation.conversationId, () => this.recover(runtime, conversation.conversationId));
    }
  }

  /** This instance stopped driving the bot: what it held for the bot's conversations goes. */
  dropBot(botId: string): void {
    this.combine.dropBot(botId);
    this.inactivity.dropBot(botId);
    for (const [conversationId, entry] of this.taken) if (entry.botId === botId) this.taken.delete(conversationId);
  }

  private inLane(conversationId: string, task: () => Promise<unknown>): void {
    void this.lanes
      .run(conversationId, task)
      .catch((err) => this.deps.log.error({ err, conversationId }, 'connector task failed'));
  }

  /**
   * Whether this instance can vouch for the conversation's history up to now: it took on its
   * entries itself, or (`nothingBefore`) nothing was owed before the one at hand.
   */
  private seen(runtime: Runtime, conversationId: string, nothingBefore: boolean): boolean {
    return nothingBefore || this.takenFor(runtime, conversationId) !== undefined;
  }

  /** How far this instance has taken the conversation on for the bot under its current lease. */
  private takenFor(runtime: Runtime, conversationId: string): number | undefined {
    const entry = this.taken.get(conversationId);
    return entry?.botId === runtime.record.id && entry.epoch === runtime.epoch ? entry.upTo : undefined;
  }

  /** Takes the log up to `upTo` on for the bot; false when it is taken already. */
  private take(runtime: Runtime, conversationId: string, upTo: number): boolean {
    const taken = this.takenFor(runtime, conversationId);
    if (taken !== undefined && upTo <= taken) return false;
    this.taken.set(conversationId, { botId: runtime.record.id, epoch: runtime.epoch, upTo });
    return true;
  }

  /**
   * The bot just got the conversation: capacity check, then the welcome event when enabled. The
   * check reads how many the bot already held when it got this one, counted under its row lock
   * (holderLoad): of many conversations arriving at once exactly the first ones up to the cap
   * stay, whatever order their checks run in.
   */
  private async arrived(runtime: Runtime, conversationId: string, assigned: number): Promise<void> {
    const { settings } = runtime.record;
    const conversation = await this.deps.conversations.current(conversationId);
    if (
      !conversation ||
      conversation.answeredSequence >= assigned ||
      conversation.assignee?.userId !== runtime.record.userId
    )
      return;
    const held = conversation.holderLoad ?? 0;
    if (held >= settings.maxOpenConversations) {
      const reason = {
        code: 'bot-capacity-reached',
        message: `bot held ${held} open conversations when it got this one, its maximum is ${settings.maxOpenConversations}`,
      };
      await this.deps.exchanges.escalateAndRecord(runtime, conversation, 'ARRIVAL', reason, assigned);
      return;
    }
    if (!settings.welcomeEvent) return;
    const history = await this.deps.conversations.eventsAfter(conversationId, 0);
    const last = lastConsumerMessage(history.filter((e) => e.sequence < assigned));
    await this.deps.exchanges.run(runtime, conversationId, {
      eventType: 'START',
      upTo: assigned,
      body: (c) => startEventBody(c, assigned, last),
    });
  }

  /**
   * Consumer messages (one, or several combined) as one exchange, unless taken already; when the
   * conversation has history this instance has not seen, it is recovered instead (which sends
   * these too, after what came before them).
   */
  private async answerMessages(
    runtime: Runtime,
    conversationId: string,
    events: ConversationEvent[],
    nothingBefore: boolean | undefined,
  ): Promise<void> {
    if (!this.seen(runtime, conversationId, nothingBefore ?? false)) return this.recover(runtime, conversationId);
    const taken = this.takenFor(runtime, conversationId) ?? 0;
    const fresh = events.filter((e) => e.sequence > taken);
    if (!fresh.length) return;
    const inbound = messagesInbound(fresh);
    this.take(runtime, conversationId, inbound.upTo);
    await this.exchange(runtime, conversationId, inbound);
  }

  /**
   * The conversation left the bot (or closed): nothing is kept for it in memory, so memory does
   * not grow with every conversation ever held. Should it come back, a 409 on the PUT costs less.
   */
  private forget(runtime: Runtime, conversationId: string): void {
    this.combine.drop(conversationId);
    this.taken.delete(conversationId);
    this.inactivity.clear(conversationId);
    runtime.known.delete(conversationId);
  }

  /**
   * What the bot owes a conversation, from the store: the rest of an answer a DELAY had paused,
   * then every entry after what it answered — its own assignment (the welcome event) and the
   * consumer's messages — in order, before anything newer.
   */
  private async recover(runtime: Runtime, conversationId: string): Promise<void> {
    const { epoch } = runtime;
    if (this.closed || epoch === undefined) return;
    let conversation: Conversation | undefined;
    let owed: ConversationEvent[];
    try {
      conversation = await this.deps.conversations.find(conversationId);
      if (conversation?.status !== 'OPEN' || conversation.assignee?.userId !== runtime.record.userId) return;
      owed = await this.deps.conversations.eventsAfter(conversationId, conversation.answeredSequence);
    } catch (error) {
      // The store went away mid-read: the conversation stays owed, and is recovered once it is back.
      if (!isStoreUnavailable(error)) throw error;
      this.deps.storeUnavailable(runtime);
      return;
    }
    const answered = conversation.answeredSequence;
    // The lease moved meanwhile: the recovery its new tenure queued reads again.
    if (runtime.epoch !== epoch) return;
    const messages = owed.filter(isConsumerMessage);
    const assigned = owed.find((e) => e.type === 'ASSIGN' && e.assignee?.userId === runtime.record.userId)?.sequence;
    // Everything read is taken on now: what the bus announces of it meanwhile is not sent again.
    const upTo = Math.max(
      answered,
      assigned ?? 0,
      ...messages.map((e) => e.sequence),
      this.takenFor(runtime, conversationId) ?? 0,
    );
    this.taken.set(conversationId, { botId: runtime.record.id, epoch: runtime.epoch, upTo });
    if (conversation.pendingAnswer === undefined && assigned === undefined && !messages.length) return;
    this.deps.log.info(
      {
        botId: runtime.record.id,
        conversationId,
        answered,
        owed: messages.length,
        pending: conversation.pendingAnswer !== undefined,
      },
      'recovering a conversation',
    );

    // Each step only if the one before finished: one cut short (the store, the lease) dropped the
    // conversation's taken entry, and the rest waits for the next recovery, in order.
    const goOn = () => this.takenFor(runtime, conversationId) !== undefined;
    if (conversation.pendingAnswer !== undefined) {
      await this.guarded(runtime, conversationId, answered, () => this.deps.exchanges.resume(runtime, conversation));
    }
    if (assigned !== undefined && goOn())
      await this.guarded(runtime, conversationId, assigned, () => this.arrived(runtime, conversationId, assigned));
    const { enabled, maxMessages } = runtime.record.settings.combineMessages;
    const size = enabled ? maxMessages : 1;
    for (let i = 0; i < messages.length && goOn(); i += size) {
      await this.exchange(runtime, conversationId, messagesInbound(messages.slice(i, i + size)));
    }
  }

  private async exchange(runtime: Runtime, conversationId: string, inbound: Inbound): Promise<void> {
    await this.guarded(
      runtime,
      conversationId,
      inbound.eventType === 'CLOSE_CONVERSATION' ? undefined : inbound.upTo,
      () => this.deps.exchanges.run(runtime, conversationId, inbound),
    );
  }

  /**
   * A lost lease means another instance carries on. A store out of reach (restarting, a lock or
   * statement past its bound) holds the bot's work until it answers again, then what it owes is
   * recovered from it; either way what the task was answering stays owed. Anything else that
   * throws is this conversation's alone: it is escalated, the bot keeps its status — unless the
   * store itself fails, which is the platform's: SERVICE_INTERRUPTION, retried every minute.
   */
  private async guarded(
    runtime: Runtime,
    conversationId: string,
    upTo: number | undefined,
    task: () => Promise<unknown>,
  ): Promise<void> {
    try {
      await task();
    } catch (caught) {
      let error = caught;
      if (this.closed) return;
      // What this task took on was not answered, and stays owed: nothing here vouches for the
      // conversation any more, so whatever comes next for it is recovered from the store first.
      // Else a later message could be sent alone, and its answer's mark move past this one.
      if (error instanceof LeaseLost || isStoreUnavailable(error)) this.taken.delete(conversationId);
      if (error instanceof LeaseLost) {
        this.deps.log.info(
          { botId: runtime.record.id, conversationId },
          'bot driven elsewhere now: its new driver carries on',
        );
        return;
      }
      // Not the bot's fault nor the conversation's: a database restarting or out of reach.
      if (isStoreUnavailable(error)) {
        this.deps.log.warn(
          { err: error, botId: runtime.record.id, conversationId },
          'store out of reach during an exchange: answered once it is back',
        );
        this.deps.storeUnavailable(runtime);
        return;
      }
      const storeWorks = await this.deps.conversations.healthCheck().then(
        () => true,
        () => false,
      );
      if (storeWorks && upTo !== undefined) {
        this.deps.log.error(
          { err: error, botId: runtime.record.id, conversationId },
          'exchange failed: escalating the conversation',
        );
        try {
          const conversation = await this.deps.conversations.find(conversationId);
          if (conversation?.status === 'OPEN' && conversation.answeredSequence < upTo) {
            await this.deps.exchanges.escalateAndRecord(
              runtime,
              conversation,
              'ERROR',
              { code: 'platform-error', message: (error as Error).message },
              upTo,
            );
          }
          return;
        } catch (again) {
          if (again instanceof LeaseLost) return;
          error = again;
        }
      }
      this.deps.log.error(
        { err: error, botId: runtime.record.id, conversationId },
        'platform failed during an exchange',
      );
      this.deps.countError(runtime, 'platform-error');
      await this.deps
        .setStatus(runtime, 'SERVICE_INTERRUPTION', {
          code: 'platform-error',
          message: (error as Error).message,
          at: Date.now(),
        })
        .catch((err) => this.deps.log.error({ err }, 'could not record SERVICE_INTERRUPTION'));
    }
  }
}
