import type { BotStatus, Exchange, ExchangeOutcome, LastError } from './types.js';
import type { Logger } from 'pino';
import type { Counter, Histogram } from 'prom-client';
import { isDomainError } from '../errors.js';
import type { Conversations } from '../platform/conversations.js';
import type { Directory } from '../platform/directory.js';
import type { Conversation } from '../platform/types.js';
import type { RowGuard } from '../store/index.js';
import { clippedPointer, exceededJsonLimit } from '../util/json-bounds.js';
import { childrenOf } from '../ops/metrics.js';
import { Tracing, type Context, type Span } from '../ops/tracing.js';

import { escalationPlan } from './escalation.js';
import { carryOut, type ExecutionContext, type Remainder } from './executor.js';
import type { FunctionResult } from './functions.js';
import { ANSWER_SHAPE_LIMITS, parseBotResponse, type ParsedResponse } from '../contract/index.js';
import type { StructuredContentValidator } from '../contract/index.js';
import { conversationBody } from './requests.js';
import type { Inbound, Runtime } from './runtime.js';
import type { BotStore } from './store.js';
import { timeOrderedId } from '../util/time-ordered-id.js';
import { VendorError, type VendorResponse } from './vendor-client.js';

/** Vendor failures that are about one answer, not the endpoint: the bot keeps its status. */
const ANSWER_FAULTS: ReadonlySet<string> = new Set(['vendor-response-too-large']);
/** Parser codes that say why a whole answer was refused (the escalation reason). */
const WHOLE_ANSWER_CODES: ReadonlySet<string> = new Set([
  'common-invalid-ai-vendor-response',
  'common-invalid-parsed-response',
  'common-too-many-items',
]);
/** Response bodies beyond this are logged cut, as text. */
const LOGGED_BODY_MAX = 256 * 1024;

export interface ConnectorStats {
  exchanges: Counter<'outcome'>;
  errors: Counter<'code'>;
  vendorLatency: Histogram<'call'>;
}

export interface ExchangeDeps {
  conversations: Conversations;
  directory: Directory;
  botStore: BotStore;
  structuredContent: StructuredContentValidator;
  invoke: (accountId: string, lambdaUuid: string, payload: unknown) => Promise<FunctionResult>;
  log: Logger;
  stats: ConnectorStats;
  setStatus(runtime: Runtime, status: BotStatus, lastError: LastError | null): Promise<void>;
  /** Joins each change made for the bot: refuses it once this instance no longer drives it. */
  guard(runtime: Runtime): RowGuard | undefined;
  /**
   * Throws LeaseLost unless this instance's clock vouches that it still drives the bot: asked
   * before every request to the bot, so an instance that was paused past its lease sends nothing.
   */
  requireDriving(runtime: Runtime): void;
  /** The bot answered a conversation (chat inactivity counts from here). */
  answered(runtime: Runtime, conversationId: string): void;
  /** When tracing is on: each exchange in a `bot exchange` span, a child of the message's. */
  tracing?: Tracing;
}

/** An exchange's span, and what it recorded (its outcome, its errors' codes), when tracing is on. */
interface Traced {
  span: Span;
  context: Context;
  exchange?: Exchange;
}

/**
 * One round trip with the bot service and everything that follows from it: make sure the
 * service knows the conversation, send the event (404 → create again and resend, once), read
 * the answer within its bounds, carry it out, escalate when anything fails, record it all.
 */
export class Exchanges {
  private readonly exchangesBy: (outcome: string) => { inc(): void };
  private readonly errorsBy: (code: string) => { inc(): void };
  private readonly latencyOf: (call: string) => { startTimer(): () => void };

  constructor(private readonly deps: ExchangeDeps) {
    this.exchangesBy = childrenOf(deps.stats.exchanges);
    this.errorsBy = childrenOf(deps.stats.errors);
    this.latencyOf = childrenOf(deps.stats.vendorLatency);
  }

  run(runtime: Runtime, conversationId: string, inbound: Inbound): Promise<void> {
    // Not async itself: untraced, the exchange's own promise is all there is.
    const tracing = this.deps.tracing;
    return tracing
      ? this.traced(tracing, runtime, conversationId, inbound)
      : this.exchange(runtime, conversationId, inbound);
  }

