import type { VendorCredentials } from './types.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import type { ConversationBody, ConversationEventBody } from '../contract/index.js';

import { SpanKind, Tracing, type Context } from '../ops/tracing.js';

/** Obtains the tokens of the app installation a bot refers to (Sentinel's AppTokens). */
export interface TokenIssuer {
  /** Undefined when the account has no such app installation (any more). */
  grantTo(accountId: string, clientId: string): Promise<{ token: string; expiresIn: number } | undefined>;
}

export type VendorErrorCode =
  | 'vendor-unreachable'
  | 'vendor-timeout'
  | 'vendor-http-error'
  | 'vendor-auth-rejected'
  | 'vendor-malformed-response'
  | 'vendor-response-too-large'
  | 'bot-state-not-online';

/** A call that did not give a usable answer, with what the operator needs to see why. */
export class VendorError extends Error {
  constructor(
    readonly code: VendorErrorCode,
    message: string,
    readonly details: { status?: number; attempts: number; body?: string; durationMs: number },
  ) {
    super(message);
  }
}

export interface VendorResponse {
  status: number;
  /** Parsed JSON, or the text when it is not JSON. */
  body: unknown;
  text: string;
  /** Set when the body is not empty and not JSON: what it is instead, in words. */
  notJson?: string;
  attempts: number;
  durationMs: number;
}

export interface RetryPolicy {
  attempts: number;
  /** First backoff; doubles per attempt, with up to 50% random jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 5000 };

/** Refresh a cached token this long before it expires, so no call carries an about-to-die token. */
const TOKEN_REFRESH_MARGIN_MS = 60_000;

/**
 * The four Custom Endpoint calls for one bot. Keep-alive pooling comes from the shared undici
 * dispatcher; the app token is cached until shortly before expiry and refreshed once on a 401.
 * Network errors, timeouts, 429 and 5xx are retried with exponential backoff and jitter.
 */
export class CustomEndpointClient {
  private cachedToken?: { token: string; refreshAt: number };
  constructor(
    private readonly accountId: string,
    private readonly vendor: VendorCredentials,
    private readonly deps: {
      dispatcher: Dispatcher;
      tokens: TokenIssuer;
      retry?: RetryPolicy;
      maxResponseBytes: number;
      /** When tracing is on: a span per HTTP call, whose traceparent the request carries. */
      tracing?: Tracing;
    },
  ) {}

  private botPath(): string {
    return `${this.vendor.baseUrl}/v1/bots/${encodeURIComponent(this.vendor.botId)}`;
  }

  private conversationPath(conversationId: string): string {
    return `${this.botPath()}/environments/${encodeURIComponent(this.vendor.environment)}/conversations/${encodeURIComponent(conversationId)}`;
  }

  async environments(): Promise<string[]> {
    const res = await this.call('GET', `${this.botPath()}/environments`);
    this.requireOk(res);
    if (!Array.isArray(res.body) || !res.body.every((e) => typeof e === 'string')) {
      throw new VendorError(
        'vendor-malformed-response',
        'environments answer is not a JSON array of names',
        detailsOf(res),
      );
    }
    return res.body as string[];
  }

  /** The bot state; only `online` passes a test connection. */
  async state(): Promise<{ state: string; version: string }> {
    const res = await this.call(
      'GET',
      `${this.botPath()}/environments/${encodeURIComponent(this.vendor.environment)}/state`,
    );
    this.requireOk(res);
    const body = res.body as { state?: unknown; version?: unknown } | null;
    if (!body || typeof body !== 'object' || typeof body.state !== 'string') {
      throw new VendorError('vendor-malformed-response', 'state answer is not {state, version} JSON', detailsOf(res));
    }
    return { state: body.state, version: typeof body.version === 'string' ? body.version : String(body.version ?? '') };
  }

  /** Creates the conversation on the bot; 409 (it exists already) is success too. */
  async putConversation(
    conversationId: string,
    body: ConversationBody,
    beforeEach?: () => void,
    trace?: Context,
  ): Promise<VendorResponse> {
    const res = await this.call('PUT', this.conversationPath(conversationId), body, beforeEach, trace);
    if (res.status === 409) return res;
    this.requireOk(res);
    return res;
  }

