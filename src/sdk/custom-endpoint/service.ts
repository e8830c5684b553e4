import type { JWTPayload } from 'jose';
import { createContractValidator, type StructuredContentValidator } from '../../contract/index.js';
import { clippedPointer, describeJsonLimit, exceededJsonLimit } from '../../util/json-bounds.js';
import { isPlainObject } from '../../util/json-location.js';
import { KeyedMutex } from '../../util/keyed-mutex.js';
import { type AnswerLimits, checkAnswer } from './builders.js';
import { keyOf, MemorySessions, type Session, type SessionKey, type SessionStore } from './sessions.js';
import type {
  BotStatusBody,
  ConversationBody,
  ConversationEventBody,
  ConversationEventType,
  EventOf,
  PostEventResponseBody,
} from './types.js';
import type { TokenVerifier } from './verify.js';
import { type OpenTelemetryApi, traceJoiner } from './trace-context.js';

/**
 * The Custom Endpoint service, framework-free: the contract's four calls routed to the bot
 * author's handlers, each call's app JWT verified first, bodies bounded and checked against the
 * contract, each conversation's session loaded before its handler runs and saved after. The
 * node:http and Fastify adapters only move bytes in and out of `handle`.
 */

/** The environments a bot has when its service does not say: the connector's default one, and production. */
export const DEFAULT_ENVIRONMENTS: readonly string[] = ['draft', 'production'];
/** 1 MiB: an event or a create-conversation body is a few KiB; SDES can add some. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Every call: who made it (from the verified token) and which bot it addresses. */
export interface BotCall {
  /** The account of the conversation: the token's audience. */
  accountId: string;
  /** The app installation the token was granted to. */
  clientId?: string;
  claims: JWTPayload;
  /** The path's first segment (`v1` from botbridge's and LivePerson's connectors). */
  apiVersion: string;
  botId: string;
}
export interface EnvironmentCall extends BotCall {
  environment: string;
}
export interface ConversationCall extends EnvironmentCall {
  conversationId: string;
}
export interface CreateConversationCall extends ConversationCall {
  /** The PUT body: the conversation's SDES and context. */
  conversation: ConversationBody;
}
export interface EventCall<Event extends ConversationEventBody, State> extends ConversationCall {
  event: Event;
  /** The conversation's session: whatever its `state` holds when the handler returns is saved. */
  session: Session<State>;
}

type Awaitable<T> = T | Promise<T>;

export type EventHandler<Event extends ConversationEventBody, State> = (
  call: EventCall<Event, State>,
) => Awaitable<PostEventResponseBody>;

/** A handler per event type, and the fallback for every type without one. */
export type EventHandlers<State> = {
  [T in ConversationEventType]?: EventHandler<EventOf<T>, State>;
} & { fallback: EventHandler<ConversationEventBody, State> };

/** Returns the new conversation's dialog state. */
export type CreateConversationHandler<State> = (call: CreateConversationCall) => Awaitable<State>;

export type CustomEndpointHandlers<State> = {
  /** The bot's environments; undefined when the service has no such bot (404). Default DEFAULT_ENVIRONMENTS. */
  environments?: (call: BotCall) => Awaitable<readonly string[] | undefined>;
  /** The bot's state in an environment; only `online` passes a test connection. Default online. */
  state?: (call: EnvironmentCall) => Awaitable<BotStatusBody>;
  event: EventHandlers<State>;
} & (Record<never, never> extends State
  ? /** A state whose fields are all optional may start empty: without the handler a session starts with `{}`. */
    { createConversation?: CreateConversationHandler<State> }
  : { createConversation: CreateConversationHandler<State> });

export interface CustomEndpointServiceOptions<State> {
  /** From `createTokenVerifier({jwksUrl, accounts})`: runs on every call. */
  verifyToken: TokenVerifier;
  handlers: CustomEndpointHandlers<State>;
  /** Default `new MemorySessions()`: lost on restart; `new SqliteSessions(path)` is not. */
  sessions?: SessionStore<State>;
  /** The version the default state handler reports. Default `0.0.0`. */
  version?: string;
  /** Largest request body, in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /**
   * Whether the handlers' answers are checked (against the contract, and by the builders' rules
   * for the conversation's type) before they are sent: one that is not is a 500 reported to
   * `onError`. Default true; off only for a service that means to send what the connector refuses.
   */
  checkAnswers?: boolean;
  /** The bot's answer limits, when its settings on the platform differ from the connector's defaults. */
  answerLimits?: Partial<AnswerLimits>;
  /** When given, rich content in answers is checked against json-pollock's templates too. */
  structuredContent?: StructuredContentValidator;
  /** Failures that answer 500: a handler that threw or answered wrongly, a session store that failed. Default console.error. */
  onError?: (error: unknown, request: { method: string; path: string }) => void;
  /**
   * Calls answered 4xx or 503 (a refused token, an unknown conversation, a body off the
   * contract): for a log line saying why. The token itself is never passed. Default: nothing.
   */
  onRefusal?: (
    refusal: { status: number; code: string; message: string },
    request: { method: string; path: string },
  ) => void;
  now?: () => number;
  /**
   * Continuing the platform's trace (its `traceparent`): the handlers run within the context the
   * call carries when the service uses OpenTelemetry. Default: `@opentelemetry/api` when it can be
   * imported; pass the service's own module to be sure it is the same one, or `false` for never.
   */
  openTelemetry?: OpenTelemetryApi | false;
}

