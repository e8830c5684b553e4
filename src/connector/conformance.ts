import { randomUUID } from 'node:crypto';
import { request, type Dispatcher } from 'undici';
import type { ContractValidator, StructuredContentValidator } from '../contract/index.js';
import type { Conversation, ConversationEvent } from '../platform/types.js';
import { ANSWER_SHAPE_LIMITS, parseBotResponse } from '../contract/index.js';
import { ERROR_CODES, isErrorCode } from './error-codes.js';
import { FILE_PLACEHOLDER, closeEventBody, consumerEventBody, conversationBody, startEventBody } from './requests.js';
import type { BotSettings, VendorCredentials } from './types.js';
import { readBounded } from '../util/bounded-body.js';
import { exceededJsonLimit } from '../util/json-bounds.js';

/**
 * The conformance check: drives a Custom Endpoint service through the whole contract, with tokens
 * from our Sentinel, and says of each call whether the service answered as the contract and the
 * live connector require — each finding with its error code, JSON pointer and fix — and whether it
 * refuses the tokens it must refuse. Conversations are made up for the check (ids `conformance-…`):
 * the platform's are never touched and nothing is left in its store.
 */

export type CheckOutcome = 'pass' | 'fail' | 'warn';

export interface ConformanceCheck {
  id: string;
  title: string;
  outcome: CheckOutcome;
  code?: string;
  explanation?: string;
  fix?: string;
  /** JSON pointer into the response body, where the finding is. */
  pointer?: string;
  /** Every spot, when the finding has more than one (`pointer` is the first). */
  pointers?: string[];
  request?: { method: string; url: string; body?: unknown; token?: string };
  response?: { status: number; body: unknown };
  ms: number;
}

export interface ConformanceReport {
  checks: ConformanceCheck[];
  passed: number;
  failed: number;
  warnings: number;
}

/** Tokens a check sends: the real one, and the ones a service must refuse. */
export interface ProbeTokens {
  /** A token as the connector gets it: this account, this app's scope, Sentinel's current key. */
  valid(): Promise<string>;
  /** Signed with Sentinel's current key, one claim wrong. */
  forged(wrong: 'audience' | 'issuer' | 'scope' | 'expired'): Promise<string>;
  /** Right claims, signed by a key Sentinel never published. */
  unknownKey(): Promise<string>;
  /** Right claims, `alg: none`, no signature. */
  unsigned(): Promise<string>;
}

export interface ConformanceSubject {
  accountId: string;
  vendor: VendorCredentials;
  settings: BotSettings;
}

export interface ConformanceDeps {
  dispatcher: Dispatcher;
  tokens: ProbeTokens;
  contract: ContractValidator;
  structuredContent: StructuredContentValidator;
  /** Bound on a response read for the check (the bot's own limit). */
  maxResponseBytes: number;
}

