import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closedPort } from '../helpers/net.js';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { SignJWT, decodeProtectedHeader, generateKeyPair } from 'jose';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { createContractValidator, type PostEventResponseBody } from '../../src/contract/index.js';
import {
  createDemoBotServer,
  demoBot,
  DEMO_BOT_ID,
  DEMO_BOT_PREFIX,
  FILE_PLACEHOLDER,
  type DemoBotOptions,
} from '../../src/demo-bot/index.js';
import { createLogger } from '../../src/ops/logger.js';
import { createHttpServer } from '../../src/http/server.js';
import { createMetrics } from '../../src/ops/metrics.js';

const SCOPE = 'thirdpartybots.customendpoint.bot';
const LAMBDA = '0b9e8f3a-5b7c-4d2e-9f1a-2c3d4e5f6a7b';
const contract = createContractValidator();

/** The client-credentials grant, as the connector makes it. */
async function appToken(url: string, acc: string, app: { client_id: string; client_secret: string }): Promise<string> {
  const res = await fetch(`${url}/sentinel/api/account/${acc}/app/token?v=1.0&grant_type=client_credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: app.client_id, client_secret: app.client_secret }).toString(),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** A demo bot on its own Fastify, on a free loopback port; logs kept for inspection. */
async function startDemoBot(
  options: Omit<DemoBotOptions, 'log'>,
): Promise<{ server: FastifyInstance; base: string; logs: string[] }> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const server = await createDemoBotServer({
    ...options,
    log: createLogger(process.env.TEST_LOG_LEVEL === 'debug' ? 'debug' : 'info', sink),
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { server, base: `${url}${options.prefix ?? DEMO_BOT_PREFIX}`, logs };
}

const conversationBody = (type: 'MESSAGING' | 'CHAT' = 'MESSAGING') => ({
  sdes: { unauthenticatedSdes: { customerInfo: { type: 'ctmrinfo', info: { customerId: 'c-1' } } } },
  context: {
    type,
    skillId: 7,
    engagementId: 1234,
    campaignId: 99,
    visitor: { sharkVisitorId: 'v-1', sharkSessionId: 's-1' },
  },
});
/** Each a new log entry, as the connector numbers them (the SDK answers a repeated one from memory). */
let sequences = 0;
const textEvent = (message: string) => ({
  type: 'TEXT',
  source: 'CONSUMER',
  data: { message },
  context: { lpEvent: { sequence: ++sequences } },
});

for (const kind of STORES) {
  describe(`demo bot over HTTP, verifying real Sentinel tokens (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let jwksUrl: string;
    let bot: Awaited<ReturnType<typeof startDemoBot>>;
    let http: Client;
    let acmeToken: string;
    let globexToken: string;
    let wrongScopeToken: string;
    const extraServers: FastifyInstance[] = [];
    const botPath = `/v1/bots/${DEMO_BOT_ID}`;
    const conversationPath = (convId: string, environment = 'draft') =>
      `${botPath}/environments/${environment}/conversations/${convId}`;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      for (const accountId of ['acme', 'globex'])
        assert.equal((await admin.post('/admin/v1/accounts', { accountId })).status, 201);
      const acmeApp = await admin.post('/admin/v1/accounts/acme/apps', { name: 'bot connector', scope: SCOPE });
      const otherApp = await admin.post('/admin/v1/accounts/acme/apps', {
        name: 'something else',
        scope: 'msg.consumer',
      });
      const globexApp = await admin.post('/admin/v1/accounts/globex/apps', { name: 'bot connector', scope: SCOPE });
      for (const app of [acmeApp, otherApp, globexApp]) assert.equal(app.status, 201);
      acmeToken = await appToken(running.url, 'acme', acmeApp.body);
      wrongScopeToken = await appToken(running.url, 'acme', otherApp.body);
      globexToken = await appToken(running.url, 'globex', globexApp.body);
      jwksUrl = `${running.url}/sentinel/well-known/jwks`;
      bot = await startDemoBot({ jwksUrl });
      http = client(bot.base, { token: acmeToken });
    });
    after(async () => {
      for (const server of extraServers) await server.close();
      await bot?.server.close();
      await running?.close();
      await store?.dispose();
    });

    it('lists its environments', async () => {
      const res = await http.get(`${botPath}/environments`);
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, ['draft', 'production']);
      assert.deepEqual(contract.validate('Environment', res.body), { ok: true, errors: [], deviations: [] });
      const badId = await http.get('/v1/bots/not_a_valid_id/environments');
      assert.equal(badId.status, 404);
      assert.equal(badId.body.error.code, 'bot-not-found');
      assert.equal((await http.get(`/v1/bots/${'a'.repeat(37)}/environments`)).status, 404);
      assert.equal((await http.get(`/v2/bots/${DEMO_BOT_ID}/environments`)).status, 404);
    });

    it('reports its state: online, or the state a bot id names', async () => {
      const online = await http.get(`${botPath}/environments/draft/state`);
      assert.equal(online.status, 200);
      assert.deepEqual(online.body, { state: 'online', version: '1.0.0' });
      assert.equal(contract.validate('BotStatus', online.body).ok, true);
      for (const state of ['maintenance', 'offline', 'error']) {
        const res = await http.get(`/v1/bots/${state}/environments/production/state`);
        assert.equal(res.status, 200);
        assert.equal(res.body.state, state);
        assert.equal(contract.validate('BotStatus', res.body).ok, true);
      }
      // Only those ids: an id that is also an object property name is just another online bot.
      assert.equal((await http.get('/v1/bots/constructor/environments/draft/state')).body.state, 'online');
      const unknown = await http.get(`${botPath}/environments/staging/state`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'environment-not-found');
    });

    it('creates a conversation once: 200 (the contract’s “Created”), then 409; a body off the contract is a 400', async () => {
      const body = conversationBody();
      assert.equal(contract.validate('Conversation', body).ok, true);
      const created = await http.put(conversationPath('conv-put'), body);
      assert.equal(created.status, 200);
      const again = await http.put(conversationPath('conv-put'), body);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'conversation-exists');
      // Same id in another environment is another conversation.
      assert.equal((await http.put(conversationPath('conv-put', 'production'), body)).status, 200);

      const bad = await http.put(conversationPath('conv-bad'), { context: { type: 'MESSAGING', skillId: '7' } });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'invalid-request');
      assert.match(bad.body.error.message, /required property 'sdes'/);
      assert.match(bad.body.error.message, /\/context\/skillId must be number/);
      assert.equal(
        (
          await http.put(conversationPath('conv-empty'), undefined, {
            headers: { 'content-type': 'application/json' },
            raw: '',
          })
        ).status,
        400,
      );
      assert.equal((await http.put(conversationPath('conv-env', 'staging'), body)).status, 404);
    });

    it('answers 404 for events on a conversation it does not know; after the PUT the same event is answered', async () => {
      const event = textEvent('hello');
      const missing = await http.post(`${conversationPath('conv-404')}/events`, event);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'conversation-not-found');
      // What the connector does on that 404: create the conversation, resend the event once.
      assert.equal((await http.put(conversationPath('conv-404'), conversationBody())).status, 200);
      const resent = await http.post(`${conversationPath('conv-404')}/events`, event);
      assert.equal(resent.status, 200);
      assert.equal(contract.validate('PostEventResponse', resent.body).ok, true);
      assert.equal(resent.body.analytics.intents[0].id, 'greeting');
    });

    it('answers every utterance with the right items, each answer checked against the contract', async () => {
      assert.equal((await http.put(conversationPath('conv-talk'), conversationBody())).status, 200);
      const script: { say: string; items: string[]; intent?: string; deviations?: number; invalid?: string[] }[] = [
        { say: 'hi', items: ['TEXT', 'TEXT'], intent: 'greeting' },
        { say: 'Hello', items: ['TEXT', 'TEXT'], intent: 'greeting' },
        { say: 'help', items: ['TEXT', 'TEXT'], intent: 'greeting' },
        { say: 'private', items: ['TEXT', 'TEXT'], intent: 'private-text' },
        { say: 'metadata', items: ['TEXT'], intent: 'metadata' },
        { say: 'card', items: ['STRUCTURED_CONTENT'], intent: 'structured-content-card' },
        { say: 'structured', items: ['STRUCTURED_CONTENT'], intent: 'structured-content-card' },
        { say: 'carousel', items: ['STRUCTURED_CONTENT'], intent: 'structured-content-carousel' },
        { say: 'quick replies', items: ['STRUCTURED_CONTENT'], intent: 'quick-replies' },
        { say: 'delay', items: ['TEXT', 'DELAY', 'TEXT'], intent: 'delay' },
        { say: 'transfer', items: ['TEXT', 'ACTION:TRANSFER'], intent: 'transfer' },
        { say: 'transfer agent 42', items: ['TEXT', 'ACTION:TRANSFER'], intent: 'transfer-to-agent', deviations: 1 },
        { say: 'close', items: ['TEXT', 'ACTION:CLOSE_CONVERSATION'], intent: 'close-conversation' },
        { say: 'close without survey', items: ['TEXT', 'ACTION:CLOSE_CONVERSATION'], intent: 'close-without-survey' },
        { say: 'urgent', items: ['TEXT', 'ACTION:CHANGE_TTR'], intent: 'ttr-urgent' },
        { say: 'ttr 300', items: ['TEXT', 'ACTION:CHANGE_TTR'], intent: 'ttr-custom' },
        { say: `function ${LAMBDA}`, items: ['TEXT', 'ACTION:INVOKE_FUNCTION'], intent: 'invoke-function' },
        {
          say: 'invalid',
          items: ['TEXT', 'DELAY', 'TEXT'],
          intent: 'invalid-demo',
          invalid: ['/response/1/data/seconds must be >= 1'],
        },
        { say: 'empty', items: [] },
        { say: FILE_PLACEHOLDER, items: ['TEXT'], intent: 'file-received' },
        { say: 'What are your opening hours?', items: ['TEXT'], intent: 'fallback' },
      ];
      for (const line of script) {
        const event = textEvent(line.say);
        assert.equal(contract.validate('ConversationChange', event).ok, true);
        const res = await http.post<PostEventResponseBody>(`${conversationPath('conv-talk')}/events`, event);
        assert.equal(res.status, 200, line.say);
        const verdict = contract.validate('PostEventResponse', res.body);
        if (line.invalid) {
          assert.deepEqual(verdict.errors, line.invalid, line.say);
        } else {
          assert.equal(verdict.ok, true, `${line.say}: ${verdict.errors.join('; ')}`);
          assert.equal(
            verdict.deviations.length,
            line.deviations ?? 0,
            `${line.say}: ${verdict.deviations.join('; ')}`,
          );
        }
        const items = res.body.response.map((item) =>
          item.type === 'ACTION' ? `ACTION:${item.data.name}` : item.type,
        );
        assert.deepEqual(items, line.items, line.say);
        assert.deepEqual(
          res.body.analytics.intents.map((i) => i.id),
          line.intent ? [line.intent] : [],
          line.say,
        );
      }
      const echo = await http.post<PostEventResponseBody>(
        `${conversationPath('conv-talk')}/events`,
        textEvent('What are your opening hours?'),
      );
      assert.deepEqual(echo.body.response, [
        { type: 'TEXT', data: { message: 'You said: What are your opening hours?' } },
      ]);
      const agent = await http.post<PostEventResponseBody>(
        `${conversationPath('conv-talk')}/events`,
        textEvent('transfer agent 42'),
      );
      assert.deepEqual(agent.body.response[1], {
        type: 'ACTION',
        data: { name: 'TRANSFER', parameters: { skillName: 'human', agentId: '42' } },
      });
    });

    it('answers START (with the message from before the transfer), CLOSE_CONVERSATION and RICH_CONTENT events', async () => {
      assert.equal((await http.put(conversationPath('conv-events'), conversationBody())).status, 200);
      const post = async (event: unknown) => {
        const verdict = contract.validate('ConversationChange', event);
        assert.equal(verdict.ok, true, verdict.errors.join('; '));
        const res = await http.post<PostEventResponseBody>(`${conversationPath('conv-events')}/events`, event);
        assert.equal(res.status, 200);
        assert.deepEqual(contract.validate('PostEventResponse', res.body), { ok: true, errors: [], deviations: [] });
        return res.body.response.map((item) => (item.type === 'TEXT' ? item.data.message : item.type));
      };
      const welcome = await post({ type: 'START', source: 'CONVERSATION', data: {}, context: { lpEvent: {} } });
      assert.equal(welcome.length, 1);
      assert.match(welcome[0], /^Welcome!/);
      const transferred = await post({
        type: 'START',
        source: 'CONVERSATION',
        data: {},
        context: { lpEvent: { lastConsumerMessage: 'I need a refund' } },
      });
      assert.equal(transferred.length, 2);
      assert.match(transferred[1], /^You said before the transfer: “I need a refund”/);
      assert.deepEqual(
        await post({ type: 'CLOSE_CONVERSATION', source: 'CONVERSATION', data: {}, context: { lpEvent: {} } }),
        ['Thanks for chatting — how did we do?'],
      );
      assert.deepEqual(
        await post({
          type: 'RICH_CONTENT',
          source: 'CONSUMER',
          data: { content: { type: 'vertical', elements: [{ type: 'text', text: 'hi' }] }, context: {} },
          context: { lpEvent: {} },
        }),
        ['You sent rich content: vertical'],
      );
    });

    it('refuses event bodies off the contract with a 400 that says why', async () => {
      assert.equal((await http.put(conversationPath('conv-badevent'), conversationBody())).status, 200);
      const cases: [unknown, RegExp][] = [
        [
          { type: 'TEXT', source: 'CONSUMER', data: {}, context: { lpEvent: {} } },
          /\/data must have required property 'message'/,
        ],
        [
          {
            type: 'RICH_CONTENT',
            source: 'CONSUMER',
            data: { content: { type: 'vertical' } },
            context: { lpEvent: {} },
          },
          /\/data must have required property 'context'/,
        ],
        [{ type: 'START', source: 'CONVERSATION', data: {} }, /must have required property 'context'/],
        [{ type: 'TYPING', data: {}, context: { lpEvent: {} } }, /\/type must be one of/],
      ];
      for (const [body, why] of cases) {
        const res = await http.post(`${conversationPath('conv-badevent')}/events`, body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.error.code, 'invalid-request');
        assert.match(res.body.error.message, why);
      }
    });

    it('keeps each account’s conversations apart', async () => {
      assert.equal((await http.put(conversationPath('conv-shared-id'), conversationBody())).status, 200);
      const globex = client(bot.base, { token: globexToken });
      const foreign = await globex.post(`${conversationPath('conv-shared-id')}/events`, textEvent('hi'));
      assert.equal(foreign.status, 404);
      assert.equal((await globex.put(conversationPath('conv-shared-id'), conversationBody())).status, 200);
      assert.equal((await globex.post(`${conversationPath('conv-shared-id')}/events`, textEvent('hi'))).status, 200);
    });

    it('refuses requests without a valid app token: 401 with a reason, on every route', async () => {
      assert.equal((await http.put(conversationPath('conv-auth'), conversationBody())).status, 200);
      const routes: [string, string, unknown?][] = [
        ['GET', `${botPath}/environments`],
        ['GET', `${botPath}/environments/draft/state`],
        ['PUT', conversationPath('conv-auth-2'), conversationBody()],
        ['POST', `${conversationPath('conv-auth')}/events`, textEvent('hi')],
      ];
      const refused = async (
        token: string | null,
        code: string,
        headers?: Record<string, string>,
        on = routes,
        status = 401,
      ) => {
        for (const [method, path, body] of on) {
          const res = await http.call(method, path, body, { token, headers });
          assert.equal(res.status, status, `${method} ${path} (${code})`);
          assert.equal(res.body.error.code, code, `${method} ${path}`);
        }
      };
      await refused(null, 'missing-token');
      await refused(null, 'missing-token', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` });
      await refused(wrongScopeToken, 'wrong-scope', undefined, routes, 403);
      await refused('not.a.jwt', 'malformed-token');

      // Tampered: another account written into a genuine token; the signature no longer holds.
      const [header, payload, signature] = acmeToken.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      const forged = Buffer.from(JSON.stringify({ ...claims, aud: 'globex' })).toString('base64url');
      await refused(`${header}.${forged}.${signature}`, 'invalid-signature');

      // Other spellings of the genuine token that a lenient decoder reads as the same bytes. An
      // RS256 signature is 256 bytes, 342 characters: the last one has 4 unused low bits.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      assert.equal(signature.length % 4, 2);
      const spareBit = `${signature.slice(0, -1)}${alphabet[alphabet.indexOf(signature.at(-1)!) | 1]}`;
      assert.deepEqual(Buffer.from(spareBit, 'base64url'), Buffer.from(signature, 'base64url'));
      for (const respelt of [
        `${acmeToken}==`,
        `${header}.${payload}.${spareBit}`,
        `${header}.${payload}=.${signature}`,
        acmeToken.replace(/-/g, '+').replace(/_/g, '/'),
      ]) {
        if (respelt !== acmeToken) await refused(respelt, 'malformed-token');
      }

      // Signed by a key the JWKS does not have, under a kid it does not know and under the real kid.
      const { privateKey: foreignKey } = await generateKeyPair('RS256');
      const realKid = decodeProtectedHeader(acmeToken).kid!;
      const sign = (key: CryptoKey, kid: string, alter: (jwt: SignJWT) => SignJWT = (j) => j, alg = 'RS256') =>
        alter(
          new SignJWT({ scope: SCOPE })
            .setProtectedHeader({ alg, kid })
            .setIssuer('Sentinel')
            .setAudience('acme')
            .setIssuedAt()
            .setExpirationTime('10m'),
        ).sign(key);
      // One route: an unknown kid makes the bot look the JWKS up again, after its cooldown.
      await refused(await sign(foreignKey, 'kid-nobody-published'), 'unknown-signing-key', undefined, routes.slice(3));
      await refused(await sign(foreignKey, realKid), 'invalid-signature');

      // Signed by the platform's real key, but with claims a Custom Endpoint service must refuse.
      const { privateKey: platformKey, kid } = await running.app.keys.current();
      await refused(
        await sign(platformKey, kid, (j) => j.setExpirationTime(Math.floor(Date.now() / 1000) - 120)),
        'token-expired',
      );
      await refused(await sign(platformKey, kid, (j) => j.setIssuer('Mallory')), 'wrong-issuer');
      const noAudience = await new SignJWT({ scope: SCOPE })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setIssuer('Sentinel')
        .setExpirationTime('10m')
        .sign(platformKey);
      await refused(noAudience, 'wrong-audience', undefined, routes, 403);
      // HS256 with a guessable secret never reaches key lookup.
      await refused(
        await sign(new TextEncoder().encode('x'.repeat(32)) as unknown as CryptoKey, kid, undefined, 'HS256'),
        'algorithm-not-allowed',
      );
      // The same real key and claims, unaltered, pass: the refusals above are about what was altered.
      const genuine = await sign(platformKey, kid);
      assert.equal((await http.get(`${botPath}/environments`, { token: genuine })).status, 200);

      // No token ever reaches the demo bot's logs.
      assert.ok(
        bot.logs.some((line) => line.includes('wrong-scope')),
        'refusals are logged with their reason',
      );
      for (const token of [acmeToken, wrongScopeToken, genuine])
        assert.ok(!bot.logs.some((line) => line.includes(token)));
    });

    it('accepts only the configured accounts when told to', async () => {
      const onlyGlobex = await startDemoBot({ jwksUrl, accounts: ['globex'], transferSkill: 'Escalation' });
      extraServers.push(onlyGlobex.server);
      const acme = await client(onlyGlobex.base, { token: acmeToken }).get(`${botPath}/environments`);
      assert.equal(acme.status, 403);
      assert.equal(acme.body.error.code, 'wrong-audience');
      const globex = client(onlyGlobex.base, { token: globexToken });
      assert.equal((await globex.get(`${botPath}/environments`)).status, 200);
      assert.equal((await globex.put(conversationPath('conv-globex'), conversationBody())).status, 200);
      const transfer = await globex.post<PostEventResponseBody>(
        `${conversationPath('conv-globex')}/events`,
        textEvent('transfer'),
      );
      assert.deepEqual(transfer.body.response[1], {
        type: 'ACTION',
        data: { name: 'TRANSFER', parameters: { skillName: 'Escalation' } },
      });
    });

    it('keeps verifying across a signing-key rotation: new tokens and old ones', async () => {
      const oldKid = decodeProtectedHeader(acmeToken).kid;
      assert.equal((await http.get(`${botPath}/environments`)).status, 200);
      const rotated = await admin.post('/admin/v1/sentinel/rotate-keys');
      assert.equal(rotated.status, 200);
      const apps = await admin.post('/admin/v1/accounts/acme/apps', { name: 'after rotation', scope: SCOPE });
      const fresh = await appToken(running.url, 'acme', apps.body);
      assert.notEqual(decodeProtectedHeader(fresh).kid, oldKid, 'the new token is signed by the new key');
      assert.equal((await http.get(`${botPath}/environments`, { token: fresh })).status, 200);
      assert.equal(
        (await http.put(conversationPath('conv-rotated'), conversationBody(), { token: fresh })).status,
        200,
      );
      assert.equal(
        (await http.post(`${conversationPath('conv-rotated')}/events`, textEvent('hi'), { token: fresh })).status,
        200,
      );
      // The old token is still within its lifetime and its key still published.
      assert.equal((await http.post(`${conversationPath('conv-rotated')}/events`, textEvent('hi'))).status, 200);
    });

    it('answers 503 when the platform’s JWKS cannot be reached (the connector retries a 5xx)', async () => {
      const port = await closedPort();
      const orphan = await startDemoBot({ jwksUrl: `http://127.0.0.1:${port}/sentinel/well-known/jwks` });
      extraServers.push(orphan.server);
      const res = await client(orphan.base, { token: acmeToken }).get(`${botPath}/environments`);
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'jwks-unavailable');
    });

    it('mounts on the product’s HTTP server with a JWKS URL known only after listen', async () => {
      const logger = createLogger('warn');
      const server = await createHttpServer({
        logger,
        metrics: createMetrics({ openConversations: async () => 0 }),
        version: 'test',
      });
      let platformUrl = '';
      await server.register(demoBot, {
        prefix: DEMO_BOT_PREFIX,
        jwksUrl: () => `${platformUrl}/sentinel/well-known/jwks`,
        log: logger,
      });
      extraServers.push(server);
      const url = await server.listen({ host: '127.0.0.1', port: 0 });
      platformUrl = running.url;
      const mounted = client(`${url}${DEMO_BOT_PREFIX}`, { token: acmeToken });
      assert.deepEqual((await mounted.get(`${botPath}/environments`)).body, ['draft', 'production']);
      assert.equal((await mounted.put(conversationPath('conv-mounted'), conversationBody('CHAT'))).status, 200);
      const reply = await mounted.post<PostEventResponseBody>(
        `${conversationPath('conv-mounted')}/events`,
        textEvent('help'),
      );
      assert.equal(reply.status, 200);
      assert.match(JSON.stringify(reply.body), /messaging only, not in this chat/);
      assert.equal((await mounted.get(`${botPath}/environments`, { token: null })).status, 401);
      const openapi = await client(url).get('/openapi.json');
      assert.ok(
        Object.keys(openapi.body.paths).includes(
          '/demo-bot/{apiVersion}/bots/{botId}/environments/{environment}/conversations/{convId}/events',
        ),
      );
    });
  });
}
