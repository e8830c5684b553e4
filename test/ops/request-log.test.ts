import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { TestBot } from '../helpers/test-bot.js';
import { exchangesOf, openConversation, setupBot, type BotSetup } from '../helpers/connector.js';
import { completionLevel, logRequestsAt, routeRequestLevel } from '../../src/http/request-log.js';
import { createHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { defaultWebDir } from '../../src/web/serve.js';

const DEBUG = 20;
const INFO = 30;
const WARN = 40;
const ERROR = 50;

type Line = Record<string, any> & { level: number; msg: string };

describe('request-line levels (pure)', () => {
  it('reads are debug and writes info unless the route says otherwise', () => {
    assert.equal(routeRequestLevel('GET'), 'debug');
    assert.equal(routeRequestLevel('HEAD'), 'debug');
    assert.equal(routeRequestLevel(['GET', 'HEAD']), 'debug');
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) assert.equal(routeRequestLevel(method), 'info');
    assert.equal(routeRequestLevel(['GET', 'POST']), 'info');
    assert.equal(routeRequestLevel('POST', 'debug'), 'debug');
    assert.equal(routeRequestLevel('GET', 'info'), 'info');
  });

  it('an answer that went wrong raises the completion line: 4xx info, 502 warn, other 5xx error', () => {
    assert.equal(completionLevel('debug', 200), 'debug');
    assert.equal(completionLevel('info', 204), 'info');
    assert.equal(completionLevel('debug', 304), 'debug');
    assert.equal(completionLevel('debug', 404), 'info');
    assert.equal(completionLevel('info', 409), 'info');
    assert.equal(completionLevel('debug', 502), 'warn');
    assert.equal(completionLevel('debug', 500), 'error');
    assert.equal(completionLevel('info', 503), 'error');
  });
});

describe('request-line levels of a scope and of a route', () => {
  it("a scope's level wins over the method's default, and a route's own over both", async () => {
    const logs: Line[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line) as Line);
        done();
      },
    });
    const server = await createHttpServer({
      logger: createLogger('debug', sink),
      metrics: createMetrics({ openConversations: async () => 0 }),
      version: 'test',
    });
    server.get('/read', async () => ({}));
    server.get('/read-acted-on', { config: { requestLog: 'info' } }, async () => ({}));
    const machine: FastifyPluginAsync = async (scope) => {
      logRequestsAt(scope, 'debug');
      scope.post('/machine/call', async () => ({}));
      scope.post('/machine/acted-on', { config: { requestLog: 'info' } }, async () => ({}));
    };
    await server.register(machine);
    server.post('/write', async () => ({}));
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    try {
      const expected: [string, string, number][] = [
        ['GET', '/read', DEBUG],
        ['GET', '/read-acted-on', INFO],
        ['POST', '/machine/call', DEBUG],
        ['POST', '/machine/acted-on', INFO],
        ['POST', '/write', INFO],
      ];
      for (const [method, path, level] of expected) {
        const id = `${method}${path}`;
        const res = await fetch(url + path, { method, headers: { 'x-request-id': id } });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        await eventually(() => logs.some((l) => l.reqId === id && l.msg === 'request completed'));
        assert.deepEqual(
          logs.filter((l) => l.reqId === id).map((l) => [l.msg, l.level]),
          [
            ['incoming request', level],
            ['request completed', level],
          ],
          id,
        );
      }
    } finally {
      await server.close();
    }
  });
});