  /**
   * Sends an event; returns the raw answer (404 included: the caller re-creates and resends).
   * `beforeEach` runs before every attempt, retries included, and again as each request is written;
   * it may throw to send nothing more.
   */
  async postEvent(
    conversationId: string,
    body: ConversationEventBody,
    beforeEach?: () => void,
    trace?: Context,
  ): Promise<VendorResponse> {
    const res = await this.call('POST', `${this.conversationPath(conversationId)}/events`, body, beforeEach, trace);
    if (res.status !== 404) this.requireOk(res);
    return res;
  }

  private requireOk(res: VendorResponse): void {
    if (res.status === 401 || res.status === 403) {
      throw new VendorError(
        'vendor-auth-rejected',
        `bot service rejected our token (HTTP ${res.status})`,
        detailsOf(res),
      );
    }
    if (res.status < 200 || res.status >= 300) {
      throw new VendorError('vendor-http-error', `bot service answered HTTP ${res.status}`, detailsOf(res));
    }
  }

  private async token(forceRefresh: boolean): Promise<string> {
    if (!forceRefresh && this.cachedToken && Date.now() < this.cachedToken.refreshAt) return this.cachedToken.token;
    const granted = await this.deps.tokens.grantTo(this.accountId, this.vendor.clientId);
    if (!granted) {
      throw new VendorError(
        'vendor-auth-rejected',
        `Sentinel gives no token for app installation '${this.vendor.clientId}': it is not installed in this account, or the client secret sent with it is not its current one`,
        {
          attempts: 0,
          durationMs: 0,
        },
      );
    }
    this.cachedToken = {
      token: granted.token,
      refreshAt: Date.now() + granted.expiresIn * 1000 - TOKEN_REFRESH_MARGIN_MS,
    };
    return granted.token;
  }

  /** One logical call: transient failures retried, a 401 answered with one fresh token. */
  private async call(
    method: 'GET' | 'PUT' | 'POST',
    url: string,
    body?: unknown,
    beforeEach?: () => void,
    trace?: Context,
  ): Promise<VendorResponse> {
    const retry = this.deps.retry ?? DEFAULT_RETRY;
    const started = performance.now();
    let refreshed = false;
    let lastError: VendorError | undefined;
    // What beforeEach refused with, as the request was written: it ends the call, never retried.
    let refused: { error: unknown } | undefined;
    const check =
      beforeEach &&
      (() => {
        try {
          beforeEach();
        } catch (error) {
          refused = { error };
          throw error;
        }
      });
    for (let attempt = 1; attempt <= retry.attempts; attempt++) {
      const token = await this.token(false);
      check?.();
      try {
        let res = await this.once(method, url, token, body, check, trace);
        if (res.status === 401 && !refreshed) {
          refreshed = true;
          res = await this.once(method, url, await this.token(true), body, check, trace);
        }
        const result = { ...res, attempts: attempt, durationMs: performance.now() - started };
        if (res.status === 429 || res.status >= 500) {
          lastError = new VendorError(
            'vendor-http-error',
            `bot service answered HTTP ${res.status}`,
            detailsOf(result),
          );
          if (attempt < retry.attempts) await sleep(backoff(retry, attempt, res.retryAfterMs));
          continue;
        }
        return result;
      } catch (error) {
        if (refused) throw refused.error;
        if (error instanceof VendorError) throw error;
        lastError = transportError(error, attempt, performance.now() - started, this.vendor.timeoutSeconds);
        if (attempt < retry.attempts) await sleep(backoff(retry, attempt));
      }
    }
    throw new VendorError(lastError!.code, `${lastError!.message} (after ${retry.attempts} attempts)`, {
      ...lastError!.details,
      attempts: retry.attempts,
      durationMs: performance.now() - started,
    });
  }

  /** One HTTP request; in a `custom endpoint call` span (its traceparent sent) when tracing is on. */
  private once(
    method: string,
    url: string,
    token: string,
    body: unknown,
    beforeWrite?: () => void,
    trace?: Context,
  ): Promise<OnceResult> {
    const tracing = this.deps.tracing;
    return tracing
      ? this.traced(tracing, method, url, token, body, beforeWrite, trace)
      : this.send(method, url, token, body, beforeWrite);
  }