/** What the check's own findings mean, beside the connector's error codes. */
export const CONFORMANCE_CODES = {
  'contract-deviation': {
    title: 'Outside the contract',
    explanation:
      'The answer passes botbridge’s parser but breaks the Custom Endpoint contract, so a stricter connector may refuse it.',
    fix: 'Send the shape the contract describes at the pointer shown.',
  },
  'contract-erratum': {
    title: 'Accepted, not canonical',
    explanation:
      'botbridge accepts this form, which the published contract file and LivePerson’s platform disagree on (contracts/ERRATA.md), but it is not the canonical one: a connector that follows either to the letter may refuse it.',
    fix: 'Send the canonical form named below (the SDK’s builders do).',
  },
  'auth-not-enforced': {
    title: 'Accepts a token it must refuse',
    explanation:
      'Your service answered a call whose token it should have refused. Anyone who can reach it can then speak as the platform: open conversations, read what your bot says, or (with another account’s token) pass as your account.',
    fix: 'Verify every request’s bearer: RS256 only, against the platform’s JWKS, issuer "Sentinel", audience your account id, scope thirdpartybots.customendpoint.bot, not expired. Answer 401 (or 403) otherwise.',
  },
  'unknown-conversation-accepted': {
    title: 'Answers for a conversation it never had',
    explanation:
      'An event for a conversation your service was never told about must be answered 404: the connector then creates the conversation (PUT) and sends the event again. Answering it otherwise loses the create-conversation context (SDES, engagement attributes).',
    fix: 'Keep the conversations you were told about, and answer 404 to events for any other.',
  },
  'slow-answer': {
    title: 'Slow answer',
    explanation:
      'The call took more than half of the bot’s timeout: under load it will reach the timeout, and the conversation escalates.',
    fix: 'Answer sooner: defer slow work (answer with a holding text and send the real reply later through the Public API) or raise the bot’s timeout.',
  },
  'invalid-environments': {
    title: 'Environments outside the contract',
    explanation: 'The environments answer must be a JSON array of the names of the bot’s environments.',
    fix: 'Answer GET …/environments with the bot’s environment names, like ["draft", "production"].',
  },
  'invalid-state': {
    title: 'State outside the contract',
    explanation: 'The state answer must be {state, version}, with state online or offline.',
    fix: 'Answer GET …/state with {"state": "online", "version": "<your version>"}.',
  },
  'state-not-online': {
    title: 'Not online',
    explanation: 'The service says it is not online: the connector will not start the bot.',
    fix: 'Answer state "online" when the service can take conversations.',
  },
  'environment-missing': {
    title: 'Configured environment not offered',
    explanation: 'The environments answer does not list the environment this bot is configured with.',
    fix: 'Offer the environment in GET …/environments, or change the bot’s environment.',
  },
} as const;

type CheckInput = Omit<ConformanceCheck, 'outcome'> & { outcome?: CheckOutcome };

interface Reply {
  status: number;
  body: unknown;
  ms: number;
  /** The call did not complete (refused, reset, timed out). */
  failure?: string;
  /** What the live connector would refuse the answer as before parsing it (too large, too deep), with why. */
  refused?: { code: 'vendor-response-too-large' | 'vendor-response-too-deep'; why: string };
}