for (const kind of STORES) {
  describe(`request and bot-fault log lines (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let bot: TestBot;
    let setup: BotSetup;
    let sequence = 0;

    /** A request with an id of our own, so its log lines can be found. */
    const call = async (method: string, path: string, options: { token?: string; body?: unknown } = {}) => {
      const id = `req-${++sequence}-${method.toLowerCase()}`;
      const headers: Record<string, string> = { 'x-request-id': id };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(running.url + path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      await res.arrayBuffer();
      return { id, status: res.status };
    };
    const lines = (): Line[] => running.logs.map((l) => JSON.parse(l) as Line);
    /** The request lines of one request, once its completion line is written (after the answer is sent). */
    const requestLines = async (id: string): Promise<Line[]> => {
      for (let i = 0; i < 400; i++) {
        const mine = lines().filter((l) => l.reqId === id);
        if (mine.some((l) => l.msg === 'request completed')) return mine;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`no completion line for ${id}`);
    };

    before(async () => {
      store = await freshStore(kind);
      // Debug: every line is written, so the test sees the level each was written at.
      running = await startApp(store, { logLevel: 'debug' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      bot = await new TestBot().start();
      setup = await setupBot(running, bot.url);
    });
    after(async () => {
      await running?.close();
      await bot?.stop();
      await store?.dispose();
    });

    it('what the console polls is logged at debug; writes and sign-ins at info', async () => {
      const { acc, botId } = setup;
      const conversation = await openConversation(running, acc);
      await conversation.say('hello');
      const test = await admin.post(`/admin/v1/accounts/${acc}/bots/${botId}/test-conversations`);
      assert.equal(test.status, 201);
      const asset = readdirSync(join(defaultWebDir(), 'assets')).find((f) => f.endsWith('.js'));

      const polled = [
        await call('GET', '/healthz'),
        await call('GET', '/metrics'),
        await call('GET', '/'),
        await call('GET', `/chat/${acc}`),
        ...(asset ? [await call('GET', `/assets/${asset}`)] : []),
        await call('GET', `/admin/v1/accounts/${acc}/bots`, { token: ADMIN_TOKEN }),
        await call('GET', `/admin/v1/accounts/${acc}/bots/${botId}`, { token: ADMIN_TOKEN }),
        await call('GET', `/admin/v1/accounts/${acc}/bots/${botId}/logs?conversationId=${conversation.id}`, {
          token: ADMIN_TOKEN,
        }),
        await call('GET', `/admin/v1/accounts/${acc}/bots/${botId}/stats?window=hour`, { token: ADMIN_TOKEN }),
        await call('GET', `/admin/v1/accounts/${acc}/bot-stats?window=hour`, { token: ADMIN_TOKEN }),
        // Writes sent on a timer or as someone types: the tester's keep-alive, typing.
        await call(
          'POST',
          `/admin/v1/accounts/${acc}/bots/${botId}/test-conversations/${test.body.conversationId}/keep`,
          {
            token: ADMIN_TOKEN,
          },
        ),
        await call('POST', `/api/account/${acc}/consumer/conversations/${conversation.id}/typing`, {
          token: conversation.token,
          body: { typing: true },
        }),
      ];
      const acted = [
        await call('POST', `/api/account/${acc}/consumer/conversations/${conversation.id}/messages`, {
          token: conversation.token,
          body: { text: 'a write' },
        }),
        await call('PATCH', `/admin/v1/accounts/${acc}/bots/${botId}`, {
          token: ADMIN_TOKEN,
          body: { name: 'renamed' },
        }),
        await call('DELETE', `/admin/v1/accounts/${acc}/bots/${botId}/test-conversations/${test.body.conversationId}`, {
          token: ADMIN_TOKEN,
        }),
      ];
      for (const request of [...polled, ...acted]) assert.ok(request.status < 400, `${request.id}: ${request.status}`);

      for (const { id } of polled) {
        const mine = await requestLines(id);
        assert.deepEqual(
          mine.map((l) => [l.msg, l.level]),
          [
            ['incoming request', DEBUG],
            ['request completed', DEBUG],
          ],
          id,
        );
      }
      for (const { id } of acted) {
        const mine = await requestLines(id);
        assert.deepEqual(
          mine.map((l) => [l.msg, l.level]),
          [
            ['incoming request', INFO],
            ['request completed', INFO],
          ],
          id,
        );
      }

      // An agent's sign-in is a write; a refused one shows at info with its reason.
      const refused = await call('POST', `/api/account/${acc}/agent/login`, {
        body: { username: 'nobody', password: 'wrong password' },
      });
      assert.equal(refused.status, 401);
      const signIn = await requestLines(refused.id);
      assert.ok(
        signIn.every((l) => l.level === INFO),
        JSON.stringify(signIn),
      );
    });

    it('a polled route that answers 4xx shows at info, naming the request on its completion line', async () => {
      const missing = await call('GET', `/admin/v1/accounts/${setup.acc}/bots/no-such-bot`, { token: ADMIN_TOKEN });
      assert.equal(missing.status, 404);
      const mine = await requestLines(missing.id);
      assert.equal(mine.find((l) => l.msg === 'incoming request')?.level, DEBUG);
      const completed = mine.find((l) => l.msg === 'request completed')!;
      assert.equal(completed.level, INFO);
      assert.equal(completed.res.statusCode, 404);
      assert.equal(completed.req.method, 'GET');
      assert.match(completed.req.url, /\/bots\/no-such-bot$/);
    });

    /** One warn line, with the code, the bot and the conversation, and no stack: nothing at error. */
    const oneWarning = (from: number, conversationId: string, code: string): Line => {
      const about = lines()
        .slice(from)
        .filter((l) => l.conversationId === conversationId);
      const warnings = about.filter((l) => l.level >= WARN);
      assert.equal(warnings.length, 1, `${code}: ${JSON.stringify(about)}`);
      const [line] = warnings;
      assert.equal(line.level, WARN);
      assert.equal(line.code, code);
      assert.equal(line.botId, setup.botId);
      assert.equal(line.conversationId, conversationId);
      assert.equal(line.err, undefined, 'no error object');
      assert.ok(!JSON.stringify(line).includes('    at '), 'no stack trace');
      assert.equal(
        lines()
          .slice(from)
          .filter((l) => l.level >= ERROR).length,
        0,
        `nothing at error after ${code}`,
      );
      return line;
    };

    /** The bot back online (the interruption probe finds its service well again), for the next fault. */
    const online = async () => {
      bot.onEvent = () => ({ json: { response: [{ type: 'TEXT', data: { message: 'fine' } }] } });
      for (let i = 0; i < 400; i++) {
        if ((await admin.get(`/admin/v1/accounts/${setup.acc}/bots/${setup.botId}`)).body.status === 'ONLINE') return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('the bot never came back online');
    };

    it("a bot's fault (malformed answer, HTTP error, token refused, timeout) is one warn line with code, bot and conversation, no stack", async () => {
      const { acc, botId, admin: botAdmin } = setup;
      const faults: { code: string; answer: TestBot['onEvent'] }[] = [
        {
          code: 'vendor-malformed-response',
          answer: () => ({ text: 'this is not JSON', headers: { 'content-type': 'text/plain' } }),
        },
        { code: 'vendor-http-error', answer: () => ({ status: 500, json: { error: 'boom' } }) },
        { code: 'vendor-auth-rejected', answer: () => ({ status: 401, json: {} }) },
        { code: 'vendor-timeout', answer: () => ({ delayMs: 3_000, json: { response: [] } }) },
      ];
      assert.equal(
        (await botAdmin.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, { vendor: { timeoutSeconds: 1 } })).status,
        200,
      );
      for (const { code, answer } of faults) {
        await online();
        bot.onEvent = answer;
        const conversation = await openConversation(running, acc);
        const from = running.logs.length;
        await conversation.say('are you there?');
        const [exchange] = await exchangesOf(botAdmin, acc, botId, conversation.id);
        assert.equal(exchange.outcome, 'ESCALATED', code);
        oneWarning(from, conversation.id, code);
      }
      await online();
    });

    it("a bot's service failing a console request is a warning with its code, not an error with our stack", async () => {
      const { acc, botId } = setup;
      bot.onEnvironments = () => ({ json: { not: 'a list' } });
      const from = running.logs.length;
      const failed = await call('GET', `/admin/v1/accounts/${acc}/bots/${botId}/environments`, { token: ADMIN_TOKEN });
      assert.equal(failed.status, 502);
      const mine = await requestLines(failed.id);
      const reason = mine.find((l) => l.code === 'vendor-malformed-response');
      assert.ok(reason, JSON.stringify(mine));
      assert.equal(reason.level, WARN);
      assert.equal(reason.err, undefined);
      assert.match(reason.req.url, new RegExp(`/bots/${botId}/environments$`));
      assert.equal(mine.find((l) => l.msg === 'request completed')?.level, WARN);
      assert.equal(
        lines()
          .slice(from)
          .filter((l) => l.level >= ERROR).length,
        0,
        'nothing at error',
      );
    });

    it('at the info level, polling writes no line at all', async () => {
      const quietStore = await freshStore(kind);
      const quiet = await startApp(quietStore, { logLevel: 'info' });
      try {
        const from = quiet.logs.length;
        for (const path of ['/healthz', '/metrics', '/admin/v1/accounts']) {
          const res = await fetch(quiet.url + path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
          assert.equal(res.status, 200);
          await res.arrayBuffer();
        }
        const created = await client(quiet.url, { token: ADMIN_TOKEN }).post('/admin/v1/accounts', {
          accountId: 'quiet',
        });
        assert.equal(created.status, 201);
        await eventuallyLogged(quiet, (l) => l.msg === 'request completed');
        const written = quiet.logs.slice(from).map((l) => JSON.parse(l) as Line);
        assert.deepEqual(
          written.map((l) => [l.msg, l.req?.method ?? l.res?.statusCode]),
          [
            ['incoming request', 'POST'],
            ['request completed', 201],
          ],
        );
      } finally {
        await quiet.close();
        await quietStore.dispose();
      }
    });
  });
}

async function eventually(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (done()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the line never came');
}

async function eventuallyLogged(running: Running, found: (line: Line) => boolean): Promise<void> {
  await eventually(() => running.logs.some((l) => found(JSON.parse(l) as Line)));
}
