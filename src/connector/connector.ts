import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { Counter, Histogram } from 'prom-client';
import type { Store } from '../store/index.js';
import type { Directory } from '../platform/directory.js';
import type { Conversations } from '../platform/conversations.js';
import type { EventBus, PlatformEvent } from '../platform/bus.js';
import type { Conversation, ConversationEvent, Originator } from '../platform/types.js';
import type { Metrics } from '../ops/metrics.js';
import { HttpError, conflict, notFound } from '../http/errors.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import type { SecretBox } from '../util/secret-box.js';
import { MASKED_SECRET, applySettings, type BotInput, type BotSettings, type BotStatus, type VendorCredentials } from './bot-config.js';
import { BotStore, newExchangeId, type BotRecord, type Exchange, type ExchangeOutcome, type LastError } from './store.js';
import { CustomEndpointClient, VendorError, type RetryPolicy, type TokenIssuer } from './vendor-client.js';
import { closeEventBody, consumerEventBody, conversationBody, lastConsumerMessage, startEventBody } from './requests.js';
import { execute } from './executor.js';
import { escalate } from './escalation.js';
import { invokeFunction } from './functions.js';
import { parseBotResponse, type StructuredContentValidator } from './parser/index.js';

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
}

interface PendingMessages {
  runtime: Runtime;
  events: ConversationEvent[];
  timer?: NodeJS.Timeout;
}

