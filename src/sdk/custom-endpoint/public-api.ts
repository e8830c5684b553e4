import { decodeJwt } from 'jose';
import { Agent, type Dispatcher, request } from 'undici';
import type {
  Action,
  MessageItem,
  MessagesCommand,
  Pause,
  SdesCommand,
  StructuredMessage,
  TtrCommand,
} from '../../contract/public-api.js';
import { parseTtl, TTL_MAX_SECONDS } from '../../contract/public-api.js';
import { readBounded } from '../../util/bounded-body.js';

/**
 * The Public API v1 seen from a bot service: a Custom Endpoint that answers later, or acts on a
 * conversation it no longer holds, calls it. The same client works against LivePerson and
 * against a botbridge server: it finds the API domain through the account's domain lookup
 * (`botConnectorsDomain`, mapped as LivePerson's page maps its zones), logs in with `v=1.3`,
 * keeps the bearer and renews it, and sends the five actions with their `ttl`.
 *
 * Nothing is retried on its own except a call whose bearer the server refused (nothing was
 * queued, so sending it again cannot do it twice): a 5xx or a dropped connection may or may not
 * have queued the action, and only the caller knows whether doing it twice is harmless.
 */

export type { MessageItem, MessagesCommand, Pause, SdesCommand, StructuredMessage, TtrCommand };
export type PublicApiAction = Action;

/** LivePerson's table: `botConnectorsDomain` of a zone → the Third-Party Bots API domain. */
export const LIVEPERSON_API_DOMAINS: Readonly<Record<string, string>> = {
  'z1.bot-connectors.liveperson.net': 'https://bot-platform-api.fs.liveperson.com',
  'z2.bot-connectors.liveperson.net': 'https://bot-platform-api.emea.fs.liveperson.com',
  'z3.bot-connectors.liveperson.net': 'https://bot-platform-api.apac.fs.liveperson.com',
};
/** LivePerson's domain lookup; a botbridge server answers the same route at its own URL. */
export const LIVEPERSON_DOMAIN_LOOKUP = 'https://api.liveperson.net';

/**
 * The API domain (an origin, no trailing slash) for a `botConnectorsDomain` base URI: a
 * LivePerson zone through the table, anything else as it is — a botbridge server names itself —
 * reached with the lookup's own scheme (base URIs come without one). Pure.
 */
export function apiDomainFor(botConnectorsDomain: string, lookupScheme: 'http:' | 'https:' = 'https:'): string {
  const host = botConnectorsDomain.trim().replace(/\/+$/, '');
  const mapped = LIVEPERSON_API_DOMAINS[host.toLowerCase()];
  if (mapped) return mapped;
  const origin = /^https?:\/\//i.test(host) ? host : `${lookupScheme}//${host}`;
  try {
    return new URL(origin).origin;
  } catch {
    throw new PublicApiResponseError(`the domain lookup's botConnectorsDomain '${botConnectorsDomain}' is not a host`);
  }
}

export interface PublicApiClientOptions {
  accountId: string;
  /** A user of the account allowed to use the Public API. */
  username: string;
  password: string;
  /**
   * Where the domain lookup is asked: LivePerson's (the default) or a botbridge server's URL
   * (`http://127.0.0.1:8080`). Its scheme is the API domain's when the answer is not a
   * LivePerson zone.
   */
  domainLookup?: string;
  /** The API domain itself, when known: no lookup is made. */
  apiDomain?: string;
  /** A bearer kept from before (a restarted service): used while it lasts. */
  bearer?: string;
  /** Renew the bearer this long before it expires. Default 60 s. */
  renewBeforeMs?: number;
  /** Each request's limit, connect to last byte. Default 10 s. */
  timeoutMs?: number;
  /** Default: a keep-alive pool of this client's own, closed by `close()`. */
  dispatcher?: Dispatcher;
  now?: () => number;
}

export interface ActionOptions {
  /** Seconds the command stays valid while queued: 10–120, the server's default (30) when absent. */
  ttl?: number;
}

export type JobState = 'queued' | 'running' | 'done' | 'expired' | 'failed';
export interface JobStatus {
  jobId: string;
  action?: PublicApiAction;
  conversationId?: string;
  status: JobState;
  /** Why a job failed. */
  error?: string;
}

