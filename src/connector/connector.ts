import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { Counter, Histogram } from 'prom-client';
import type { Store } from '../store/index.js';
import type { Directory } from '../platform/directory.js';
import type { Conversations } from '../platform/conversations.js';
import type { EventBus, PlatformEvent } from '../platform/bus.js';
import { isConsumerMessage } from '../platform/conversations.js';
import type { Conversation, ConversationEvent, Originator } from '../platform/types.js';
import type { Metrics } from '../ops/metrics.js';
import { HttpError, conflict, notFound } from '../http/errors.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { exceededJsonLimit } from '../util/json-bounds.js';
import type { SecretBox } from '../util/secret-box.js';
import { DEFAULT_LIMITS, MASKED_SECRET, applySettings, type BotInput, type BotSettings, type BotStatus, type VendorCredentials } from './bot-config.js';
import { BotStore, newExchangeId, type BotRecord, type Exchange, type ExchangeOutcome, type LastError } from './store.js';
import { CustomEndpointClient, VendorError, type RetryPolicy, type TokenIssuer, type VendorResponse } from './vendor-client.js';
import { closeEventBody, consumerEventBody, conversationBody, lastConsumerMessage, startEventBody } from './requests.js';
import { carryOut, isClosedError, type ExecutionContext, type Remainder } from './executor.js';
import { escalationPlan } from './escalation.js';
import { invokeFunction } from './functions.js';
import { parseBotResponse, type ParsedResponse, type StructuredContentValidator } from './parser/index.js';

export interface ConnectorDeps {
  store: Store;
  directory: Directory;
  conversations: Conversations;
  bus: EventBus;
  tokens: TokenIssuer;
  secretBox: SecretBox;
  /** Built once (schema compilation is slow) and shared with the Public API. */
  structuredContent: StructuredContentValidator;
  dispatcher: Dispatcher;
  log: Logger;
  metrics: Metrics;
  retry?: RetryPolicy;
  /** How often a bot in VENDOR_INTERRUPTION re-checks its endpoint. */
  probeIntervalMs?: number;
  /** How often a bot in SERVICE_INTERRUPTION retries (PRODUCT.md: every minute). */
  serviceRetryMs?: number;
  functionTimeoutMs?: number;
}

/** A bot as the admin API shows it: settings (secret masked) plus live state. */
export type BotView = BotSettings & {
  id: string;
  accountId: string;
  vendor: BotSettings['vendor'] & { clientSecret: string };
  status: BotStatus;
  openConversations: number;
  lastError: LastError | null;
};

export interface TestConnectionResult {
  ok: boolean;
  state?: string;
  version?: string;
  error?: string;
  code?: string;
}

interface Runtime {
  record: BotRecord;
  client: CustomEndpointClient;
  /** Conversations already created on the bot service (PUT done) since this process started. */
  known: Set<string>;
  /** Settles once the bot's status is known after start (resume): recovery waits for it. */
  resumed: Gate;
}

/** Consumer messages held back to be sent as one (combine messages). */
interface Combining {
  runtime: Runtime;
  events: ConversationEvent[];
  timer?: NodeJS.Timeout;
}

/** What the bot is asked to answer: one request, covering the conversation's log up to `upTo`. */
interface Inbound {
  eventType: string;
  upTo: number;
  body: (conversation: Conversation) => unknown;
}

interface Gate {
  promise: Promise<void>;
  open(): void;
}

/** Vendor failures that are about one answer, not the endpoint: the bot keeps its status. */
const ANSWER_FAULTS: ReadonlySet<string> = new Set(['vendor-response-too-large']);
/** Parser codes that say why a whole answer was refused (the escalation reason). */
const WHOLE_ANSWER_CODES: ReadonlySet<string> = new Set(['common-invalid-ai-vendor-response', 'common-invalid-parsed-response', 'common-too-many-items']);
/**
 * Deeper than any valid answer can be (structured content has its own, tighter bound inside);
 * checked before anything recursive walks the answer. Its size is bounded by maxResponseBytes.
 */
const ANSWER_SHAPE_LIMITS = { maxDepth: 64, maxNodes: Number.MAX_SAFE_INTEGER };
/** Response bodies beyond this are logged cut, as text. */
const LOGGED_BODY_MAX = 256 * 1024;

/**
 * The Custom Endpoint connector: bot configurations and lifecycle, and for every conversation a
 * bot holds, the exchange loop — create it on the bot service, send events, parse the answer,
 * carry it out, escalate when anything fails. One exchange at a time per conversation; other
 * conversations never wait.
 */
export class Connector {
  private readonly bots = new Map<string, Runtime>();
  private readonly byUser = new Map<string, Runtime>();
  private readonly lanes = new KeyedMutex();
  private readonly combining = new Map<string, Combining>();
  /** Per conversation, the last log entry claimed for its bot in this process (see take()). */
  private readonly taken = new Map<string, number>();
  private readonly inactivity = new Map<string, NodeJS.Timeout[]>();
  private readonly botStore: BotStore;
  private readonly stats;
  private probeTimer?: NodeJS.Timeout;
  private lastServiceRetry = 0;
  private unsubscribe?: () => void;
  private closed = false;

