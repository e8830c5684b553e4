import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Agent } from 'undici';
import { createContractValidator, createStructuredContentValidator } from '../../src/contract/index.js';
import { parseBotResponse } from '../../src/contract/index.js';
import { CustomEndpointClient } from '../../src/connector/vendor-client.js';
import type { VendorCredentials } from '../../src/connector/types.js';
import {
  answer,
  closeConversation,
  createCustomEndpointService,
  createRequestListener,
  createTokenVerifier,
  MemorySessions,
  quickReplies,
  quickReply,
  text,
  transfer,
  type CustomEndpointService,
  type EventCall,
  type PostEventResponseBody,
  type TextChangeBody,
  type SessionStore,
} from '../../src/sdk/custom-endpoint/index.js';
import { customEndpointPlugin } from '../../src/sdk/custom-endpoint/fastify.js';
import { SqliteSessions } from '../../src/sdk/custom-endpoint/sqlite-sessions.js';
import { mint, signingKey, startJwks, type Jwks, type SigningKey } from './helpers/jwks.js';

const contract = createContractValidator();
const richContent = createStructuredContentValidator();

/** The dialog state of the test bot: kept in the session between events. */
interface Dialog {
  turns: number;
  customerId?: string;
}

const conversationBody = (type: 'MESSAGING' | 'CHAT' = 'MESSAGING') => ({
  sdes: { unauthenticatedSdes: { customerInfo: { type: 'ctmrinfo', info: { customerId: 'c-42' } } } },
  context: { type, skillId: 7, engagementId: 1234, visitor: { sharkVisitorId: 'v-1' } },
});
/** Each a new log entry unless `sequence` says it is a redelivery of one. */
let sequences = 0;
const textEvent = (message: string, sequence = ++sequences) => ({
  type: 'TEXT',
  source: 'CONSUMER',
  data: { message },
  context: { lpEvent: { sequence } },
});
const startEvent = { type: 'START', source: 'CONVERSATION', data: {}, context: { lpEvent: {} } };

/** The test bot's TEXT handler: counts turns in the session and answers with what the session holds. */
function answerText({ event, session, accountId }: EventCall<TextChangeBody, Dialog>): PostEventResponseBody {
  session.state.turns += 1;
  const message = event.data.message;
  if (message === 'human') return answer(text('Transferring you'), transfer('human'));
  if (message === 'bye') return answer(text('Bye'), closeConversation({ withoutPcs: true }));
  if (message === 'choices')
    return answer(
      { conversationType: session.context.type },
      quickReplies('Pick one', [quickReply('Yes'), quickReply('No')], { validator: richContent }),
    );
  // A handler bug: an answer built by hand that the connector would refuse.
  if (message === 'broken') return { response: [{ type: 'DELAY', data: { seconds: 0 } }], analytics: { intents: [] } };
  if (message === 'throw') throw new Error('handler failed');
  return answer(
    { intents: [{ id: 'echo', description: 'Echoed the message', confidenceScore: 0.5 }] },
    text(
      `Turn ${session.state.turns} for ${session.state.customerId} of ${accountId} on skill ${session.context.skillId}: ${message}`,
    ),
  );
}

/** A small bot on the SDK: counts turns in its session and answers with what the session holds. */
function testBot(options: {
  jwksUrl: string;
  sessions?: SessionStore<Dialog>;
  errors?: unknown[];
  refusals?: string[];
  bodyLimit?: number;
}): CustomEndpointService {
  return createCustomEndpointService<Dialog>({
    verifyToken: createTokenVerifier({ jwksUrl: options.jwksUrl, accounts: ['acme'] }),
    sessions: options.sessions ?? new MemorySessions(),
    version: '2.1.0',
    bodyLimit: options.bodyLimit,
    structuredContent: richContent,
    onError: (error) => options.errors?.push(error),
    onRefusal: ({ status, code }, { method, path }) => options.refusals?.push(`${status} ${code} ${method} ${path}`),
    handlers: {
      environments: ({ botId }) => (botId === 'ghost' ? undefined : ['draft', 'production']),
      state: ({ botId }) => ({ state: botId === 'sleepy' ? 'maintenance' : 'online', version: '2.1.0' }),
      createConversation: ({ conversation }) => {
        const sdes = conversation.sdes as {
          unauthenticatedSdes?: { customerInfo?: { info?: { customerId?: string } } };
        };
        return { turns: 0, customerId: sdes.unauthenticatedSdes?.customerInfo?.info?.customerId };
      },
      event: {
        TEXT: answerText,
        fallback: ({ event }) => answer(text(`Got a ${event.type} event`)),
      },
    },
  });
}