export interface CustomEndpointRequest {
  method: string;
  /** The path below the service's mount point, query string allowed: `/v1/bots/b1/environments`. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The raw body, when there is one. */
  body?: string | Uint8Array;
}

export interface CustomEndpointResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON data; undefined for no body. */
  body?: unknown;
}

export interface CustomEndpointService {
  handle(request: CustomEndpointRequest): Promise<CustomEndpointResponse>;
  /** For adapters that read the body themselves. */
  readonly bodyLimit: number;
}

/** The contract's botId parameter: letters, digits and '-', at most 36. */
const BOT_ID = /^[A-Za-z0-9-]{1,36}$/;
/** As the platform's own routes take JSON. */
const BODY_MAX_DEPTH = 64;

type Route =
  | { kind: 'environments'; method: 'GET'; segments: [string, string] }
  | { kind: 'state'; method: 'GET'; segments: [string, string, string] }
  | { kind: 'conversation'; method: 'PUT'; segments: [string, string, string, string] }
  | { kind: 'event'; method: 'POST'; segments: [string, string, string, string] };

/** A call answered with an error, thrown from anywhere in the handling of one call. */
class Refusal {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly message: string,
    readonly headers?: Record<string, string>,
  ) {}
}

export function createCustomEndpointService<State = Record<string, unknown>>(
  options: CustomEndpointServiceOptions<State>,
): CustomEndpointService {
  if (typeof options.verifyToken !== 'function')
    throw new TypeError('createCustomEndpointService: verifyToken must be a verifier from createTokenVerifier()');
  if (typeof options.handlers?.event?.fallback !== 'function')
    throw new TypeError('createCustomEndpointService: handlers.event.fallback must be a function');
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1)
    throw new TypeError(
      `createCustomEndpointService: bodyLimit must be a whole number of bytes >= 1, got ${bodyLimit}`,
    );
  const { handlers, verifyToken } = options;
  const sessions = options.sessions ?? new MemorySessions<State>();
  const contract = createContractValidator();
  const checkAnswers = options.checkAnswers ?? true;
  const now = options.now ?? Date.now;
  const joinTrace = traceJoiner(options.openTelemetry);
  const onError = options.onError ?? ((error, request) => console.error(`${request.method} ${request.path}`, error));
  // One call at a time per conversation: a retried event must not interleave with the first.
  const conversations = new KeyedMutex();

  const requireContract = (name: 'Conversation' | 'ConversationChange', body: unknown) => {
    const verdict = contract.validate(name, body);
    if (!verdict.ok)
      throw new Refusal(
        400,
        'invalid-request',
        `the body does not match the contract's ${name}: ${verdict.errors.slice(0, 10).join('; ')}`,
      );
  };

  /** Handler output the contract does not allow is the service's fault, not the caller's. */
  const answerChecked = <T>(name: 'Environment' | 'BotStatus' | 'PostEventResponse', body: T): T => {
    if (!checkAnswers) return body;
    const verdict = contract.validate(name, body);
    if (!verdict.ok)
      throw new InvalidAnswer(
        `the handler's answer does not match the contract's ${name}: ${verdict.errors.join('; ')}`,
      );
    return body;
  };

  const environmentsOf = async (call: BotCall) => {
    if (!BOT_ID.test(call.botId))
      throw new Refusal(404, 'bot-not-found', `no bot '${call.botId}' (bot ids are 1-36 letters, digits or '-')`);
    const environments = handlers.environments ? await handlers.environments(call) : DEFAULT_ENVIRONMENTS;
    if (!environments) throw new Refusal(404, 'bot-not-found', `no bot '${call.botId}'`);
    return environments;
  };
  const requireEnvironment = async (call: EnvironmentCall) => {
    const environments = await environmentsOf(call);
    if (!environments.includes(call.environment))
      throw new Refusal(
        404,
        'environment-not-found',
        `bot '${call.botId}' has no environment '${call.environment}' (it has ${environments.join(', ') || 'none'})`,
      );
  };

  async function serve(route: Route, call: BotCall, request: CustomEndpointRequest): Promise<CustomEndpointResponse> {
    switch (route.kind) {
      case 'environments':
        return { status: 200, body: answerChecked('Environment', [...(await environmentsOf(call))]) };
      case 'state': {
        const environmentCall = { ...call, environment: route.segments[2] };
        await requireEnvironment(environmentCall);
        const status = handlers.state
          ? await handlers.state(environmentCall)
          : { state: 'online' as const, version: options.version ?? '0.0.0' };
        return { status: 200, body: answerChecked('BotStatus', status) };
      }
      case 'conversation': {
        const conversationCall = { ...call, environment: route.segments[2], conversationId: route.segments[3] };
        await requireEnvironment(conversationCall);
        const conversation = parseBody(request.body, bodyLimit) as ConversationBody;
        requireContract('Conversation', conversation);
        const key = sessionKey(conversationCall);
        return conversations.run(keyOf(key), async () => {
          if (await sessions.get(key))
            throw new Refusal(409, 'conversation-exists', `conversation '${key.conversationId}' already exists`);
          const state = handlers.createConversation
            ? await handlers.createConversation({ ...conversationCall, conversation })
            : ({} as State);
          const at = now();
          await sessions.set(key, {
            sdes: conversation.sdes,
            context: conversation.context,
            state,
            createdAt: at,
            updatedAt: at,
          });
          // The contract's "200 Created", without a body.
          return { status: 200 };
        });
      }
      case 'event': {
        const conversationCall = { ...call, environment: route.segments[2], conversationId: route.segments[3] };
        await requireEnvironment(conversationCall);
        const event = parseBody(request.body, bodyLimit) as ConversationEventBody;
        requireContract('ConversationChange', event);
        const key = sessionKey(conversationCall);
        return conversations.run(keyOf(key), async () => {
          const session = await sessions.get(key);
          // The connector answers a 404 by creating the conversation again and resending the event.
          if (!session)
            throw new Refusal(
              404,
              'conversation-not-found',
              `conversation '${key.conversationId}' does not exist on bot '${key.botId}' (${key.environment}); create it with PUT first`,
            );
          // A redelivery of an event already answered: the same answer, the handler not called again.
          const identity = eventIdentity(event);
          const before = identity === undefined ? undefined : session.answered?.find((a) => a.event === identity);
          if (before) return { status: 200, body: before.answer };
          const handler = (handlers.event[event.type] ?? handlers.event.fallback) as EventHandler<
            ConversationEventBody,
            State
          >;
          const answer = await handler({ ...conversationCall, event, session });
          answerChecked('PostEventResponse', answer);
          if (checkAnswers) {
            try {
              checkAnswer(answer, {
                conversationType: session.context.type,
                limits: options.answerLimits,
                validator: options.structuredContent,
              });
            } catch (error) {
              throw new InvalidAnswer(
                `the handler's answer would not be carried out whole: ${(error as Error).message}`,
              );
            }
          }
          // Saved only once the answer is known good: a failed event leaves the state as it was.
          const answered =
            identity === undefined
              ? session.answered
              : [...(session.answered ?? []), { event: identity, answer }].slice(-ANSWERS_KEPT);
          await sessions.set(key, { ...session, updatedAt: now(), ...(answered ? { answered } : {}) });
          return { status: 200, body: answer };
        });
      }
    }
  }

  return {
    bodyLimit,
    async handle(request) {
      try {
        const route = matchRoute(request.method, request.path);
        const verdict = await verifyToken(headerOf(request.headers, 'authorization'));
        if (!verdict.ok) throw new Refusal(verdict.status, verdict.reason, verdict.message, challenge(verdict));
        const call: BotCall = {
          accountId: verdict.accountId,
          ...(verdict.clientId !== undefined ? { clientId: verdict.clientId } : {}),
          claims: verdict.claims,
          apiVersion: route.segments[0],
          botId: route.segments[1],
        };
        return await joinTrace(request.headers, () => serve(route, call, request));
      } catch (error) {
        if (error instanceof Refusal) {
          const { status, code, message } = error;
          options.onRefusal?.({ status, code, message }, { method: request.method, path: request.path.split('?')[0]! });
          return failure(error);
        }
        onError(error, { method: request.method, path: request.path });
        return error instanceof InvalidAnswer
          ? failure(new Refusal(500, 'invalid-answer', error.message))
          : failure(new Refusal(500, 'internal', 'the bot service failed to handle this call'));
      }
    },
  };
}