  constructor(private readonly deps: ConnectorDeps) {
    this.botStore = new BotStore(deps.store, (err, exchangesLost) => deps.log.error({ err, exchangesLost }, 'could not write the exchange log'));
    const registers = [deps.metrics.registry];
    this.stats = {
      exchanges: new Counter({ name: 'botbridge_connector_exchanges_total', help: 'Bot exchanges by outcome', labelNames: ['outcome'] as const, registers }),
      errors: new Counter({ name: 'botbridge_connector_errors_total', help: 'Connector errors by code', labelNames: ['code'] as const, registers }),
      vendorLatency: new Histogram({
        name: 'botbridge_connector_vendor_latency_seconds',
        help: 'Latency of Custom Endpoint calls (all attempts)',
        labelNames: ['call'] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers,
      }),
    };
  }

  /** Loads bots and subscribes to the platform; call resume() once the HTTP server listens. */
  /**
   * Loads bots, subscribes to the platform and queues the recovery of every conversation a bot
   * owes something (a crash cut an exchange short): each goes first in its conversation's lane,
   * so nothing arriving once the server listens overtakes it. Recovery waits for resume().
   */
  async init(): Promise<void> {
    for (const record of await this.botStore.all()) this.track(record, openGate(false));
    this.unsubscribe = this.deps.bus.subscribe((e) => this.onPlatformEvent(e));
    for (const conversation of await this.deps.conversations.awaitingAnswer([...this.byUser.keys()])) {
      const runtime = this.byUser.get(conversation.assignee!.userId)!;
      this.inLane(conversation.conversationId, async () => {
        await runtime.resumed.promise;
        if (!this.closed) await this.recover(runtime, conversation.conversationId);
      });
    }
    this.probeTimer = setInterval(() => void this.probe(), this.deps.probeIntervalMs ?? 10_000);
    this.probeTimer.unref();
  }