  /** The exchange in a `bot exchange` span, a child of the message's that triggered it. */
  private async traced(tracing: Tracing, runtime: Runtime, conversationId: string, inbound: Inbound): Promise<void> {
    const parent = tracing.takeMessage(conversationId);
    const span = tracing.start(
      'bot exchange',
      {
        'botbridge.account': runtime.record.accountId,
        'botbridge.bot_id': runtime.record.id,
        'botbridge.conversation_id': conversationId,
        'botbridge.event_type': inbound.eventType,
      },
      parent,
    );
    const traced: Traced = { span, context: tracing.within(span, parent) };
    try {
      await this.exchange(runtime, conversationId, inbound, traced);
      const { exchange } = traced;
      if (!exchange) span.setAttribute('botbridge.outcome', 'SKIPPED');
      else {
        span.setAttribute('botbridge.outcome', exchange.outcome);
        if (exchange.attempts) span.setAttribute('botbridge.attempts', exchange.attempts);
        if (exchange.errors.length) {
          span.setAttribute('botbridge.error_codes', [...new Set(exchange.errors.map((e) => e.code))]);
          if (exchange.outcome === 'ESCALATED' || exchange.outcome === 'FAILED')
            Tracing.fail(span, exchange.errors[0].code);
        }
      }
    } catch (error) {
      Tracing.fail(span, (error as { code?: unknown }).code?.toString() ?? (error as Error).name ?? 'error');
      throw error;
    } finally {
      span.end();
    }
  }