export interface PublicApiClient {
  /** The Third-Party Bots API domain (an origin), looked up once. */
  apiDomain(): Promise<string>;
  /** A bearer valid for a while yet: the kept one, or a new login's. */
  bearer(): Promise<string>;
  /** Logs in now, whatever the kept bearer's age. */
  login(): Promise<string>;
  sendMessages(conversationId: string, command: MessagesCommand, options?: ActionOptions): Promise<{ jobId: string }>;
  transfer(conversationId: string, skill: string, options?: ActionOptions): Promise<{ jobId: string }>;
  close(conversationId: string, options?: ActionOptions): Promise<{ jobId: string }>;
  setSdes(conversationId: string, command: SdesCommand, options?: ActionOptions): Promise<{ jobId: string }>;
  setTtr(conversationId: string, command: TtrCommand, options?: ActionOptions): Promise<{ jobId: string }>;
  /** botbridge's job status route (LivePerson documents none). */
  job(jobId: string): Promise<JobStatus>;
  /** Polls `job` until the job is done, expired or failed; rejects after `timeoutMs` (default 150 s). */
  waitForJob(jobId: string, options?: { timeoutMs?: number; intervalMs?: number }): Promise<JobStatus>;
  /** Closes the client's own connection pool (not a dispatcher passed in). */
  dispose(): Promise<void>;
}

/** Every failure of the client: `status` and the server's `code` when there was an answer. */
export class PublicApiError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
    readonly body?: unknown,
  ) {
    super(message);
    // Each subclass by its own name in stack traces and logs.
    this.name = new.target.name;
  }
}
/** 400: a bad body or query, a closed conversation, an unknown skill — or a bearer refused twice. */
export class PublicApiBadRequestError extends PublicApiError {}
/** 401 from the login: wrong username or password. */
export class PublicApiCredentialsError extends PublicApiError {}
/** 404: no such account, conversation or job (for this bearer's account). */
export class PublicApiNotFoundError extends PublicApiError {}
/** 429: too many failed logins; try again after `retryAfterSeconds`. */
export class PublicApiRateLimitError extends PublicApiError {
  constructor(
    message: string,
    status: number,
    code: string | undefined,
    body: unknown,
    readonly retryAfterSeconds?: number,
  ) {
    super(message, status, code, body);
  }
}
/** 5xx: the server failed; the action may or may not have been queued. */
export class PublicApiServerError extends PublicApiError {}
/** No answer: connection refused or reset, or the timeout ran out. */
export class PublicApiUnreachableError extends PublicApiError {}
/** An answer outside what the API documents (another status, a body without its field). */
export class PublicApiResponseError extends PublicApiError {}