  /**
   * Brings back the bots an operator had started: a test connection each; a bot whose endpoint
   * is down waits in VENDOR_INTERRUPTION until the probe sees it online. Then the recovery
   * queued by init() runs: what a bot owes is answered (or escalated, if it cannot be).
   */
  async resume(): Promise<void> {
    for (const runtime of this.bots.values()) {
      try {
        if (runtime.record.desired !== 'STARTED') continue;
        const test = await this.testWith(runtime.client);
        if (test.ok) await this.setStatus(runtime, 'ONLINE', null);
        else await this.setStatus(runtime, 'VENDOR_INTERRUPTION', { code: test.code ?? 'vendor-unreachable', message: test.error ?? 'test connection failed', at: Date.now() });
      } finally {
        runtime.resumed.open();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    if (this.probeTimer) clearInterval(this.probeTimer);
    for (const runtime of this.bots.values()) runtime.resumed.open();
    for (const p of this.combining.values()) clearTimeout(p.timer);
    for (const timers of this.inactivity.values()) timers.forEach(clearTimeout);
    this.combining.clear();
    await this.botStore.drain();
  }

  // ---- configuration ----

  async create(accountId: string, input: BotInput & { vendor: { clientSecret: string } }): Promise<BotView> {
    await this.deps.directory.requireAccount(accountId);
    const settings = applySettings(input);
    await this.requireSkills(accountId, settings);
    const id = randomUUID();
    const user = await this.deps.directory.createUser(accountId, {
      loginName: `bot-${id}`,
      userType: 'BOT',
      skills: settings.skills,
      maxConversations: null,
      botId: id,
    });
    const record: BotRecord = {
      id,
      accountId,
      userId: user.id,
      settings,
      clientSecretSealed: this.deps.secretBox.seal(input.vendor.clientSecret),
      status: 'OFFLINE',
      desired: 'STOPPED',
      lastError: null,
    };
    await this.botStore.insert(record);
    this.track(record, openGate(true));
    return this.view(this.bots.get(id)!);
  }

  async list(accountId: string): Promise<BotView[]> {
    await this.deps.directory.requireAccount(accountId);
    const mine = [...this.bots.values()].filter((r) => r.record.accountId === accountId);
    return Promise.all(mine.map((r) => this.view(r)));
  }

  async get(accountId: string, id: string): Promise<BotView> {
    return this.view(this.runtime(accountId, id));
  }

  async patch(accountId: string, id: string, input: BotInput): Promise<BotView> {
    const runtime = this.runtime(accountId, id);
    const settings = applySettings(input, runtime.record.settings);
    await this.requireSkills(accountId, settings);
    const secret = input.vendor?.clientSecret && input.vendor.clientSecret !== MASKED_SECRET ? input.vendor.clientSecret : undefined;
    const clientSecretSealed = secret ? this.deps.secretBox.seal(secret) : runtime.record.clientSecretSealed;
    await this.botStore.update(id, { settings, clientSecretSealed });
    if (input.skills) await this.deps.directory.setUserSkills(accountId, runtime.record.userId, settings.skills);
    this.track({ ...runtime.record, settings, clientSecretSealed }, runtime.resumed);
    return this.view(this.bots.get(id)!);
  }

  /** Deletes the bot; conversations it still holds go back to routing (escalation skill first). */
  async remove(accountId: string, id: string): Promise<void> {
    const runtime = this.runtime(accountId, id);
    await this.setStatus(runtime, 'OFFLINE', runtime.record.lastError);
    for (const conversation of await this.deps.conversations.heldBy(accountId, runtime.record.userId)) {
      const skill = runtime.record.settings.escalation.skill ?? conversation.skill.name;
      await this.deps.conversations
        .transfer(accountId, conversation.conversationId, { role: 'SYSTEM' }, { skill })
        .catch((err) => this.deps.log.warn({ err, conversationId: conversation.conversationId }, 'could not hand over a deleted bot’s conversation'));
    }
    await this.botStore.remove(id);
    await this.deps.directory.deleteUser(accountId, runtime.record.userId);
    this.bots.delete(id);
    this.byUser.delete(runtime.record.userId);
  }

  // ---- vendor checks ----

  async environments(accountId: string, id: string): Promise<string[]> {
    return this.vendorCall(() => this.runtime(accountId, id).client.environments());
  }

  /** Environments for credentials not saved yet (the console's create form). */
  async environmentsFor(accountId: string, vendor: VendorCredentials): Promise<string[]> {
    await this.deps.directory.requireAccount(accountId);
    return this.vendorCall(() => this.clientFor(accountId, vendor).environments());
  }

  async testConnection(accountId: string, id: string): Promise<TestConnectionResult> {
    return this.testWith(this.runtime(accountId, id).client);
  }

  async testConnectionFor(accountId: string, vendor: VendorCredentials): Promise<TestConnectionResult> {
    await this.deps.directory.requireAccount(accountId);
    return this.testWith(this.clientFor(accountId, vendor));
  }

  // ---- lifecycle ----

  /** Runs a test connection first; a failing test refuses the start with its reason (409). */
  async start(accountId: string, id: string): Promise<{ status: BotStatus }> {
    const runtime = this.runtime(accountId, id);
    const test = await this.testWith(runtime.client);
    if (!test.ok) {
      const lastError = { code: test.code ?? 'vendor-unreachable', message: test.error ?? 'test connection failed', at: Date.now() };
      await this.botStore.update(id, { lastError });
      runtime.record.lastError = lastError;
      throw conflict(`test connection failed: ${test.error}`, test.code ?? 'test-connection-failed');
    }
    runtime.record.desired = 'STARTED';
    await this.botStore.update(id, { desired: 'STARTED' });
    await this.setStatus(runtime, 'ONLINE', null);
    return { status: runtime.record.status };
  }

  async stop(accountId: string, id: string): Promise<{ status: BotStatus }> {
    const runtime = this.runtime(accountId, id);
    runtime.record.desired = 'STOPPED';
    await this.botStore.update(id, { desired: 'STOPPED' });
    await this.setStatus(runtime, 'OFFLINE', runtime.record.lastError);
    return { status: 'OFFLINE' };
  }

  async logs(accountId: string, id: string, options: { conversationId?: string; limit?: number }): Promise<Exchange[]> {
    this.runtime(accountId, id);
    return this.botStore.exchanges(id, { conversationId: options.conversationId, limit: options.limit ?? 100 });
  }

  /** A conversation handed straight to this bot, for the console's tester. */
  async testConversation(accountId: string, id: string): Promise<Conversation> {
    const runtime = this.runtime(accountId, id);
    const { settings } = runtime.record;
    return this.deps.conversations.open(accountId, { skill: settings.skills[0], type: settings.conversationType, assignTo: runtime.record.userId });
  }

  // ---- the exchange loop ----

  private onPlatformEvent(e: PlatformEvent): void {
    if (this.closed) return;
    const conversation = e.conversation;
    const holder = conversation.assignee ? this.byUser.get(conversation.assignee.userId) : undefined;
    switch (e.type) {
      case 'conversation.assigned': {
        const previous = e.previousAssignee ? this.byUser.get(e.previousAssignee.userId) : undefined;
        if (previous && previous !== holder) this.forget(conversation.conversationId);
        if (holder && holder !== previous) {
          // A new holder owes an answer from its ASSIGN entry on: the one just after what it has answered.
          const assigned = conversation.answeredSequence + 1;
          this.inLane(conversation.conversationId, () =>
            this.guarded(holder, conversation.conversationId, assigned, async () => {
              if (this.take(conversation.conversationId, assigned)) await this.arrived(holder, conversation.conversationId, assigned);
            }),
          );
        }
        break;
      }
      case 'conversation.event':
        if (holder && isConsumerMessage(e.event)) this.consumerMessage(holder, conversation.conversationId, e.event);
        break;
      case 'conversation.typing':
        if (holder && e.originator.role === 'CONSUMER') this.consumerTyping(conversation.conversationId, e.typing);
        break;
      case 'conversation.closed':
        this.forget(conversation.conversationId);
        if (holder?.record.settings.survey && !conversation.closedWithoutPcs) {
          const inbound: Inbound = { eventType: 'CLOSE_CONVERSATION', upTo: conversation.lastSequence, body: (c) => closeEventBody(c) };
          this.inLane(conversation.conversationId, () => this.exchange(holder, conversation.conversationId, inbound));
        }
        break;
      default:
        break;
    }
  }

  private inLane(conversationId: string, task: () => Promise<unknown>): void {
    void this.lanes.run(conversationId, task).catch((err) => this.deps.log.error({ err, conversationId }, 'connector task failed'));
  }

  /**
   * Claims the log up to `upTo` for the bot in this process; false when it is claimed already.
   * Recovery claims everything it reads from the store, so events announced meanwhile (queued
   * behind it in the conversation's lane) do not reach the bot a second time.
   */
  private take(conversationId: string, upTo: number): boolean {
    if (upTo <= (this.taken.get(conversationId) ?? 0)) return false;
    this.taken.set(conversationId, upTo);
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
    const conversation = await this.deps.conversations.find(conversationId);
    if (!conversation || conversation.answeredSequence >= assigned || conversation.assignee?.userId !== runtime.record.userId) return;
    const held = conversation.holderLoad ?? 0;
    if (held >= settings.maxOpenConversations) {
      const reason = { code: 'bot-capacity-reached', message: `bot held ${held} open conversations when it got this one, its maximum is ${settings.maxOpenConversations}` };
      await this.escalateAndRecord(runtime, conversation, 'ARRIVAL', reason, assigned);
      return;
    }
    if (!settings.welcomeEvent) return;
    const history = await this.deps.conversations.eventsAfter(conversationId, 0);
    const last = lastConsumerMessage(history.filter((e) => e.sequence < assigned));
    await this.runExchange(runtime, conversationId, { eventType: 'START', upTo: assigned, body: (c) => startEventBody(c, last) });
  }

  private consumerMessage(runtime: Runtime, conversationId: string, event: ConversationEvent): void {
    if (event.sequence <= (this.taken.get(conversationId) ?? 0)) return;
    this.clearInactivity(conversationId);
    const combine = runtime.record.settings.combineMessages;
    if (!combine.enabled) {
      this.inLane(conversationId, () => this.answerMessages(runtime, conversationId, [event]));
      return;
    }
    const pending = this.combining.get(conversationId) ?? { runtime, events: [] };
    this.combining.set(conversationId, pending);
    pending.events.push(event);
    if (pending.events.length >= combine.maxMessages) this.flush(conversationId);
    else this.hold(conversationId, combine.timeFrameSeconds * 1000);
  }

  /** Typing extends the combine window: wait for the consumer to finish their thought. */
  private consumerTyping(conversationId: string, typing: boolean): void {
    const pending = this.combining.get(conversationId);
    if (!pending) return;
    const { timeFrameSeconds, timeFrameAfterTypingSeconds } = pending.runtime.record.settings.combineMessages;
    this.hold(conversationId, (typing ? timeFrameSeconds + timeFrameAfterTypingSeconds : timeFrameAfterTypingSeconds) * 1000);
  }

  private hold(conversationId: string, ms: number): void {
    const pending = this.combining.get(conversationId);
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.timer = setTimeout(() => this.flush(conversationId), ms);
  }

  private flush(conversationId: string): void {
    const pending = this.combining.get(conversationId);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.combining.delete(conversationId);
    this.inLane(conversationId, () => this.answerMessages(pending.runtime, conversationId, pending.events));
  }

  /** Consumer messages (one, or several combined) as one exchange, unless claimed already. */
  private async answerMessages(runtime: Runtime, conversationId: string, events: ConversationEvent[]): Promise<void> {
    const fresh = events.filter((e) => e.sequence > (this.taken.get(conversationId) ?? 0));
    if (!fresh.length) return;
    const inbound = messagesInbound(fresh);
    this.take(conversationId, inbound.upTo);
    await this.exchange(runtime, conversationId, inbound);
  }

  /** The conversation left the bot (or closed): drop what was held for it in memory. */
  private forget(conversationId: string): void {
    const pending = this.combining.get(conversationId);
    if (pending) clearTimeout(pending.timer);
    this.combining.delete(conversationId);
    this.taken.delete(conversationId);
    this.clearInactivity(conversationId);
    // Should it come back, a 409 on the PUT costs less than remembering every conversation ever held.
    for (const runtime of this.bots.values()) runtime.known.delete(conversationId);
  }

  /**
   * What the bot owes a conversation after a crash or an outage, from the store: the rest of an
   * answer a DELAY had paused, then every entry after what it answered — its own assignment (the
   * welcome event) and the consumer's messages — in order, before anything newer.
   */
  private async recover(runtime: Runtime, conversationId: string): Promise<void> {
    const conversation = await this.deps.conversations.find(conversationId);
    if (!conversation || conversation.status !== 'OPEN' || conversation.assignee?.userId !== runtime.record.userId) return;
    const answered = conversation.answeredSequence;
    const owed = await this.deps.conversations.eventsAfter(conversationId, answered);
    const messages = owed.filter(isConsumerMessage);
    const assigned = owed.find((e) => e.type === 'ASSIGN' && e.assignee?.userId === runtime.record.userId)?.sequence;
    const last = Math.max(assigned ?? 0, ...messages.map((e) => e.sequence));
    if (last > 0) this.taken.set(conversationId, Math.max(last, this.taken.get(conversationId) ?? 0));
    this.deps.log.info({ botId: runtime.record.id, conversationId, answered, owed: messages.length, pending: conversation.pendingAnswer !== undefined }, 'recovering a conversation');

    if (conversation.pendingAnswer !== undefined) {
      await this.guarded(runtime, conversationId, answered, () => this.resumeAnswer(runtime, conversation));
    }
    if (assigned !== undefined) await this.guarded(runtime, conversationId, assigned, () => this.arrived(runtime, conversationId, assigned));
    const { enabled, maxMessages } = runtime.record.settings.combineMessages;
    const size = enabled ? maxMessages : 1;
    for (let i = 0; i < messages.length; i += size) {
      await this.exchange(runtime, conversationId, messagesInbound(messages.slice(i, i + size)));
    }
  }

  /** Every conversation of the bot that awaits something of it, each recovered in its lane. */
  private async recoverAll(runtime: Runtime): Promise<void> {
    for (const conversation of await this.deps.conversations.awaitingAnswer([runtime.record.userId])) {
      this.inLane(conversation.conversationId, () => this.recover(runtime, conversation.conversationId));
    }
  }

  /** The rest of an answer that a crash (or an outage) interrupted during a DELAY. */
  private async resumeAnswer(runtime: Runtime, conversation: Conversation): Promise<void> {
    const started = Date.now();
    const exchange = newExchange(runtime.record.id, conversation.conversationId, 'RESUME', started);
    exchange.effects.push('resumed an answer interrupted by a restart');
    const result = await carryOut(this.executionContext(runtime, conversation, conversation.answeredSequence), conversation.pendingAnswer as Remainder, true);
    exchange.effects.push(...result.effects);
    exchange.errors.push(...result.errors);
    if (result.escalate) exchange.effects.push(...(await this.escalation(runtime, conversation, result.escalate, conversation.answeredSequence)));
    this.finish(exchange, result.escalate ? 'ESCALATED' : exchange.errors.length ? 'PARTIAL' : 'PROCESSED', started);
  }

  /**
   * One exchange: make sure the bot service knows the conversation, send the event (404 →
   * create again and resend, once), parse, carry out, escalate on failure, record it all.
   */
  private async exchange(runtime: Runtime, conversationId: string, inbound: Inbound): Promise<void> {
    await this.guarded(runtime, conversationId, inbound.eventType === 'CLOSE_CONVERSATION' ? undefined : inbound.upTo, () =>
      this.runExchange(runtime, conversationId, inbound),
    );
  }

  /**
   * A failure of the store is the platform's: the bot goes to SERVICE_INTERRUPTION (retried
   * every minute), and what it was answering stays owed, to be answered on recovery. Anything
   * else that throws is this conversation's alone: it is escalated, the bot keeps its status.
   */
  private async guarded(runtime: Runtime, conversationId: string, upTo: number | undefined, task: () => Promise<unknown>): Promise<void> {
    try {
      await task();
    } catch (error) {
      if (this.closed) return;
      const storeWorks = await this.deps.conversations.healthCheck().then(
        () => true,
        () => false,
      );
      if (storeWorks && upTo !== undefined) {
        this.deps.log.error({ err: error, botId: runtime.record.id, conversationId }, 'exchange failed: escalating the conversation');
        try {
          const conversation = await this.deps.conversations.find(conversationId);
          if (conversation?.status === 'OPEN' && conversation.answeredSequence < upTo) {
            await this.escalateAndRecord(runtime, conversation, 'ERROR', { code: 'platform-error', message: (error as Error).message }, upTo);
          }
          return;
        } catch (again) {
          error = again;
        }
      }
      this.deps.log.error({ err: error, botId: runtime.record.id, conversationId }, 'platform failed during an exchange');
      this.stats.errors.inc({ code: 'platform-error' });
      await this.setStatus(runtime, 'SERVICE_INTERRUPTION', { code: 'platform-error', message: (error as Error).message, at: Date.now() }).catch(
        (err) => this.deps.log.error({ err }, 'could not record SERVICE_INTERRUPTION'),
      );
    }
  }

  private async runExchange(runtime: Runtime, conversationId: string, inbound: Inbound): Promise<void> {
    const { eventType, upTo } = inbound;
    const conversation = await this.deps.conversations.find(conversationId);
    if (!conversation) return;
    const stillHeld = conversation.assignee?.userId === runtime.record.userId;
    if (!stillHeld) return;
    if (eventType !== 'CLOSE_CONVERSATION' && (conversation.status !== 'OPEN' || conversation.answeredSequence >= upTo)) return;

    const started = Date.now();
    const exchange = newExchange(runtime.record.id, conversationId, eventType, started);
    const escalateWith = async (reason: { code: string; message: string }) => {
      exchange.errors.push(reason);
      if (conversation.status === 'OPEN') exchange.effects.push(...(await this.escalation(runtime, conversation, reason, upTo)));
      this.finish(exchange, 'ESCALATED', started);
    };

    if (runtime.record.status !== 'ONLINE') {
      return escalateWith({
        code: runtime.record.status === 'OFFLINE' ? 'bot-offline' : (runtime.record.lastError?.code ?? 'vendor-unreachable'),
        message: `bot is ${runtime.record.status}${runtime.record.lastError ? `: ${runtime.record.lastError.message}` : ''}`,
      });
    }

    const body = inbound.body(conversation);
    exchange.request = { method: 'POST', url: `${runtime.record.settings.vendor.baseUrl}/v1/bots/${runtime.record.settings.vendor.botId}/environments/${runtime.record.settings.vendor.environment}/conversations/${conversationId}/events`, body };
    let answer;
    try {
      if (!runtime.known.has(conversationId)) await this.createOnVendor(runtime, conversation);
      answer = await this.timed('events', () => runtime.client.postEvent(conversationId, body));
      exchange.attempts = answer.attempts;
      if (answer.status === 404) {
        // The service lost the conversation (restart, eviction): create it again, resend once.
        exchange.effects.push('bot service answered 404: conversation created again and event resent');
        await this.createOnVendor(runtime, conversation);
        answer = await this.timed('events', () => runtime.client.postEvent(conversationId, body));
        exchange.attempts += answer.attempts;
        if (answer.status === 404) throw new VendorError('vendor-http-error', 'bot service answered 404 again after the conversation was re-created', { status: 404, attempts: exchange.attempts, durationMs: answer.durationMs, body: answer.text });
      }
      exchange.response = { status: answer.status, body: loggedBody(answer), durationMs: Math.round(answer.durationMs) };
    } catch (error) {
      if (!(error instanceof VendorError)) throw error;
      exchange.attempts = Math.max(exchange.attempts, error.details.attempts);
      if (error.details.status !== undefined) {
        exchange.response = { status: error.details.status, body: parseMaybe(error.details.body), durationMs: Math.round(error.details.durationMs) };
      }
      // The service answered, but this answer was unusable: one conversation's problem, not the bot's.
      if (!ANSWER_FAULTS.has(error.code)) await this.setStatus(runtime, 'VENDOR_INTERRUPTION', { code: error.code, message: error.message, at: Date.now() });
      return escalateWith({ code: error.code, message: error.message });
    }
    if (runtime.record.lastError) await this.setStatus(runtime, 'ONLINE', null);

    if (answer.notJson) return escalateWith({ code: 'vendor-malformed-response', message: answer.notJson });
    const tooDeep = exceededJsonLimit(answer.body, ANSWER_SHAPE_LIMITS);
    if (tooDeep) {
      // Kept as text: nothing recursive (the parser, the log's JSON) walks it.
      exchange.response = { status: answer.status, body: answer.text.slice(0, LOGGED_BODY_MAX), durationMs: Math.round(answer.durationMs) };
      const at = tooDeep.pointer.length > 120 ? `${tooDeep.pointer.slice(0, 120)}…` : tooDeep.pointer;
      return escalateWith({ code: 'vendor-response-too-deep', message: `the answer nests deeper than ${tooDeep.limit} levels (at ${at})` });
    }
    let parsed: ParsedResponse;
    try {
      parsed = parseBotResponse(answer.body, { conversationType: conversation.type, limits: runtime.record.settings.limits }, this.deps.structuredContent);
    } catch (error) {
      // The parser is bounded and total; should it still throw, the answer is what was wrong.
      return escalateWith({ code: 'common-invalid-ai-vendor-response', message: `the answer could not be read: ${(error as Error).message}` });
    }
    exchange.parsed = { items: parsed.items, action: parsed.action ?? null, intents: parsed.intents };
    exchange.errors.push(...parsed.errors.map((e) => ({ code: e.code, message: e.message, ...(e.path ? { path: e.path } : {}) })));
    if (conversation.status !== 'OPEN') {
      exchange.effects.push('conversation closed: answer recorded, nothing delivered');
      return this.finish(exchange, parsed.usable ? 'PROCESSED' : 'FAILED', started);
    }
    if (!parsed.usable) {
      const reason = parsed.errors.find((e) => WHOLE_ANSWER_CODES.has(e.code)) ?? {
        code: 'common-invalid-parsed-response',
        message: 'no valid message or action in the bot response',
      };
      exchange.effects.push(...(await this.escalation(runtime, conversation, { code: reason.code, message: reason.message }, upTo)));
      return this.finish(exchange, 'ESCALATED', started);
    }

    const result = await carryOut(this.executionContext(runtime, conversation, upTo), { items: parsed.items, ...(parsed.action ? { action: parsed.action } : {}) }, false);
    exchange.effects.push(...result.effects);
    exchange.errors.push(...result.errors);
    if (result.escalate) {
      exchange.effects.push(...(await this.escalation(runtime, conversation, result.escalate, upTo)));
      return this.finish(exchange, 'ESCALATED', started);
    }
    this.armInactivity(runtime, conversationId);
    this.finish(exchange, exchange.errors.length ? 'PARTIAL' : 'PROCESSED', started);
  }

  private finish(exchange: Exchange, outcome: ExchangeOutcome, started: number): void {
    exchange.outcome = outcome;
    exchange.durationMs = Date.now() - started;
    this.stats.exchanges.inc({ outcome });
    for (const e of exchange.errors) this.stats.errors.inc({ code: e.code });
    this.botStore.recordExchange(exchange);
  }

  private executionContext(runtime: Runtime, conversation: Conversation, answers: number): ExecutionContext {
    return {
      conversations: this.deps.conversations,
      findSkill: (accountId, name) => this.deps.directory.findSkill(accountId, name),
      invoke: this.invoke,
      conversation,
      bot: { role: 'BOT', userId: runtime.record.userId },
      answers,
    };
  }

  private async createOnVendor(runtime: Runtime, conversation: Conversation): Promise<void> {
    await this.timed('conversation', () => runtime.client.putConversation(conversation.conversationId, conversationBody(conversation, runtime.record.settings)));
    runtime.known.add(conversation.conversationId);
  }

  /**
   * Escalates in one change that also marks `answers` answered: the consumer never hears the
   * escalation twice, and never not at all. The error hook is called once that change is written.
   */
  private async escalation(runtime: Runtime, conversation: Conversation, reason: { code: string; message: string }, answers: number): Promise<string[]> {
    const { accountId, conversationId } = conversation;
    this.deps.log.warn({ botId: runtime.record.id, conversationId, code: reason.code }, reason.message);
    const plan = await escalationPlan(runtime.record.settings, reason, (name) => this.deps.directory.findSkill(accountId, name));
    try {
      await this.deps.conversations.act(accountId, conversationId, { role: 'BOT', userId: runtime.record.userId }, plan.steps, { answered: { sequence: answers, pending: null } });
    } catch (error) {
      if (!isClosedError(error)) throw error;
      return [`escalating (${reason.code})`, 'conversation already closed: nothing to escalate'];
    }
    const effects = [...plan.effects];
    const hook = runtime.record.settings.escalation.errorHookLambdaUuid;
    if (hook) {
      const transferred = plan.steps.some((step) => step.kind === 'transfer');
      const called = await this.invoke(accountId, hook, { botId: runtime.record.id, accountId, conversationId, error: reason, transferred });
      effects.push(called.ok ? 'called error hook' : `error hook failed: ${called.error}`);
    }
    return effects;
  }

  private async escalateAndRecord(runtime: Runtime, conversation: Conversation, eventType: string, reason: { code: string; message: string }, answers: number): Promise<void> {
    const started = Date.now();
    const exchange = newExchange(runtime.record.id, conversation.conversationId, eventType, started);
    exchange.errors.push(reason);
    exchange.effects.push(...(await this.escalation(runtime, conversation, reason, answers)));
    this.finish(exchange, 'ESCALATED', started);
  }

  private readonly invoke = (accountId: string, lambdaUuid: string, payload: unknown) =>
    invokeFunction({ directory: this.deps.directory, dispatcher: this.deps.dispatcher, timeoutMs: this.deps.functionTimeoutMs ?? 10_000 }, accountId, lambdaUuid, payload);

  /** Chat inactivity (CHAT bots): a warning, then a close, unless the consumer writes first. */
  private armInactivity(runtime: Runtime, conversationId: string): void {
    const { chatInactivity, conversationType } = runtime.record.settings;
    if (!chatInactivity.enabled || conversationType !== 'CHAT') return;
    this.clearInactivity(conversationId);
    const bot: Originator = { role: 'BOT', userId: runtime.record.userId };
    const acc = runtime.record.accountId;
    // The conversation may close or move meanwhile (409/404: nothing to do); anything else is logged.
    const attempt = (what: string, work: () => Promise<unknown>) =>
      work().catch((err) => {
        if (isClosedError(err) || (err instanceof HttpError && err.statusCode === 404)) return;
        this.deps.log.error({ err, botId: runtime.record.id, conversationId }, `chat inactivity: could not ${what}`);
      });
    const warn = setTimeout(
      () => this.inLane(conversationId, () => attempt('send the warning', () => this.deps.conversations.post(acc, conversationId, bot, { text: chatInactivity.warningText }))),
      chatInactivity.warningAfterSeconds * 1000,
    );
    const close = setTimeout(
      () =>
        this.inLane(conversationId, () =>
          attempt('close the conversation', () =>
            this.deps.conversations.act(acc, conversationId, bot, [
              { kind: 'message', message: { text: chatInactivity.closeText } },
              { kind: 'close', reason: 'BOT' },
            ]),
          ),
        ),
      chatInactivity.closeAfterSeconds * 1000,
    );
    this.inactivity.set(conversationId, [warn, close]);
  }

  private clearInactivity(conversationId: string): void {
    this.inactivity.get(conversationId)?.forEach(clearTimeout);
    this.inactivity.delete(conversationId);
  }

  // ---- status ----

  private async setStatus(runtime: Runtime, status: BotStatus, lastError: LastError | null): Promise<void> {
    const changed = runtime.record.status !== status;
    runtime.record.status = status;
    runtime.record.lastError = lastError;
    await this.botStore.update(runtime.record.id, { status, lastError });
    // A bot in an interruption still takes conversations (and escalates them): only OFFLINE stops routing.
    const online = status !== 'OFFLINE';
    await this.deps.directory.setUserState(runtime.record.userId, online ? 'ONLINE' : 'OFFLINE');
    if (changed) this.deps.log.info({ botId: runtime.record.id, status, code: lastError?.code }, 'bot status changed');
    if (changed && status === 'ONLINE') {
      const skills = await Promise.all(runtime.record.settings.skills.map((s) => this.deps.directory.findSkill(runtime.record.accountId, s)));
      await this.deps.conversations.routeQueued(runtime.record.accountId, skills.flatMap((s) => (s ? [s.id] : [])));
    }
  }

  /** Interrupted bots re-check their endpoint; back to ONLINE as soon as it answers online. */
  private async probe(): Promise<void> {
    const serviceDue = Date.now() - this.lastServiceRetry >= (this.deps.serviceRetryMs ?? 60_000);
    if (serviceDue) this.lastServiceRetry = Date.now();
    for (const runtime of this.bots.values()) {
      const { status } = runtime.record;
      if (status === 'VENDOR_INTERRUPTION' || (status === 'SERVICE_INTERRUPTION' && serviceDue)) {
        try {
          if (status === 'SERVICE_INTERRUPTION') await this.deps.conversations.healthCheck();
          const test = await this.testWith(runtime.client);
          if (this.closed) return;
          if (!test.ok) continue;
          await this.setStatus(runtime, 'ONLINE', null);
          // What the bot could not answer while the platform failed is answered now.
          if (status === 'SERVICE_INTERRUPTION') await this.recoverAll(runtime);
        } catch (err) {
          this.deps.log.warn({ err, botId: runtime.record.id }, 'bot still interrupted');
        }
      }
    }
  }

  private async testWith(client: CustomEndpointClient): Promise<TestConnectionResult> {
    try {
      const { state, version } = await this.timed('state', () => client.state());
      if (state !== 'online') return { ok: false, state, version, code: 'bot-state-not-online', error: `bot state is '${state}', only 'online' passes` };
      return { ok: true, state, version };
    } catch (error) {
      if (error instanceof VendorError) return { ok: false, code: error.code, error: error.message };
      throw error;
    }
  }

  private async vendorCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof VendorError) throw new HttpError(502, error.code, error.message);
      throw error;
    }
  }

  private async timed<T>(call: string, fn: () => Promise<T>): Promise<T> {
    const end = this.stats.vendorLatency.startTimer({ call });
    try {
      return await fn();
    } finally {
      end();
    }
  }

  private track(record: BotRecord, resumed: Gate): void {
    const previous = this.bots.get(record.id);
    const runtime: Runtime = {
      record,
      client: this.clientFor(record.accountId, { ...record.settings.vendor, clientSecret: this.deps.secretBox.open(record.clientSecretSealed) }, record.settings.limits.maxResponseBytes),
      known: previous?.known ?? new Set(),
      resumed,
    };
    this.bots.set(record.id, runtime);
    this.byUser.set(record.userId, runtime);
  }

  private clientFor(accountId: string, vendor: VendorCredentials, maxResponseBytes = DEFAULT_LIMITS.maxResponseBytes): CustomEndpointClient {
    const full: VendorCredentials = { ...vendor, environment: vendor.environment ?? 'draft', timeoutSeconds: vendor.timeoutSeconds ?? 60 };
    return new CustomEndpointClient(accountId, full, { dispatcher: this.deps.dispatcher, tokens: this.deps.tokens, retry: this.deps.retry, maxResponseBytes });
  }

  private runtime(accountId: string, id: string): Runtime {
    const runtime = this.bots.get(id);
    if (!runtime || runtime.record.accountId !== accountId) throw notFound(`unknown bot '${id}'`);
    return runtime;
  }

  private async requireSkills(accountId: string, settings: BotSettings): Promise<void> {
    const names = [...settings.skills, ...(settings.escalation.skill ? [settings.escalation.skill] : [])];
    for (const name of names) {
      if (!(await this.deps.directory.findSkill(accountId, name))) throw new HttpError(400, 'unknown-skill', `unknown skill '${name}'`);
    }
  }

  private async view(runtime: Runtime): Promise<BotView> {
    const { record } = runtime;
    return {
      id: record.id,
      accountId: record.accountId,
      ...record.settings,
      vendor: { ...record.settings.vendor, clientSecret: MASKED_SECRET },
      status: record.status,
      openConversations: await this.deps.conversations.countHeldBy(record.userId),
      lastError: record.lastError,
    };
  }
}