export async function checkConformance(subject: ConformanceSubject, deps: ConformanceDeps): Promise<ConformanceReport> {
  const { vendor, settings } = subject;
  const timeoutMs = (vendor.timeoutSeconds ?? 60) * 1000;
  const botPath = `${vendor.baseUrl}/v1/bots/${encodeURIComponent(vendor.botId)}`;
  const envPath = `${botPath}/environments/${encodeURIComponent(vendor.environment ?? 'draft')}`;
  const conversationPath = (id: string) => `${envPath}/conversations/${encodeURIComponent(id)}`;
  const checks: ConformanceCheck[] = [];
  const add = (input: CheckInput) => {
    const known = input.code && lookupCode(input.code);
    checks.push({
      ...input,
      outcome: input.outcome ?? (input.code ? 'fail' : 'pass'),
      ...(known && input.explanation === undefined ? { explanation: known.explanation } : {}),
      ...(known && input.fix === undefined ? { fix: known.fix } : {}),
    });
  };

  const call = async (method: 'GET' | 'PUT' | 'POST', url: string, token: string | null, body?: unknown) => {
    const started = performance.now();
    try {
      const res = await request(url, {
        method,
        dispatcher: deps.dispatcher,
        headers: {
          accept: 'application/json',
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      // Read and bounded as the live connector reads an answer: nothing deeper than it accepts is walked or echoed.
      const declared = Number(res.headers['content-length']);
      const read = await readBounded(res.body, deps.maxResponseBytes, Number.isFinite(declared) ? declared : undefined);
      const ms = elapsed(started);
      if (!('text' in read))
        return {
          status: res.statusCode,
          body: null,
          ms,
          refused: { code: 'vendor-response-too-large', why: `more than ${deps.maxResponseBytes} bytes` },
        } satisfies Reply;
      const answer = parsedOrText(read.text);
      const tooDeep = exceededJsonLimit(answer, ANSWER_SHAPE_LIMITS);
      if (tooDeep)
        return {
          status: res.statusCode,
          body: read.text.slice(0, 10_000),
          ms,
          refused: { code: 'vendor-response-too-deep', why: `nested deeper than ${tooDeep.limit} levels` },
        } satisfies Reply;
      return { status: res.statusCode, body: answer, ms } satisfies Reply;
    } catch (error) {
      return { status: 0, body: null, ms: elapsed(started), failure: (error as Error).message } satisfies Reply;
    }
  };
  const requestOf = (method: string, url: string, body?: unknown) => ({ method, url, ...(body ? { body } : {}) });
  const responseOf = (reply: Reply) => ({ status: reply.status, body: reply.body });
  const transportFinding = (reply: Reply) =>
    findingOf(reply) ?? { code: 'vendor-http-error', explanation: `HTTP ${reply.status}` };

  const token = await deps.tokens.valid();

  // ---- discovery: environments and state ----
  {
    const url = `${botPath}/environments`;
    const reply = await call('GET', url, token);
    const base = { id: 'environments', title: 'Environments', request: requestOf('GET', url), ms: reply.ms };
    if (reply.status !== 200) add({ ...base, ...transportFinding(reply), response: responseOf(reply) });
    else {
      const verdict = deps.contract.validate('Environment', reply.body);
      if (!verdict.ok)
        add({
          ...base,
          code: 'invalid-environments',
          explanation: `${CONFORMANCE_CODES['invalid-environments'].explanation} ${verdict.errors.join('; ')}`,
          ...spotsOf(verdict.errors.map((e) => e.split(' ')[0]!)),
          response: responseOf(reply),
        });
      else if (Array.isArray(reply.body) && !reply.body.includes(vendor.environment ?? 'draft'))
        add({ ...base, code: 'environment-missing', outcome: 'warn', response: responseOf(reply) });
      else add(base);
    }
  }
  {
    const url = `${envPath}/state`;
    const reply = await call('GET', url, token);
    const base = { id: 'state', title: 'State', request: requestOf('GET', url), ms: reply.ms };
    const body = reply.body as { state?: unknown } | null;
    if (reply.status !== 200) add({ ...base, ...transportFinding(reply), response: responseOf(reply) });
    else if (
      !deps.contract.validate('BotStatus', reply.body).ok ||
      !['online', 'offline'].includes(String(body?.state))
    )
      add({ ...base, code: 'invalid-state', response: responseOf(reply) });
    else if (body?.state !== 'online')
      add({ ...base, code: 'state-not-online', outcome: 'warn', response: responseOf(reply) });
    else add(base);
  }

  // ---- a conversation's life, on made-up conversations ----
  const conversation = made(subject.accountId, settings);
  const withSdes = made(subject.accountId, settings, true);
  for (const [id, title, subjectConversation, withEngagement] of [
    ['create-conversation', 'Create conversation', conversation, false],
    ['create-conversation-sdes', 'Create conversation with SDES', withSdes, true],
  ] as const) {
    const url = conversationPath(subjectConversation.conversationId);
    const body = conversationBody(subjectConversation, { ...settings, engagementAttributes: withEngagement });
    const reply = await call('PUT', url, token, body);
    const base = { id, title, request: requestOf('PUT', url, body), response: responseOf(reply), ms: reply.ms };
    add(reply.status >= 200 && reply.status < 300 ? base : { ...base, ...transportFinding(reply) });
  }

  // Each event its own log entry, as in a real conversation: a service that keeps what it
  // answered by sequence (the SDK does) must not take the next one for a redelivery.
  let sequence = 1;
  const consumerEvent = (text?: string, content?: unknown): ConversationEvent => ({
    sequence: ++sequence,
    serverTimestamp: Date.now(),
    originator: { role: 'CONSUMER' },
    type: content === undefined ? 'TEXT' : 'RICH_CONTENT',
    audience: 'ALL',
    ...(text !== undefined ? { text } : {}),
    ...(content !== undefined ? { content } : {}),
  });
  const events: Array<[string, string, unknown]> = [
    ['start', 'START event', startEventBody(conversation, 1)],
    ['text', 'TEXT event', consumerEventBody(conversation, [consumerEvent('hi')])],
    [
      'rich-content',
      'RICH_CONTENT event',
      consumerEventBody(conversation, [
        consumerEvent(undefined, { type: 'vertical', elements: [{ type: 'text', text: 'conformance check' }] }),
      ]),
    ],
    ['file', 'File placeholder', consumerEventBody(conversation, [consumerEvent(FILE_PLACEHOLDER)])],
  ];
  for (const [id, title, body] of events) {
    const url = `${conversationPath(conversation.conversationId)}/events`;
    const reply = await call('POST', url, token, body);
    add(answerCheck(id, title, requestOf('POST', url, body), reply, settings, deps));
  }
  {
    const url = `${conversationPath(conversation.conversationId)}/events`;
    const body = closeEventBody({ ...conversation, status: 'CLOSED', closeReason: 'CONSUMER' }, ++sequence);
    const reply = await call('POST', url, token, body);
    const base = {
      id: 'close',
      title: 'CLOSE_CONVERSATION event',
      request: requestOf('POST', url, body),
      response: responseOf(reply),
      ms: reply.ms,
    };
    add(reply.status >= 200 && reply.status < 300 ? base : { ...base, ...transportFinding(reply) });
  }
  {
    const stranger = `conformance-unknown-${randomUUID()}`;
    const url = `${conversationPath(stranger)}/events`;
    const body = consumerEventBody({ ...conversation, conversationId: stranger }, [consumerEvent('hello?')]);
    const reply = await call('POST', url, token, body);
    const base = {
      id: 'unknown-conversation',
      title: 'Event for an unknown conversation',
      request: requestOf('POST', url, body),
      response: responseOf(reply),
      ms: reply.ms,
    };
    add(
      reply.status === 404
        ? base
        : reply.failure
          ? { ...base, ...transportFinding(reply) }
          : {
              ...base,
              code: 'unknown-conversation-accepted',
              explanation: `${CONFORMANCE_CODES['unknown-conversation-accepted'].explanation} It answered HTTP ${reply.status}.`,
            },
    );
  }

  // ---- latency of every call so far, against the bot's timeout ----
  {
    const slowest = checks.reduce((a, b) => (b.ms > a.ms ? b : a));
    const base = { id: 'latency', title: `Latency (slowest: ${slowest.title})`, ms: slowest.ms };
    if (slowest.ms > timeoutMs) add({ ...base, code: 'vendor-timeout' });
    else if (slowest.ms > timeoutMs / 2)
      add({
        ...base,
        code: 'slow-answer',
        outcome: 'warn',
        explanation: `${CONFORMANCE_CODES['slow-answer'].explanation} Slowest call: ${Math.round(slowest.ms)} ms of ${timeoutMs} ms.`,
      });
    else add(base);
  }

  // ---- tokens the service must refuse, on the side-effect-free state call ----
  const probes: Array<[string, string, () => Promise<string | null>]> = [
    ['auth-no-token', 'Refuses a call without a token', async () => null],
    ['auth-other-account', 'Refuses another account’s token', () => deps.tokens.forged('audience')],
    ['auth-other-issuer', 'Refuses a token of another issuer', () => deps.tokens.forged('issuer')],
    ['auth-wrong-scope', 'Refuses a token without the Custom Endpoint scope', () => deps.tokens.forged('scope')],
    ['auth-expired', 'Refuses an expired token', () => deps.tokens.forged('expired')],
    ['auth-unknown-key', 'Refuses a token signed by an unknown key', () => deps.tokens.unknownKey()],
    ['auth-alg-none', 'Refuses an unsigned token (alg none)', () => deps.tokens.unsigned()],
  ];
  for (const [id, title, mint] of probes) {
    const url = `${envPath}/state`;
    const probe = await mint();
    const reply = await call('GET', url, probe);
    const base = {
      id,
      title,
      request: { ...requestOf('GET', url), ...(probe ? { token: probe } : {}) },
      response: responseOf(reply),
      ms: reply.ms,
    };
    if (reply.status === 401 || reply.status === 403) add(base);
    else if (reply.failure) add({ ...base, ...transportFinding(reply) });
    else
      add({
        ...base,
        code: 'auth-not-enforced',
        explanation: `${CONFORMANCE_CODES['auth-not-enforced'].explanation} It answered HTTP ${reply.status}.`,
      });
  }

  // Failures first, then warnings: what to fix leads.
  const order: Record<CheckOutcome, number> = { fail: 0, warn: 1, pass: 2 };
  const sorted = [...checks].sort((a, b) => order[a.outcome] - order[b.outcome]);
  return {
    checks: sorted,
    passed: checks.filter((c) => c.outcome === 'pass').length,
    failed: checks.filter((c) => c.outcome === 'fail').length,
    warnings: checks.filter((c) => c.outcome === 'warn').length,
  };
}

/** An answer to an event, held to what live traffic is held to, then to the contract itself. */
function answerCheck(
  id: string,
  title: string,
  sent: ConformanceCheck['request'],
  reply: Reply,
  settings: BotSettings,
  deps: ConformanceDeps,
): CheckInput {
  const base = { id, title, request: sent, response: { status: reply.status, body: reply.body }, ms: reply.ms };
  const unusable = findingOf(reply);
  if (unusable) return { ...base, ...unusable };
  if (reply.status !== 200) return { ...base, code: 'vendor-http-error', explanation: `HTTP ${reply.status}` };
  const parsed = parseBotResponse(
    reply.body,
    { conversationType: settings.conversationType, limits: settings.limits },
    deps.structuredContent,
  );
  const [first] = parsed.errors;
  if (first)
    return {
      ...base,
      code: first.code,
      ...spotsOf(parsed.errors.map((e) => e.path)),
      explanation: parsed.errors.map((e) => e.message).join('; '),
    };
  const verdict = deps.contract.validate('PostEventResponse', reply.body);
  // Outside the contract fails; an erratum's other form (an object for metadata) only warns.
  const findings = verdict.errors.length ? verdict.errors : verdict.deviations;
  if (findings.length) {
    const code = verdict.errors.length ? 'contract-deviation' : 'contract-erratum';
    return {
      ...base,
      code,
      ...(verdict.errors.length ? {} : { outcome: 'warn' as const }),
      ...spotsOf(findings.map((f) => f.split(' ')[0]!)),
      explanation: `${CONFORMANCE_CODES[code].explanation} ${findings.join('; ')}`,
    };
  }
  return base;
}

/** `pointer` (the first spot) and, when there are more, `pointers`: each JSON pointer once. */
function spotsOf(candidates: string[]): Pick<ConformanceCheck, 'pointer' | 'pointers'> {
  const spots = [...new Set(candidates.filter((p) => p.startsWith('/')))];
  if (!spots.length) return {};
  return { pointer: spots[0], ...(spots.length > 1 ? { pointers: spots } : {}) };
}

/** A conversation made up for the check, never stored: its id says what it is. */
function made(accountId: string, settings: BotSettings, withSdes = false): Conversation {
  const conversationId = `conformance-${randomUUID()}`;
  return {
    conversationId,
    accountId,
    type: settings.conversationType,
    status: 'OPEN',
    skill: { id: 0, name: settings.skills[0] ?? 'conformance' },
    assignee: null,
    ttr: { ttrType: 'NORMAL' },
    sdes: withSdes
      ? {
          authenticatedSdes: {},
          unauthenticatedSdes: { customerInfo: { type: 'ctmrinfo', info: { customerId: 'conformance-customer' } } },
        }
      : { authenticatedSdes: {}, unauthenticatedSdes: {} },
    visitor: {},
    createdAt: Date.now(),
    lastSequence: 1,
    answeredSequence: 0,
  };
}

function lookupCode(code: string): { explanation: string; fix: string } | undefined {
  if (code in CONFORMANCE_CODES) return CONFORMANCE_CODES[code as keyof typeof CONFORMANCE_CODES];
  return isErrorCode(code) ? ERROR_CODES[code] : undefined;
}

const elapsed = (started: number) => Math.round((performance.now() - started) * 10) / 10;

/** Why a reply cannot be read as an answer at all: the call failed, or the body is past the connector's bounds. */
function findingOf(reply: Reply): { code: string; explanation: string } | undefined {
  if (reply.failure)
    return {
      code: /timeout/i.test(reply.failure) ? 'vendor-timeout' : 'vendor-unreachable',
      explanation: reply.failure,
    };
  if (reply.refused) return { code: reply.refused.code, explanation: `the answer is ${reply.refused.why}` };
  return undefined;
}

function parsedOrText(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