interface Mounted {
  base: string;
  close(): Promise<void>;
}

/** The SDK service behind a real HTTP server, mounted at `/bot` by each adapter. */
const adapters: [string, (service: CustomEndpointService) => Promise<Mounted>][] = [
  [
    'node:http',
    async (service) => {
      const server: Server = createServer(createRequestListener(service, { basePath: '/bot' }));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return {
        base: `http://127.0.0.1:${(server.address() as { port: number }).port}/bot`,
        close: () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      };
    },
  ],
  [
    'Fastify',
    async (service) => {
      const app: FastifyInstance = Fastify();
      // The app's own routes keep Fastify's JSON parsing: the plugin's parsers are its own.
      app.post('/echo', async (request) => ({ echoed: request.body }));
      await app.register(customEndpointPlugin, { service, prefix: '/bot' });
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      return { base: `${url}/bot`, close: () => app.close() };
    },
  ],
];

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

function client(base: string, token?: string) {
  const call = async (method: string, path: string, body?: unknown, raw?: string): Promise<Reply> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const textBody = await res.text();
    return { status: res.status, headers: res.headers, body: textBody ? JSON.parse(textBody) : undefined };
  };
  return {
    get: (path: string) => call('GET', path),
    put: (path: string, body: unknown) => call('PUT', path, body),
    post: (path: string, body: unknown) => call('POST', path, body),
    raw: (method: string, path: string, raw: string) => call(method, path, undefined, raw),
  };
}

const botPath = '/v1/bots/bot-1';
const conversationPath = (convId: string, environment = 'draft') =>
  `${botPath}/environments/${environment}/conversations/${encodeURIComponent(convId)}`;

let key: SigningKey;
let jwks: Jwks;
let acme: string;
let globex: string;
before(async () => {
  key = await signingKey('key-1');
  jwks = await startJwks([key]);
  acme = await mint(key);
  globex = await mint(key, {}, { audience: 'globex' });
});
after(() => jwks?.close());