  private async exchange(runtime: Runtime, conversationId: string, inbound: Inbound, traced?: Traced): Promise<void> {
    const { eventType, upTo } = inbound;
    const conversation = await this.deps.conversations.current(conversationId);
    if (!conversation) return;
    const stillHeld = conversation.assignee?.userId === runtime.record.userId;
    if (!stillHeld) return;
    if (eventType !== 'CLOSE_CONVERSATION' && (conversation.status !== 'OPEN' || conversation.answeredSequence >= upTo))
      return;

    const started = Date.now();
    const exchange = newExchange(runtime.record.id, conversationId, eventType, started);
    if (traced) traced.exchange = exchange;
    const escalateWith = async (reason: { code: string; message: string }) => {
      exchange.errors.push(reason);
      if (conversation.status === 'OPEN')
        exchange.effects.push(...(await this.escalate(runtime, conversation, reason, upTo)));
      this.finish(exchange, 'ESCALATED', started);
    };

    if (runtime.record.status !== 'ONLINE') {
      return escalateWith({
        code:
          runtime.record.status === 'OFFLINE'
            ? 'bot-offline'
            : (runtime.record.lastError?.code ?? 'vendor-unreachable'),
        message: `bot is ${runtime.record.status}${runtime.record.lastError ? `: ${runtime.record.lastError.message}` : ''}`,
      });
    }

    const body = inbound.body(conversation);
    const { vendor } = runtime.record.settings;
    exchange.request = {
      method: 'POST',
      url: `${vendor.baseUrl}/v1/bots/${vendor.botId}/environments/${vendor.environment}/conversations/${conversationId}/events`,
      body,
    };
    let answer: VendorResponse;
    const driving = () => this.deps.requireDriving(runtime);
    try {
      if (!runtime.known.has(conversationId)) await this.createOnVendor(runtime, conversation, traced?.context);
      answer = await this.timed('events', () =>
        runtime.client.postEvent(conversationId, body, driving, traced?.context),
      );
      exchange.attempts = answer.attempts;
      if (answer.status === 404) {
        // The service lost the conversation (restart, eviction): create it again, resend once.
        exchange.effects.push('bot service answered 404: conversation created again and event resent');
        await this.createOnVendor(runtime, conversation, traced?.context);
        answer = await this.timed('events', () =>
          runtime.client.postEvent(conversationId, body, driving, traced?.context),
        );
        exchange.attempts += answer.attempts;
        if (answer.status === 404)
          throw new VendorError(
            'vendor-http-error',
            'bot service answered 404 again after the conversation was re-created',
            { status: 404, attempts: exchange.attempts, durationMs: answer.durationMs, body: answer.text },
          );
      }
      exchange.response = {
        status: answer.status,
        body: loggedBody(answer),
        durationMs: Math.round(answer.durationMs),
      };
    } catch (error) {
      if (!(error instanceof VendorError)) throw error;
      exchange.attempts = Math.max(exchange.attempts, error.details.attempts);
      if (error.details.status !== undefined) {
        exchange.response = {
          status: error.details.status,
          body: parseMaybe(error.details.body),
          durationMs: Math.round(error.details.durationMs),
        };
      }
      // The service answered, but this answer was unusable: one conversation's problem, not the bot's.
      if (!ANSWER_FAULTS.has(error.code))
        await this.deps.setStatus(runtime, 'VENDOR_INTERRUPTION', {
          code: error.code,
          message: error.message,
          at: Date.now(),
        });
      return escalateWith({ code: error.code, message: error.message });
    }
    if (runtime.record.lastError) await this.deps.setStatus(runtime, 'ONLINE', null);

    if (answer.notJson) return escalateWith({ code: 'vendor-malformed-response', message: answer.notJson });
    const tooDeep = exceededJsonLimit(answer.body, ANSWER_SHAPE_LIMITS);
    if (tooDeep) {
      // Kept as text: nothing recursive (the parser, the log's JSON) walks it.
      exchange.response = {
        status: answer.status,
        body: answer.text.slice(0, LOGGED_BODY_MAX),
        durationMs: Math.round(answer.durationMs),
      };
      return escalateWith({
        code: 'vendor-response-too-deep',
        message: `the answer nests deeper than ${tooDeep.limit} levels (at ${clippedPointer(tooDeep.pointer)})`,
      });
    }
    let parsed: ParsedResponse;
    try {
      parsed = parseBotResponse(
        answer.body,
        { conversationType: conversation.type, limits: runtime.record.settings.limits },
        this.deps.structuredContent,
      );
    } catch (error) {
      // The parser is bounded and total; should it still throw, the answer is what was wrong.
      return escalateWith({
        code: 'common-invalid-ai-vendor-response',
        message: `the answer could not be read: ${(error as Error).message}`,
      });
    }
    exchange.parsed = { items: parsed.items, action: parsed.action ?? null, intents: parsed.intents };
    exchange.errors.push(
      ...parsed.errors.map((e) => ({ code: e.code, message: e.message, ...(e.path ? { path: e.path } : {}) })),
    );
    if (conversation.status !== 'OPEN') {
      exchange.effects.push('conversation closed: answer recorded, nothing delivered');
      return this.finish(exchange, parsed.usable ? 'PROCESSED' : 'FAILED', started);
    }
    if (!parsed.usable) {
      const reason = parsed.errors.find((e) => WHOLE_ANSWER_CODES.has(e.code)) ?? {
        code: 'common-invalid-parsed-response',
        message: 'no valid message or action in the bot response',
      };
      exchange.effects.push(
        ...(await this.escalate(runtime, conversation, { code: reason.code, message: reason.message }, upTo)),
      );
      return this.finish(exchange, 'ESCALATED', started);
    }

    const delivery =
      traced &&
      this.deps.tracing?.start(
        'answer delivered',
        {
          'botbridge.account': conversation.accountId,
          'botbridge.bot_id': runtime.record.id,
          'botbridge.conversation_id': conversationId,
          'botbridge.items': parsed.items.length,
          ...(parsed.action ? { 'botbridge.action': parsed.action.name } : {}),
        },
        traced.context,
      );
    let result: Awaited<ReturnType<typeof carryOut>>;
    try {
      result = await carryOut(
        this.context(runtime, conversation, upTo),
        { items: parsed.items, ...(parsed.action ? { action: parsed.action } : {}) },
        false,
      );
      if (delivery && result.escalate) Tracing.fail(delivery, result.escalate.code);
    } catch (error) {
      if (delivery) Tracing.fail(delivery, (error as Error).name ?? 'error');
      throw error;
    } finally {
      delivery?.end();
    }
    exchange.effects.push(...result.effects);
    exchange.errors.push(...result.errors);
    if (result.escalate) {
      exchange.effects.push(...(await this.escalate(runtime, conversation, result.escalate, upTo)));
      return this.finish(exchange, 'ESCALATED', started);
    }
    this.deps.answered(runtime, conversationId);
    this.finish(exchange, exchange.errors.length ? 'PARTIAL' : 'PROCESSED', started);
  }

  /** The rest of an answer that a crash (or an outage, or a failover) interrupted during a DELAY. */
  async resume(runtime: Runtime, conversation: Conversation): Promise<void> {
    const started = Date.now();
    const exchange = newExchange(runtime.record.id, conversation.conversationId, 'RESUME', started);
    exchange.effects.push('resumed an answer interrupted by a restart');
    const answered = conversation.answeredSequence;
    const result = await carryOut(
      this.context(runtime, conversation, answered),
      conversation.pendingAnswer as Remainder,
      true,
    );
    exchange.effects.push(...result.effects);
    exchange.errors.push(...result.errors);
    if (result.escalate)
      exchange.effects.push(...(await this.escalate(runtime, conversation, result.escalate, answered)));
    this.finish(exchange, result.escalate ? 'ESCALATED' : exchange.errors.length ? 'PARTIAL' : 'PROCESSED', started);
  }