function parseMaybe(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function messagesInbound(events: ConversationEvent[]): Inbound {
  const last = events[events.length - 1];
  return { eventType: events.length === 1 ? last.type : 'TEXT', upTo: last.sequence, body: (c) => consumerEventBody(c, events) };
}

function newExchange(botId: string, conversationId: string, eventType: string, startedAt: number): Exchange {
  return {
    id: newExchangeId(startedAt),
    botId,
    conversationId,
    eventType,
    startedAt,
    durationMs: 0,
    attempts: 0,
    request: null,
    response: null,
    parsed: null,
    errors: [],
    effects: [],
    outcome: 'PROCESSED',
  };
}

/** The answer as the log keeps it: parsed when it is JSON of a sane size, else (the start of) its text. */
function loggedBody(answer: VendorResponse): unknown {
  if (answer.text.length <= LOGGED_BODY_MAX) return answer.body;
  return `${answer.text.slice(0, LOGGED_BODY_MAX)}… (${answer.text.length} characters in all; the log keeps the first ${LOGGED_BODY_MAX})`;
}

function openGate(open: boolean): Gate {
  let resolve!: () => void;
  const promise = open ? Promise.resolve() : new Promise<void>((r) => (resolve = r));
  return { promise, open: () => resolve?.() };
}