const CONSUMER_MESSAGE_TYPES = new Set(['TEXT', 'RICH_CONTENT', 'FILE']);

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
  private readonly pending = new Map<string, PendingMessages>();
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
  async init(): Promise<void> {
    for (const record of await this.botStore.all()) this.track(record);
    this.unsubscribe = this.deps.bus.subscribe((e) => this.onPlatformEvent(e));
    this.probeTimer = setInterval(() => void this.probe(), this.deps.probeIntervalMs ?? 10_000);
    this.probeTimer.unref();
  }

  /**
   * Brings back the bots an operator had started: a test connection each; a bot whose endpoint
   * is down waits in VENDOR_INTERRUPTION until the probe sees it online. Then replays consumer
   * messages that were accepted but never answered (the process stopped mid-way).
   */
  async resume(): Promise<void> {
    for (const runtime of this.bots.values()) {
      if (runtime.record.desired !== 'STARTED') continue;
      const test = await this.testWith(runtime.client);
      if (test.ok) await this.setStatus(runtime, 'ONLINE', null);
      else await this.setStatus(runtime, 'VENDOR_INTERRUPTION', { code: test.code ?? 'vendor-unreachable', message: test.error ?? 'test connection failed', at: Date.now() });
      await this.replayUnanswered(runtime);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    if (this.probeTimer) clearInterval(this.probeTimer);
    for (const p of this.pending.values()) clearTimeout(p.timer);
    for (const timers of this.inactivity.values()) timers.forEach(clearTimeout);
    this.pending.clear();
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
    this.track(record);
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
    this.track({ ...runtime.record, settings, clientSecretSealed });
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
          this.inLane(conversation.conversationId, () => this.guarded(holder, conversation.conversationId, () => this.arrived(holder, conversation.conversationId)));
        }
        break;
      }
      case 'conversation.event':
        if (holder && e.event.originator.role === 'CONSUMER' && CONSUMER_MESSAGE_TYPES.has(e.event.type)) {
          this.consumerMessage(holder, conversation.conversationId, e.event);
        }
        break;
      case 'conversation.typing':
        if (holder && e.originator.role === 'CONSUMER') this.consumerTyping(conversation.conversationId, e.typing);
        break;
      case 'conversation.closed':
        this.forget(conversation.conversationId);
        if (holder?.record.settings.survey && !conversation.closedWithoutPcs) {
          this.inLane(conversation.conversationId, () =>
            this.exchange(holder, conversation.conversationId, 'CLOSE_CONVERSATION', (c) => closeEventBody(c)),
          );
        }
        break;
      default:
        break;
    }
  }

  private inLane(conversationId: string, task: () => Promise<void>): void {
    void this.lanes.run(conversationId, task).catch((err) => this.deps.log.error({ err, conversationId }, 'connector task failed'));
  }

  /** The bot just got the conversation: capacity check, then the welcome event when enabled. */
  private async arrived(runtime: Runtime, conversationId: string): Promise<void> {
    const { settings } = runtime.record;
    const held = await this.deps.conversations.countHeldBy(runtime.record.userId);
    if (held > settings.maxOpenConversations) {
      const conversation = await this.deps.conversations.find(conversationId);
      if (!conversation) return;
      const reason = { code: 'bot-capacity-reached', message: `bot holds ${held - 1} open conversations, its maximum is ${settings.maxOpenConversations}` };
      await this.escalateAndRecord(runtime, conversation, 'ARRIVAL', reason);
      return;
    }
    if (!settings.welcomeEvent) return;
    const conversation = await this.deps.conversations.withEvents(runtime.record.accountId, conversationId);
    const last = lastConsumerMessage(conversation.events);
    await this.exchange(runtime, conversationId, 'START', (c) => startEventBody(c, last));
  }

  private consumerMessage(runtime: Runtime, conversationId: string, event: ConversationEvent): void {
    this.clearInactivity(conversationId);
    const combine = runtime.record.settings.combineMessages;
    if (!combine.enabled) {
      this.inLane(conversationId, () => this.exchange(runtime, conversationId, event.type, (c) => consumerEventBody(c, [event])));
      return;
    }
    const pending = this.pending.get(conversationId) ?? { runtime, events: [] };
    this.pending.set(conversationId, pending);
    pending.events.push(event);
    if (pending.events.length >= combine.maxMessages) this.flush(conversationId);
    else this.hold(conversationId, combine.timeFrameSeconds * 1000);
  }

  /** Typing extends the combine window: wait for the consumer to finish their thought. */
  private consumerTyping(conversationId: string, typing: boolean): void {
    const pending = this.pending.get(conversationId);
    if (!pending) return;
    const { timeFrameSeconds, timeFrameAfterTypingSeconds } = pending.runtime.record.settings.combineMessages;
    this.hold(conversationId, (typing ? timeFrameSeconds + timeFrameAfterTypingSeconds : timeFrameAfterTypingSeconds) * 1000);
  }

  private hold(conversationId: string, ms: number): void {
    const pending = this.pending.get(conversationId);
    if (!pending) return;
    clearTimeout(pending.timer);
    pending.timer = setTimeout(() => this.flush(conversationId), ms);
  }

  private flush(conversationId: string): void {
    const pending = this.pending.get(conversationId);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.pending.delete(conversationId);
    const events = pending.events;
    const type = events.length === 1 ? events[0].type : 'TEXT';
    this.inLane(conversationId, () => this.exchange(pending.runtime, conversationId, type, (c) => consumerEventBody(c, events)));
  }

  /** The conversation left the bot (or closed): drop what was held for it in memory. */
  private forget(conversationId: string): void {
    const pending = this.pending.get(conversationId);
    if (pending) clearTimeout(pending.timer);
    this.pending.delete(conversationId);
    this.clearInactivity(conversationId);
    // Should it come back, a 409 on the PUT costs less than remembering every conversation ever held.
    for (const runtime of this.bots.values()) runtime.known.delete(conversationId);
  }

  /**
   * One exchange: make sure the bot service knows the conversation, send the event (404 →
   * create again and resend, once), parse, carry out, escalate on failure, record it all.
   */
  private async exchange(runtime: Runtime, conversationId: string, eventType: string, bodyOf: (c: Conversation) => unknown): Promise<void> {
    await this.guarded(runtime, conversationId, () => this.runExchange(runtime, conversationId, eventType, bodyOf));
  }

  /**
   * Anything but the bot service failing is the platform's own failure: the bot goes to
   * SERVICE_INTERRUPTION (retried every minute) instead of the error vanishing in a log.
   */
  private async guarded(runtime: Runtime, conversationId: string, task: () => Promise<void>): Promise<void> {
    try {
      await task();
    } catch (error) {
      this.deps.log.error({ err: error, botId: runtime.record.id, conversationId }, 'platform failed during an exchange');
      this.stats.errors.inc({ code: 'platform-error' });
      await this.setStatus(runtime, 'SERVICE_INTERRUPTION', { code: 'platform-error', message: (error as Error).message, at: Date.now() }).catch(
        (err) => this.deps.log.error({ err }, 'could not record SERVICE_INTERRUPTION'),
      );
    }
  }

  private async runExchange(runtime: Runtime, conversationId: string, eventType: string, bodyOf: (c: Conversation) => unknown): Promise<void> {
    const conversation = await this.deps.conversations.find(conversationId);
    if (!conversation) return;
    const stillHeld = conversation.assignee?.userId === runtime.record.userId;
    if (!stillHeld || (conversation.status !== 'OPEN' && eventType !== 'CLOSE_CONVERSATION')) return;

    const started = Date.now();
    const exchange: Exchange = {
      id: newExchangeId(),
      botId: runtime.record.id,
      conversationId,
      eventType,
      startedAt: started,
      durationMs: 0,
      attempts: 0,
      request: null,
      response: null,
      parsed: null,
      errors: [],
      effects: [],
      outcome: 'PROCESSED',
    };
    const bot: Originator = { role: 'BOT', userId: runtime.record.userId };
    const finish = async (outcome: ExchangeOutcome) => {
      exchange.outcome = outcome;
      exchange.durationMs = Date.now() - started;
      this.stats.exchanges.inc({ outcome });
      for (const e of exchange.errors) this.stats.errors.inc({ code: e.code });
      this.botStore.recordExchange(exchange);
    };

    if (runtime.record.status !== 'ONLINE') {
      const reason = {
        code: runtime.record.status === 'OFFLINE' ? 'bot-offline' : (runtime.record.lastError?.code ?? 'vendor-unreachable'),
        message: `bot is ${runtime.record.status}${runtime.record.lastError ? `: ${runtime.record.lastError.message}` : ''}`,
      };
      exchange.errors.push(reason);
      if (conversation.status === 'OPEN') exchange.effects.push(...(await this.escalation(runtime, conversation, reason)));
      return finish('ESCALATED');
    }

    const body = bodyOf(conversation);
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
      exchange.response = { status: answer.status, body: answer.body, durationMs: Math.round(answer.durationMs) };
    } catch (error) {
      if (!(error instanceof VendorError)) throw error;
      exchange.attempts = Math.max(exchange.attempts, error.details.attempts);
      if (error.details.status !== undefined) {
        exchange.response = { status: error.details.status, body: parseMaybe(error.details.body), durationMs: Math.round(error.details.durationMs) };
      }
      const reason = { code: error.code, message: error.message };
      exchange.errors.push(reason);
      await this.setStatus(runtime, 'VENDOR_INTERRUPTION', { ...reason, at: Date.now() });
      if (conversation.status === 'OPEN') exchange.effects.push(...(await this.escalation(runtime, conversation, reason)));
      return finish('ESCALATED');
    }
    if (runtime.record.lastError) await this.setStatus(runtime, 'ONLINE', null);

    if (typeof answer.body === 'string' && answer.text.trim() !== '') {
      exchange.errors.push({ code: 'vendor-malformed-response', message: 'bot service answer is not JSON' });
    }
    const parsed = parseBotResponse(typeof answer.body === 'string' ? undefined : answer.body, { conversationType: conversation.type }, this.deps.structuredContent);
    exchange.parsed = { items: parsed.items, action: parsed.action ?? null, intents: parsed.intents };
    exchange.errors.push(...parsed.errors.map((e) => ({ code: e.code, message: e.message, ...(e.path ? { path: e.path } : {}) })));
    if (conversation.status !== 'OPEN') {
      exchange.effects.push('conversation closed: answer recorded, nothing delivered');
      return finish(parsed.usable ? 'PROCESSED' : 'FAILED');
    }
    if (!parsed.usable) {
      const reason = parsed.errors.find((e) => e.code === 'common-invalid-ai-vendor-response' || e.code === 'common-invalid-parsed-response') ?? {
        code: 'common-invalid-parsed-response',
        message: 'no valid message or action in the bot response',
      };
      exchange.effects.push(...(await this.escalation(runtime, conversation, { code: reason.code, message: reason.message })));
      return finish('ESCALATED');
    }

    const result = await execute(
      { conversations: this.deps.conversations, invoke: this.invoke, conversation, bot },
      parsed.items,
      parsed.action,
    );
    exchange.effects.push(...result.effects);
    exchange.errors.push(...result.errors);
    if (result.escalate) {
      exchange.effects.push(...(await this.escalation(runtime, conversation, result.escalate)));
      return finish('ESCALATED');
    }
    this.armInactivity(runtime, conversationId);
    return finish(exchange.errors.length ? 'PARTIAL' : 'PROCESSED');
  }

  private async createOnVendor(runtime: Runtime, conversation: Conversation): Promise<void> {
    await this.timed('conversation', () => runtime.client.putConversation(conversation.conversationId, conversationBody(conversation, runtime.record.settings)));
    runtime.known.add(conversation.conversationId);
  }

  private async escalation(runtime: Runtime, conversation: Conversation, reason: { code: string; message: string }): Promise<string[]> {
    this.deps.log.warn({ botId: runtime.record.id, conversationId: conversation.conversationId, code: reason.code }, reason.message);
    return escalate(
      {
        conversations: this.deps.conversations,
        invoke: this.invoke,
        conversation,
        bot: { role: 'BOT', userId: runtime.record.userId },
        botId: runtime.record.id,
        settings: runtime.record.settings,
      },
      reason,
    );
  }

  private async escalateAndRecord(runtime: Runtime, conversation: Conversation, eventType: string, reason: { code: string; message: string }): Promise<void> {
    const started = Date.now();
    const effects = await this.escalation(runtime, conversation, reason);
    this.stats.exchanges.inc({ outcome: 'ESCALATED' });
    this.stats.errors.inc({ code: reason.code });
    this.botStore.recordExchange({
      id: newExchangeId(),
      botId: runtime.record.id,
      conversationId: conversation.conversationId,
      eventType,
      startedAt: started,
      durationMs: Date.now() - started,
      attempts: 0,
      request: null,
      response: null,
      parsed: null,
      errors: [reason],
      effects,
      outcome: 'ESCALATED',
    });
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
    const warn = setTimeout(
      () => this.inLane(conversationId, async () => void (await this.deps.conversations.post(acc, conversationId, bot, { text: chatInactivity.warningText }).catch(() => undefined))),
      chatInactivity.warningAfterSeconds * 1000,
    );
    const close = setTimeout(
      () =>
        this.inLane(conversationId, async () => {
          await this.deps.conversations.post(acc, conversationId, bot, { text: chatInactivity.closeText }).catch(() => undefined);
          await this.deps.conversations.close(acc, conversationId, bot, { reason: 'BOT' }).catch(() => undefined);
        }),
      chatInactivity.closeAfterSeconds * 1000,
    );
    this.inactivity.set(conversationId, [warn, close]);
  }

  private clearInactivity(conversationId: string): void {
    this.inactivity.get(conversationId)?.forEach(clearTimeout);
    this.inactivity.delete(conversationId);
  }

  /** Consumer messages after the last word of anyone else, in conversations the bot holds. */
  private async replayUnanswered(runtime: Runtime): Promise<void> {
    const { accountId, userId } = runtime.record;
    for (const held of await this.deps.conversations.heldBy(accountId, userId)) {
      const { events } = await this.deps.conversations.withEvents(accountId, held.conversationId);
      const unanswered: ConversationEvent[] = [];
      for (let i = events.length - 1; i >= 0; i--) {
        const e = events[i];
        if (e.originator.role === 'CONSUMER' && CONSUMER_MESSAGE_TYPES.has(e.type)) unanswered.unshift(e);
        else if (e.originator.role !== 'SYSTEM') break;
      }
      if (!unanswered.length) continue;
      const type = unanswered.length === 1 ? unanswered[0].type : 'TEXT';
      this.inLane(held.conversationId, () => this.exchange(runtime, held.conversationId, type, (c) => consumerEventBody(c, unanswered)));
    }
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
          // Consumer messages that arrived while the platform failed are answered now.
          if (status === 'SERVICE_INTERRUPTION') await this.replayUnanswered(runtime);
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

  private track(record: BotRecord): void {
    const previous = this.bots.get(record.id);
    const runtime: Runtime = {
      record,
      client: this.clientFor(record.accountId, { ...record.settings.vendor, clientSecret: this.deps.secretBox.open(record.clientSecretSealed) }),
      known: previous?.known ?? new Set(),
    };
    this.bots.set(record.id, runtime);
    this.byUser.set(record.userId, runtime);
  }

  private clientFor(accountId: string, vendor: VendorCredentials): CustomEndpointClient {
    const full: VendorCredentials = { ...vendor, environment: vendor.environment ?? 'draft', timeoutSeconds: vendor.timeoutSeconds ?? 60 };
    return new CustomEndpointClient(accountId, full, { dispatcher: this.deps.dispatcher, tokens: this.deps.tokens, retry: this.deps.retry });
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