/**
 * How many answered events a session keeps for redeliveries: the connector sends a
 * conversation's events one at a time and retries only the one in flight, so a few suffice.
 */
const ANSWERS_KEPT = 8;

/** An event's identity across retries: its type and log sequence (undefined when it has none). */
function eventIdentity(event: ConversationEventBody): string | undefined {
  const sequence = (event.context?.lpEvent as { sequence?: unknown } | undefined)?.sequence;
  return typeof sequence === 'number' && Number.isInteger(sequence) ? `${event.type}#${sequence}` : undefined;
}

/** A handler's answer the connector would refuse; reported to onError and answered 500. */
class InvalidAnswer extends Error {}

function sessionKey(call: ConversationCall): SessionKey {
  return {
    accountId: call.accountId,
    botId: call.botId,
    environment: call.environment,
    conversationId: call.conversationId,
  };
}

function matchRoute(method: string, path: string): Route {
  const notFound = () => new Refusal(404, 'not-found', `no route ${method} ${path.split('?')[0]}`);
  const raw = path.split('?')[0]!.split('/');
  if (raw.shift() !== '') throw notFound();
  let segments: string[];
  try {
    segments = raw.map((segment) => decodeURIComponent(segment));
  } catch {
    throw notFound();
  }
  if (segments.some((segment) => segment === '') || segments[1] !== 'bots' || segments[3] !== 'environments')
    throw notFound();
  const [apiVersion, , botId, , environment, fifth, conversationId, seventh] = segments as string[];
  let route: Route;
  if (segments.length === 4) route = { kind: 'environments', method: 'GET', segments: [apiVersion!, botId!] };
  else if (segments.length === 6 && fifth === 'state')
    route = { kind: 'state', method: 'GET', segments: [apiVersion!, botId!, environment!] };
  else if (segments.length === 7 && fifth === 'conversations')
    route = { kind: 'conversation', method: 'PUT', segments: [apiVersion!, botId!, environment!, conversationId!] };
  else if (segments.length === 8 && fifth === 'conversations' && seventh === 'events')
    route = { kind: 'event', method: 'POST', segments: [apiVersion!, botId!, environment!, conversationId!] };
  else throw notFound();
  if (method.toUpperCase() !== route.method)
    throw new Refusal(405, 'method-not-allowed', `${path.split('?')[0]} takes ${route.method} only`, {
      allow: route.method,
    });
  return route;
}