  private async traced(
    tracing: Tracing,
    method: string,
    url: string,
    token: string,
    body: unknown,
    beforeWrite: (() => void) | undefined,
    trace: Context | undefined,
  ): Promise<OnceResult> {
    const span = tracing.start(
      'custom endpoint call',
      {
        'http.request.method': method,
        'server.address': new URL(url).host,
        'botbridge.account': this.accountId,
        'botbridge.vendor_bot_id': this.vendor.botId,
      },
      trace,
      SpanKind.CLIENT,
    );
    const traceparent: Record<string, string> = {};
    tracing.inject(tracing.within(span, trace), traceparent);
    try {
      const res = await this.send(method, url, token, body, beforeWrite, traceparent);
      span.setAttribute('http.response.status_code', res.status);
      if (res.status >= 400) Tracing.fail(span, String(res.status));
      return res;
    } catch (error) {
      Tracing.fail(span, error instanceof VendorError ? error.code : errorType(error));
      throw error;
    } finally {
      span.end();
    }
  }

  private async send(
    method: string,
    url: string,
    token: string,
    body: unknown,
    beforeWrite?: () => void,
    traceHeaders?: Record<string, string>,
  ): Promise<OnceResult> {
    const timeoutMs = this.vendor.timeoutSeconds * 1000;
    const { origin, pathname, search } = new URL(url);
    const answer = await new Promise<Answer>((resolve, reject) => {
      this.deps.dispatcher.dispatch(
        {
          origin,
          path: pathname + search,
          method: method as Dispatcher.HttpMethod,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...traceHeaders,
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        new AnswerReader(this.deps.maxResponseBytes, timeoutMs, beforeWrite, resolve, reject),
      );
    });
    if ('tooLarge' in answer) {
      throw new VendorError(
        'vendor-response-too-large',
        `bot service answered more than ${this.deps.maxResponseBytes} bytes (the bot's limit); the rest was not read`,
        {
          status: answer.status,
          attempts: 1,
          durationMs: 0,
        },
      );
    }
    const { text } = answer;
    let parsed: unknown = text;
    let notJson: string | undefined;
    // Tested, not trimmed: trim() would copy the whole answer.
    if (/[^ \t\n\r]/.test(text)) {
      try {
        parsed = JSON.parse(text);
      } catch {
        notJson = describeNotJson(text, answer.contentType);
      }
    }
    const retryAfter = Number(answer.retryAfter);
    return {
      status: answer.status,
      body: parsed,
      text,
      ...(notJson ? { notJson } : {}),
      retryAfterMs: answer.retryAfter !== undefined && Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined,
    };
  }
}

interface OnceResult {
  status: number;
  body: unknown;
  text: string;
  notJson?: string;
  retryAfterMs: number | undefined;
}

/** What AbortSignal.timeout aborts with, so a timeout reads the same to transportError. */
function timedOut(): DOMException {
  return new DOMException('The operation was aborted due to timeout', 'TimeoutError');
}

/** A transport failure's kind for a span (its code, never its message). */
function errorType(error: unknown): string {
  const e = error as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
  const code = e.code ?? e.cause?.code ?? e.name;
  return typeof code === 'string' ? code : 'error';
}

/** What a body that is not JSON is, so the log says so instead of calling it empty. */
function describeNotJson(text: string, contentType: string | string[] | undefined): string {
  const type = (Array.isArray(contentType) ? contentType[0] : contentType)?.split(';')[0].trim();
  const start = JSON.stringify(text.trim().slice(0, 80));
  return `bot service answered ${text.length} characters${type ? ` of ${type}` : ''} that are not JSON, starting ${start}`;
}

function detailsOf(res: { status: number; text: string; attempts: number; durationMs: number }) {
  return { status: res.status, body: res.text.slice(0, 10_000), attempts: res.attempts, durationMs: res.durationMs };
}

function backoff(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = exponential * (1 + Math.random() * 0.5);
  return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
}

function transportError(error: unknown, attempts: number, durationMs: number, timeoutSeconds: number): VendorError {
  const e = error as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  const timedOut =
    e.name === 'TimeoutError' ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'ETIMEDOUT';
  if (timedOut)
    return new VendorError('vendor-timeout', `bot service did not answer within ${timeoutSeconds} s`, {
      attempts,
      durationMs,
    });
  const reason = code ?? e.cause?.message ?? e.message ?? 'network error';
  return new VendorError('vendor-unreachable', `bot service unreachable: ${reason}`, { attempts, durationMs });
}

/** What one request brought back: its status, the two headers read, and its body as text; or that the body was too long. */
type Answer =
  | { status: number; text: string; contentType?: string; retryAfter?: string }
  | { status: number; tooLarge: true; bytes: number };

/**
 * Reads one answer as undici hands it over (a dispatch handler), not through request()'s body
 * stream, abort signal and parsed headers: the answer is a few hundred bytes, and that machinery
 * (a Readable, its async iterator, an AbortController, every header decoded) cost more than the
 * rest of the call on our side. What it must do it does here:
 *  - The body is bounded as it arrives: past `limit` (or declared past it) the request is
 *    aborted, which closes that connection, and the rest is never buffered.
 *  - The whole call, its body included, ends within the bot's timeout (one timer, cleared at the
 *    end). A request still waiting for a connection then fails at once and is dropped unsent
 *    when undici gets to it.
 *  - `beforeWrite` runs where undici starts the request on its connection (onConnect), which
 *    precedes the write, and a refusal aborts it with the check's error. `beforeEach` also runs
 *    before each attempt starts, but between that and the write lie awaits (a token, a free
 *    connection); a driver frozen there (SIGSTOP, a long GC pause) and thawed after its lease
 *    moved on would otherwise send what the new driver is sending too. Checked as the request is
 *    written, the window is one synchronous step.
 */
class AnswerReader implements Dispatcher.DispatchHandler {
  private abortRequest?: (error: Error) => void;
  /** Why it ended before undici gave it a connection. */
  private stopped?: Error;
  private settled = false;
  private status = 0;
  private contentType?: string;
  private retryAfter?: string;
  private readonly chunks: Buffer[] = [];
  private bytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly limit: number,
    timeoutMs: number,
    private readonly beforeWrite: (() => void) | undefined,
    private readonly resolve: (answer: Answer) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.timer = setTimeout(() => this.stop(timedOut()), timeoutMs).unref();
  }