  /**
   * Escalates in one change that also marks `answers` answered: the consumer never hears the
   * escalation twice, and never not at all. The error hook is called once that change is written.
   */
  async escalate(
    runtime: Runtime,
    conversation: Conversation,
    reason: { code: string; message: string },
    answers: number,
  ): Promise<string[]> {
    const { accountId, conversationId } = conversation;
    this.deps.log.warn({ botId: runtime.record.id, conversationId, code: reason.code }, reason.message);
    const plan = await escalationPlan(runtime.record.settings, reason, (name) =>
      this.deps.directory.findSkill(accountId, name),
    );
    try {
      await this.deps.conversations.act(
        accountId,
        conversationId,
        { role: 'BOT', userId: runtime.record.userId },
        plan.steps,
        {
          answered: { sequence: answers, pending: null },
          guard: this.deps.guard(runtime),
        },
      );
    } catch (error) {
      if (!isDomainError(error, 'conversation-closed')) throw error;
      return [`escalating (${reason.code})`, 'conversation already closed: nothing to escalate'];
    }
    // Counted once its change is written: an escalation refused (closed, lease lost) never happened.
    this.deps.botStore.count(runtime.record.id, 'escalated', reason.code);
    const effects = [...plan.effects];
    const hook = runtime.record.settings.escalation.errorHookLambdaUuid;
    if (hook) {
      const transferred = plan.steps.some((step) => step.kind === 'transfer');
      const called = await this.deps.invoke(accountId, hook, {
        botId: runtime.record.id,
        accountId,
        conversationId,
        error: reason,
        transferred,
      });
      effects.push(called.ok ? 'called error hook' : `error hook failed: ${called.error}`);
    }
    return effects;
  }

  /** An escalation that is an exchange of its own in the log (no call to the bot was made). */
  async escalateAndRecord(
    runtime: Runtime,
    conversation: Conversation,
    eventType: string,
    reason: { code: string; message: string },
    answers: number,
  ): Promise<void> {
    const started = Date.now();
    const exchange = newExchange(runtime.record.id, conversation.conversationId, eventType, started);
    exchange.errors.push(reason);
    exchange.effects.push(...(await this.escalate(runtime, conversation, reason, answers)));
    this.finish(exchange, 'ESCALATED', started);
  }

  async timed<T>(call: string, fn: () => Promise<T>): Promise<T> {
    const end = this.latencyOf(call).startTimer();
    try {
      return await fn();
    } finally {
      end();
    }
  }

  private finish(exchange: Exchange, outcome: ExchangeOutcome, started: number): void {
    exchange.outcome = outcome;
    exchange.durationMs = Date.now() - started;
    this.exchangesBy(outcome).inc();
    for (const e of exchange.errors) this.errorsBy(e.code).inc();
    this.deps.botStore.recordExchange(exchange);
  }

  private context(runtime: Runtime, conversation: Conversation, answers: number): ExecutionContext {
    return {
      conversations: this.deps.conversations,
      findSkill: (accountId, name) => this.deps.directory.findSkill(accountId, name),
      invoke: this.deps.invoke,
      conversation,
      bot: { role: 'BOT', userId: runtime.record.userId },
      answers,
      guard: this.deps.guard(runtime),
    };
  }

  private async createOnVendor(runtime: Runtime, conversation: Conversation, trace?: Context): Promise<void> {
    await this.timed('conversation', () =>
      runtime.client.putConversation(
        conversation.conversationId,
        conversationBody(conversation, runtime.record.settings),
        () => this.deps.requireDriving(runtime),
        trace,
      ),
    );
    runtime.known.add(conversation.conversationId);
  }
}

function newExchange(botId: string, conversationId: string, eventType: string, startedAt: number): Exchange {
  return {
    id: timeOrderedId(startedAt),
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

/** An error answer's body for the log: its JSON when it is JSON of a sane shape, else its text. */
function parseMaybe(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return exceededJsonLimit(parsed, ANSWER_SHAPE_LIMITS) ? text : parsed;
  } catch {
    return text;
  }
}