function headerOf(headers: CustomEndpointRequest['headers'], name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    // Two Authorization headers are no Bearer token: joined, they fail the token's pattern.
    return Array.isArray(value) ? value.join(', ') : value;
  }
  return undefined;
}

/** RFC 6750's challenge, so a client can tell "fetch a new token" from "this token will never do". */
function challenge(verdict: { status: number; reason: string; message: string }): Record<string, string> | undefined {
  const description = verdict.message.replace(/["\\]/g, "'");
  if (verdict.status === 401)
    return {
      'www-authenticate':
        verdict.reason === 'missing-token'
          ? 'Bearer'
          : `Bearer error="invalid_token", error_description="${description}"`,
    };
  if (verdict.status === 403)
    return { 'www-authenticate': `Bearer error="insufficient_scope", error_description="${description}"` };
  return undefined;
}

function parseBody(body: string | Uint8Array | undefined, limit: number): unknown {
  const bytes = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  if (bytes > limit)
    throw new Refusal(413, 'payload-too-large', `the body is ${bytes} bytes; this service takes at most ${limit}`);
  const text =
    typeof body === 'string'
      ? body
      : body
        ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
        : '';
  if (!/\S/.test(text)) throw new Refusal(400, 'missing-body', 'this call takes a JSON body');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Refusal(400, 'malformed-json', 'the body is not valid JSON');
  }
  // Before anything recursive (the contract's validator, the handlers) walks it.
  const exceeded = exceededJsonLimit(value, { maxDepth: BODY_MAX_DEPTH, maxNodes: Infinity });
  if (exceeded) {
    throw new Refusal(
      400,
      'json-too-deep',
      `the body ${describeJsonLimit(exceeded)} (at ${clippedPointer(exceeded.pointer)})`,
    );
  }
  if (poisoned(value))
    throw new Refusal(400, 'malformed-json', 'the body holds a __proto__ or constructor.prototype key');
  return value;
}

/**
 * Whether a `__proto__` or `constructor.prototype` key is anywhere in it: harmless as parsed,
 * but SDES and visitor objects get merged, and Object.assign would set a prototype from it.
 * Depth is bounded by then, so the recursion is too.
 */
function poisoned(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(poisoned);
  if (!isPlainObject(value)) return false;
  for (const [key, child] of Object.entries(value)) {
    if (key === '__proto__') return true;
    if (key === 'constructor' && isPlainObject(child) && Object.hasOwn(child, 'prototype')) return true;
    if (poisoned(child)) return true;
  }
  return false;
}

function failure(refusal: Refusal): CustomEndpointResponse {
  return {
    status: refusal.status,
    ...(refusal.headers ? { headers: refusal.headers } : {}),
    body: { error: { code: refusal.code, message: refusal.message } },
  };
}