  onConnect(abort: (error?: Error) => void): void {
    if (this.stopped) {
      abort(this.stopped);
      return;
    }
    this.abortRequest = abort;
    try {
      this.beforeWrite?.();
    } catch (error) {
      abort(error as Error);
    }
  }

  onHeaders(status: number, rawHeaders: Buffer[]): boolean {
    // An informational answer (100 Continue) comes before the real one.
    if (status < 200) return true;
    this.status = status;
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i].toString('latin1').toLowerCase();
      if (name === 'content-type') this.contentType = rawHeaders[i + 1].toString('latin1');
      else if (name === 'retry-after') this.retryAfter = rawHeaders[i + 1].toString('latin1');
      else if (name === 'content-length') {
        const declared = Number(rawHeaders[i + 1].toString('latin1'));
        if (declared > this.limit) return this.tooLarge(declared);
      }
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return this.tooLarge(this.bytes);
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.settle(() =>
      this.resolve({
        status: this.status,
        text: Buffer.concat(this.chunks, this.bytes).toString('utf8'),
        contentType: this.contentType,
        retryAfter: this.retryAfter,
      }),
    );
  }

  onError(error: Error): void {
    this.settle(() => this.reject(error));
  }

  private tooLarge(bytes: number): false {
    this.settle(() => this.resolve({ status: this.status, tooLarge: true, bytes }));
    this.abortRequest?.(new Error('the answer is longer than the bot may send'));
    return false;
  }

  /** Ends it with `error`: now if it is on a connection, else as soon as undici hands it one. */
  private stop(error: Error): void {
    if (this.abortRequest) this.abortRequest(error);
    else {
      this.stopped = error;
      this.onError(error);
    }
  }

  private settle(outcome: () => void): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    outcome();
  }
}