for (const [adapter, mount] of adapters) {
  describe(`SDK service through ${adapter}, over real HTTP`, () => {
    let mounted: Mounted;
    let http: ReturnType<typeof client>;
    const errors: unknown[] = [];
    const refusals: string[] = [];

    before(async () => {
      mounted = await mount(testBot({ jwksUrl: jwks.url, errors, refusals, bodyLimit: 16 * 1024 }));
      http = client(mounted.base, acme);
    });
    after(() => mounted?.close());

    it('answers 401 without a token, with the reason and a Bearer challenge', async () => {
      const res = await client(mounted.base).get(`${botPath}/environments`);
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'missing-token');
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      const forged = await client(mounted.base, `${acme.slice(0, -4)}AAAA`).get(`${botPath}/environments`);
      assert.equal(forged.status, 401);
      assert.equal(forged.body.error.code, 'invalid-signature');
      assert.match(forged.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token"/);
      // Reported for a log line, with the reason and without the token or the query.
      assert.deepEqual(refusals.slice(-2), [
        `401 missing-token GET ${botPath}/environments`,
        `401 invalid-signature GET ${botPath}/environments`,
      ]);
    });

    it('answers 403 to a valid token of another account, on every call', async () => {
      const other = client(mounted.base, globex);
      for (const res of [
        await other.get(`${botPath}/environments`),
        await other.get(`${botPath}/environments/draft/state`),
        await other.put(conversationPath('c-403'), conversationBody()),
        await other.post(`${conversationPath('c-403')}/events`, textEvent('hi')),
      ]) {
        assert.equal(res.status, 403);
        assert.equal(res.body.error.code, 'wrong-audience');
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer error="insufficient_scope"/);
      }
    });

    it('lists the environments and reports the state, as the contract has them', async () => {
      const environments = await http.get(`${botPath}/environments`);
      assert.equal(environments.status, 200);
      assert.deepEqual(environments.body, ['draft', 'production']);
      assert.equal(contract.validate('Environment', environments.body).ok, true);
      const state = await http.get(`${botPath}/environments/draft/state`);
      assert.equal(state.status, 200);
      assert.deepEqual(state.body, { state: 'online', version: '2.1.0' });
      assert.equal(contract.validate('BotStatus', state.body).ok, true);
      assert.equal((await http.get('/v1/bots/sleepy/environments/production/state')).body.state, 'maintenance');
    });

    it('answers 404 for a bot or an environment the service lacks', async () => {
      const ghost = await http.get('/v1/bots/ghost/environments');
      assert.equal(ghost.status, 404);
      assert.equal(ghost.body.error.code, 'bot-not-found');
      const badId = await http.get('/v1/bots/no_such_bot!/environments');
      assert.equal(badId.body.error.code, 'bot-not-found');
      const environment = await http.get(`${botPath}/environments/staging/state`);
      assert.equal(environment.status, 404);
      assert.equal(environment.body.error.code, 'environment-not-found');
      const route = await http.get('/v1/bots/bot-1/nothing');
      assert.equal(route.status, 404);
      assert.equal(route.body.error.code, 'not-found');
    });

    it('answers 404 to an event for a conversation it does not know', async () => {
      const res = await http.post(`${conversationPath('never-created')}/events`, textEvent('hi'));
      assert.equal(res.status, 404);
      assert.equal(res.body.error.code, 'conversation-not-found');
    });

    it('creates a conversation, then answers its events with the handler and its session', async () => {
      const convId = `conv/${adapter} ü`;
      const created = await http.put(conversationPath(convId), conversationBody());
      assert.equal(created.status, 200);
      assert.equal(created.body, undefined);
      const again = await http.put(conversationPath(convId), conversationBody());
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'conversation-exists');

      const first = await http.post(`${conversationPath(convId)}/events`, textEvent('hello'));
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, {
        response: [{ type: 'TEXT', data: { message: 'Turn 1 for c-42 of acme on skill 7: hello' } }],
        analytics: { intents: [{ id: 'echo', description: 'Echoed the message', confidenceScore: 0.5 }] },
      });
      assert.equal(contract.validate('PostEventResponse', first.body).ok, true);
      const second = await http.post(`${conversationPath(convId)}/events`, textEvent('again'));
      assert.equal(second.body.response[0].data.message, 'Turn 2 for c-42 of acme on skill 7: again');

      const start = await http.post(`${conversationPath(convId)}/events`, startEvent);
      assert.deepEqual(start.body.response, [{ type: 'TEXT', data: { message: 'Got a START event' } }]);

      for (const [message, action] of [
        ['human', { name: 'TRANSFER', skillName: 'human', index: 1 }],
        ['bye', { name: 'CLOSE_CONVERSATION', withoutPcs: true, index: 1 }],
      ] as const) {
        const res = await http.post(`${conversationPath(convId)}/events`, textEvent(message));
        const parsed = parseBotResponse(res.body, { conversationType: 'MESSAGING' }, richContent);
        assert.deepEqual(parsed.errors, []);
        assert.deepEqual(parsed.action, action);
      }
      const choices = await http.post(`${conversationPath(convId)}/events`, textEvent('choices'));
      assert.equal(choices.status, 200);
      assert.equal(
        parseBotResponse(choices.body, { conversationType: 'MESSAGING' }, richContent).items[0]?.kind,
        'quickReplies',
      );
      // The same conversation id in another environment is another conversation.
      assert.equal((await http.post(`${conversationPath(convId, 'production')}/events`, textEvent('hi'))).status, 404);
    });

    it('refuses bodies the contract does not allow, malformed JSON and bodies over the limit', async () => {
      const missing = await http.put(conversationPath('c-bad'), { context: { type: 'SMS' } });
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error.code, 'invalid-request');
      assert.match(missing.body.error.message, /must have required property 'sdes'/);
      assert.equal((await http.put(conversationPath('c-good'), conversationBody())).status, 200);
      const unknownEvent = await http.post(`${conversationPath('c-good')}/events`, {
        type: 'AUDIO',
        data: {},
        context: { lpEvent: {} },
      });
      assert.equal(unknownEvent.status, 400);
      const malformed = await http.raw('POST', `${conversationPath('c-good')}/events`, '{"type": ');
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.error.code, 'malformed-json');
      const poisoned = await http.raw(
        'PUT',
        conversationPath('c-poison'),
        '{"sdes": {"__proto__": {"admin": true}}, "context": {"type": "MESSAGING", "skillId": 1, "engagementId": 2}}',
      );
      assert.equal(poisoned.status, 400);
      const large = await http.put(conversationPath('c-large'), {
        ...conversationBody(),
        sdes: { blob: 'x'.repeat(20 * 1024) },
      });
      assert.equal(large.status, 413);
      assert.equal(large.body.error.code, 'payload-too-large');
    });

    it('answers 405 to a method the route does not take', async () => {
      const res = await http.post(`${botPath}/environments`, {});
      assert.equal(res.status, 405);
      assert.equal(res.headers.get('allow'), 'GET');
    });

    it('answers 500 when a handler fails or answers what the connector would refuse, and reports it', async () => {
      await http.put(conversationPath('c-bug'), conversationBody());
      const broken = await http.post(`${conversationPath('c-bug')}/events`, textEvent('broken'));
      assert.equal(broken.status, 500);
      assert.equal(broken.body.error.code, 'invalid-answer');
      assert.match(broken.body.error.message, /seconds/);
      const thrown = await http.post(`${conversationPath('c-bug')}/events`, textEvent('throw'));
      assert.equal(thrown.status, 500);
      assert.equal(thrown.body.error.code, 'internal');
      assert.ok(errors.some((e) => (e as Error).message === 'handler failed'));
      // A failed event leaves the session as it was: the next one is turn 1.
      const next = await http.post(`${conversationPath('c-bug')}/events`, textEvent('hi'));
      assert.match(next.body.response[0].data.message, /^Turn 1 /);
    });

    it('refuses quick replies on a CHAT conversation: the session knows its type', async () => {
      await http.put(conversationPath('c-chat'), conversationBody('CHAT'));
      const res = await http.post(`${conversationPath('c-chat')}/events`, textEvent('choices'));
      assert.equal(res.status, 500);
      assert.equal(res.body.error.code, 'internal');
      assert.match(
        String(errors.at(-1)),
        /quickReplies cannot be sent: quick replies are supported on messaging conversations only, and this is a CHAT conversation/,
      );
    });

    it('refuses a streamed body once it passes the limit', async () => {
      const chunk = new TextEncoder().encode('x'.repeat(4096));
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ < 8) controller.enqueue(chunk);
          else controller.close();
        },
      });
      const res = await fetch(`${mounted.base}${conversationPath('c-stream')}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${acme}`, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      assert.equal(res.status, 413);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'payload-too-large');
    });
  });
}