/** Answers are a few hundred bytes; an error page more. Nothing larger is read. */
const RESPONSE_LIMIT = 64 * 1024;
/** Codes with which a server says the bearer (not the request) was wrong: log in and send again. */
const BEARER_REFUSED = new Set(['expired-bearer', 'invalid-bearer']);
/** When a bearer's expiry cannot be read: LivePerson's and botbridge's last an hour. */
const ASSUMED_BEARER_LIFETIME_MS = 60 * 60_000;
const TERMINAL: ReadonlySet<JobState> = new Set(['done', 'expired', 'failed']);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export function createPublicApiClient(options: PublicApiClientOptions): PublicApiClient {
  const { accountId, username, password } = options;
  for (const [name, value] of Object.entries({ accountId, username, password }))
    if (typeof value !== 'string' || value === '')
      throw new TypeError(`createPublicApiClient: ${name} must be a non-empty string`);
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const renewBeforeMs = options.renewBeforeMs ?? 60_000;
  const ownAgent = options.dispatcher ? undefined : new Agent({ keepAliveTimeout: 30_000, connections: 16 });
  const dispatcher = options.dispatcher ?? (ownAgent as Agent);
  const lookupUrl = new URL(options.domainLookup ?? LIVEPERSON_DOMAIN_LOOKUP);
  const account = encodeURIComponent(accountId);

  let domain: Promise<string> | undefined = options.apiDomain
    ? Promise.resolve(apiDomainFor(options.apiDomain, lookupUrl.protocol === 'http:' ? 'http:' : 'https:'))
    : undefined;
  let kept: { bearer: string; renewAt: number } | undefined = options.bearer
    ? { bearer: options.bearer, renewAt: renewAtOf(options.bearer, now(), renewBeforeMs) }
    : undefined;
  let loggingIn: Promise<string> | undefined;

  const call = async (
    method: 'GET' | 'POST' | 'PUT',
    url: URL,
    body: unknown,
    authorization?: string,
  ): Promise<Answer> => {
    const what = `${method} ${url.origin}${url.pathname}`;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method,
        dispatcher,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
        headers: {
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(authorization ? { authorization } : {}),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      throw new PublicApiUnreachableError(`${what}: no answer (${describe(error)})`);
    }
    const declared = Number(response.headers['content-length']);
    let read: Awaited<ReturnType<typeof readBounded>>;
    try {
      read = await readBounded(response.body, RESPONSE_LIMIT, Number.isFinite(declared) ? declared : undefined);
    } catch (error) {
      throw new PublicApiUnreachableError(`${what}: the answer broke off (${describe(error)})`);
    }
    if ('tooLarge' in read)
      throw new PublicApiResponseError(`${what}: a ${response.statusCode} answer larger than ${RESPONSE_LIMIT} bytes`);
    const { text } = read;
    let parsed: unknown = text;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        // Kept as text: an error page from a proxy is still worth showing.
      }
    }
    return { status: response.statusCode, headers: response.headers, body: parsed };
  };

  const apiDomain = (): Promise<string> => {
    domain ??= lookUpDomain().catch((error) => {
      domain = undefined; // the next call asks again
      throw error;
    });
    return domain;
  };

  const lookUpDomain = async (): Promise<string> => {
    const url = new URL(`/api/account/${account}/service/baseURI.json?version=1.0`, lookupUrl);
    const answer = await call('GET', url, undefined);
    if (answer.status !== 200) throw errorOf(answer, 'domain lookup');
    const baseURIs = (answer.body as { baseURIs?: unknown })?.baseURIs;
    const entry = Array.isArray(baseURIs)
      ? baseURIs.find((b) => (b as { service?: unknown })?.service === 'botConnectorsDomain')
      : undefined;
    const baseURI = (entry as { baseURI?: unknown } | undefined)?.baseURI;
    if (typeof baseURI !== 'string' || !baseURI)
      throw new PublicApiResponseError(
        `the domain lookup of account '${accountId}' names no botConnectorsDomain`,
        answer.status,
        undefined,
        answer.body,
      );
    return apiDomainFor(baseURI, lookupUrl.protocol === 'http:' ? 'http:' : 'https:');
  };

  const login = (): Promise<string> => {
    loggingIn ??= (async () => {
      const url = new URL(`/api/account/${account}/login?v=1.3`, await apiDomain());
      const answer = await call('POST', url, { username, password });
      if (answer.status !== 200) throw errorOf(answer, 'login');
      const bearer = (answer.body as { bearer?: unknown })?.bearer;
      if (typeof bearer !== 'string' || !bearer)
        throw new PublicApiResponseError('the login answered 200 without a bearer', 200, undefined, answer.body);
      kept = { bearer, renewAt: renewAtOf(bearer, now(), renewBeforeMs) };
      return bearer;
    })().finally(() => {
      loggingIn = undefined;
    });
    return loggingIn;
  };

  const bearer = async (): Promise<string> => (kept && now() < kept.renewAt ? kept.bearer : login());

  /** A call with the bearer; sent once more with a new login when the server refused the bearer itself. */
  const authorized = async (method: 'GET' | 'PUT', path: string, body: unknown, what: string): Promise<Answer> => {
    const url = new URL(`/api/v1/account/${account}${path}`, await apiDomain());
    const first = await bearer();
    const answer = await call(method, url, body, `Bearer ${first}`);
    if (!refusedBearer(answer)) return answer;
    // Another call may have logged in meanwhile; otherwise this one does.
    const renewed = kept && kept.bearer !== first ? kept.bearer : await login();
    const again = await call(method, url, body, `Bearer ${renewed}`);
    if (refusedBearer(again)) throw errorOf(again, what);
    return again;
  };

  const act = async (
    action: PublicApiAction,
    conversationId: string,
    body: unknown,
    options: ActionOptions = {},
  ): Promise<{ jobId: string }> => {
    if (typeof conversationId !== 'string' || conversationId === '')
      throw new TypeError(`${action}: conversationId must be a non-empty string`);
    const query = options.ttl === undefined ? '' : `?ttl=${checkTtl(options.ttl)}`;
    const path = `/conversation/${encodeURIComponent(conversationId)}/${action}${query}`;
    const answer = await authorized('PUT', path, body, action);
    if (answer.status !== 200) throw errorOf(answer, action);
    const jobId = (answer.body as { jobId?: unknown })?.jobId;
    if (typeof jobId !== 'string' || !jobId)
      throw new PublicApiResponseError(`${action} answered 200 without a jobId`, 200, undefined, answer.body);
    return { jobId };
  };

  const job = async (jobId: string): Promise<JobStatus> => {
    const answer = await authorized('GET', `/jobs/${encodeURIComponent(jobId)}`, undefined, 'job status');
    if (answer.status !== 200) throw errorOf(answer, 'job status');
    const status = (answer.body as { status?: unknown })?.status;
    if (typeof status !== 'string' || !['queued', 'running', 'done', 'expired', 'failed'].includes(status))
      throw new PublicApiResponseError(`job '${jobId}' has no known status`, 200, undefined, answer.body);
    return answer.body as JobStatus;
  };

  return {
    apiDomain,
    bearer,
    login,
    sendMessages: (conversationId, command, options) => act('messages', conversationId, command, options),
    transfer: (conversationId, skill, options) => act('transfer', conversationId, { skill }, options),
    close: (conversationId, options) => act('close', conversationId, undefined, options),
    setSdes: (conversationId, command, options) => act('sdes', conversationId, command, options),
    setTtr: (conversationId, command, options) => act('ttr', conversationId, command, options),
    job,
    async waitForJob(jobId, { timeoutMs = (TTL_MAX_SECONDS + 30) * 1000, intervalMs = 250 } = {}) {
      const deadline = now() + timeoutMs;
      for (;;) {
        const status = await job(jobId);
        if (TERMINAL.has(status.status)) return status;
        if (now() >= deadline)
          throw new PublicApiError(`job '${jobId}' is still ${status.status} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, intervalMs));
      }
    },
    async dispose() {
      await ownAgent?.close();
    },
  };
}

/** The server's own rule for `ttl`, checked before a request is sent. */
function checkTtl(ttl: number): number {
  const checked = parseTtl(String(ttl));
  if (!checked.ok) throw new RangeError(checked.message);
  return checked.value;
}

/**
 * Whether the server refused the bearer rather than the request: botbridge says so by its code;
 * a server without codes (the page documents none) by naming the token in a 400 or answering 401.
 */
function refusedBearer(answer: Answer): boolean {
  if (answer.status === 401) return true;
  if (answer.status !== 400) return false;
  const { code, message } = errorFields(answer.body);
  if (code !== undefined) return BEARER_REFUSED.has(code);
  return /bearer|token/i.test(message ?? (typeof answer.body === 'string' ? answer.body : ''));
}

/** When to log in again: ahead of the JWT's `exp`, or of the assumed hour when it has none readable. */
function renewAtOf(bearer: string, now: number, renewBeforeMs: number): number {
  let expiresAt = now + ASSUMED_BEARER_LIFETIME_MS;
  try {
    const { exp } = decodeJwt(bearer);
    if (typeof exp === 'number') expiresAt = exp * 1000;
  } catch {
    // Not a JWT: opaque bearers get the assumed lifetime.
  }
  return expiresAt - renewBeforeMs;
}

function errorFields(body: unknown): { code?: string; message?: string } {
  const error = (body as { error?: unknown })?.error;
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    return {
      ...(typeof code === 'string' ? { code } : {}),
      ...(typeof message === 'string' ? { message } : {}),
    };
  }
  const message = (body as { message?: unknown })?.message;
  return typeof message === 'string' ? { message } : {};
}

/** The typed error for a non-200 answer, with the server's own reason in the message. */
function errorOf(answer: Answer, what: string): PublicApiError {
  const { status, body } = answer;
  const { code, message } = errorFields(body);
  const text = `${what}: ${status}${message ? ` ${message}` : typeof body === 'string' && body ? ` ${body.slice(0, 200)}` : ''}`;
  if (status === 400) return new PublicApiBadRequestError(text, status, code, body);
  if (status === 401) return new PublicApiCredentialsError(text, status, code, body);
  if (status === 404) return new PublicApiNotFoundError(text, status, code, body);
  if (status === 429) {
    const retryAfter = Number(answer.headers['retry-after']);
    return new PublicApiRateLimitError(text, status, code, body, Number.isFinite(retryAfter) ? retryAfter : undefined);
  }
  if (status >= 500) return new PublicApiServerError(text, status, code, body);
  return new PublicApiResponseError(text, status, code, body);
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } })?.cause?.code;
  const message = error instanceof Error ? error.message : String(error);
  return cause ? `${cause}: ${message}` : message;
}