describe('SDK service: the Fastify plugin is encapsulated', () => {
  it("leaves the app's own JSON parsing alone", async () => {
    const mounted = await adapters[1]![1](testBot({ jwksUrl: jwks.url }));
    try {
      const res = await fetch(`${mounted.base.replace(/\/bot$/, '')}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ a: 1 }),
      });
      assert.deepEqual(await res.json(), { echoed: { a: 1 } });
    } finally {
      await mounted.close();
    }
  });
});

describe('SDK service: the framework-free core', () => {
  it('handle() takes a method, a path, headers and a raw body, and gives a status, headers and JSON', async () => {
    const service = testBot({ jwksUrl: jwks.url });
    const headers = { Authorization: `Bearer ${acme}` };
    assert.deepEqual(await service.handle({ method: 'GET', path: `${botPath}/environments?x=1`, headers }), {
      status: 200,
      body: ['draft', 'production'],
    });
    const created = await service.handle({
      method: 'PUT',
      path: conversationPath('c-core'),
      headers,
      body: JSON.stringify(conversationBody()),
    });
    assert.deepEqual(created, { status: 200 });
    const event = await service.handle({
      method: 'POST',
      path: `${conversationPath('c-core')}/events`,
      headers,
      body: new TextEncoder().encode(JSON.stringify(textEvent('raw bytes'))),
    });
    assert.equal(event.status, 200);
    assert.equal((event.body as any).response[0].data.message, 'Turn 1 for c-42 of acme on skill 7: raw bytes');
    const unauthenticated = await service.handle({ method: 'GET', path: `${botPath}/environments`, headers: {} });
    assert.deepEqual(unauthenticated, {
      status: 401,
      headers: { 'www-authenticate': 'Bearer' },
      body: { error: { code: 'missing-token', message: 'an Authorization: Bearer <app JWT> header is required' } },
    });
  });

  it('types: createConversation is required when the dialog state has required fields', () => {
    const verifyToken = createTokenVerifier({ jwksUrl: jwks.url, accounts: ['acme'] });
    const fallback = () => answer(text('ok'));
    createCustomEndpointService<{ step: string }>({
      verifyToken,
      handlers: { event: { fallback }, createConversation: () => ({ step: 'start' }) },
    });
    createCustomEndpointService<{ step?: string }>({ verifyToken, handlers: { event: { fallback } } });
    createCustomEndpointService<{ step: string }>({
      verifyToken,
      // @ts-expect-error no createConversation: a session could not start with a step
      handlers: { event: { fallback } },
    });
    assert.throws(() => createCustomEndpointService({ verifyToken, handlers: { event: {} } as never }), {
      name: 'TypeError',
      message: /handlers\.event\.fallback must be a function/,
    });
  });
});

describe('SDK service with SqliteSessions: a restarted bot service keeps its conversations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sdk-service-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('answers events for conversations created before the restart, and 404 only for unknown ones', async () => {
    const file = join(dir, 'sessions.sqlite');
    const firstSessions = new SqliteSessions<Dialog>(file);
    const first = await adapters[0]![1](testBot({ jwksUrl: jwks.url, sessions: firstSessions }));
    const before = client(first.base, acme);
    assert.equal((await before.put(conversationPath('c-durable'), conversationBody())).status, 200);
    assert.match(
      (await before.post(`${conversationPath('c-durable')}/events`, textEvent('one'))).body.response[0].data.message,
      /^Turn 1 /,
    );
    await first.close();
    firstSessions.close();

    const secondSessions = new SqliteSessions<Dialog>(file);
    const second = await adapters[1]![1](testBot({ jwksUrl: jwks.url, sessions: secondSessions }));
    try {
      const afterRestart = client(second.base, acme);
      const res = await afterRestart.post(`${conversationPath('c-durable')}/events`, textEvent('two'));
      assert.equal(res.status, 200);
      assert.equal(res.body.response[0].data.message, 'Turn 2 for c-42 of acme on skill 7: two');
      assert.equal((await afterRestart.post(`${conversationPath('c-unknown')}/events`, textEvent('x'))).status, 404);
    } finally {
      await second.close();
      secondSessions.close();
    }
  });

  it('a redelivered event (same type and sequence) gets the answer it got before, and the handler is not called again, across a restart', async () => {
    const file = join(dir, 'redeliveries.sqlite');
    const firstSessions = new SqliteSessions<Dialog>(file);
    const first = await adapters[0]![1](testBot({ jwksUrl: jwks.url, sessions: firstSessions }));
    const events = `${conversationPath('c-again')}/events`;
    const one = textEvent('one', 41);
    let answerToOne: unknown;
    try {
      const bot = client(first.base, acme);
      assert.equal((await bot.put(conversationPath('c-again'), conversationBody())).status, 200);
      answerToOne = (await bot.post(events, one)).body;
      assert.match((answerToOne as any).response[0].data.message, /^Turn 1 /);
      // The connector retries an event whose answer it did not get: the same body, the same sequence.
      assert.deepEqual((await bot.post(events, one)).body, answerToOne);
    } finally {
      await first.close();
      firstSessions.close();
    }

    const secondSessions = new SqliteSessions<Dialog>(file);
    const second = await adapters[1]![1](testBot({ jwksUrl: jwks.url, sessions: secondSessions }));
    try {
      const bot = client(second.base, acme);
      assert.deepEqual((await bot.post(events, one)).body, answerToOne, 'redelivered after the restart');
      // The same words as a new log entry are a new event; the turn count shows the handler ran twice in all.
      const next = await bot.post(events, textEvent('one', 42));
      assert.equal(next.body.response[0].data.message, 'Turn 2 for c-42 of acme on skill 7: one');
      // Another type with the same sequence is another event.
      const other = await bot.post(events, {
        ...one,
        type: 'RICH_CONTENT',
        data: { content: { type: 'text', text: 'x' }, context: {} },
      });
      assert.equal(other.status, 200);
      assert.equal(other.body.response[0].data.message, 'Got a RICH_CONTENT event');
    } finally {
      await second.close();
      secondSessions.close();
    }
  });
});

describe("SDK service called by the connector's own Custom Endpoint client", () => {
  it('creates the conversation, sends an event, re-creates after a 404, and gets answers the parser accepts whole', async () => {
    const sessions = new MemorySessions<Dialog>();
    const mounted = await adapters[0]![1](testBot({ jwksUrl: jwks.url, sessions }));
    const dispatcher = new Agent();
    try {
      const vendor = {
        type: 'CUSTOM_ENDPOINT',
        baseUrl: mounted.base,
        clientId: 'app-1',
        botId: 'bot-1',
        environment: 'draft',
        timeoutSeconds: 10,
      } as VendorCredentials;
      const tokens = { grantTo: async () => ({ token: await mint(key), expiresIn: 3600 }) };
      const connector = new CustomEndpointClient('acme', vendor, {
        dispatcher,
        tokens,
        maxResponseBytes: 2 * 1024 * 1024,
      });

      assert.deepEqual(await connector.environments(), ['draft', 'production']);
      assert.deepEqual(await connector.state(), { state: 'online', version: '2.1.0' });
      const created = await connector.putConversation('c-connector', conversationBody() as never);
      assert.equal(created.status, 200);
      const answered = await connector.postEvent('c-connector', textEvent('hello') as never);
      assert.equal(answered.status, 200);
      const parsed = parseBotResponse(answered.body, { conversationType: 'MESSAGING' }, richContent);
      assert.deepEqual(parsed.errors, []);
      assert.equal(parsed.usable, true);

      // The bot forgot the conversation: 404, which the connector answers by creating it again.
      await sessions.delete({ accountId: 'acme', botId: 'bot-1', environment: 'draft', conversationId: 'c-connector' });
      assert.equal((await connector.postEvent('c-connector', textEvent('hello') as never)).status, 404);
      assert.equal((await connector.putConversation('c-connector', conversationBody() as never)).status, 200);
      assert.equal((await connector.postEvent('c-connector', textEvent('hello') as never)).status, 200);
    } finally {
      await dispatcher.close();
      await mounted.close();
    }
  });
});
