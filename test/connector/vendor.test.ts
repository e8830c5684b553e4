import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { startApp, type Running } from '../helpers/app.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';
import {
  BOT_SCOPE,
  botTexts,
  eventually,
  exchangesOf,
  openConversation,
  setupBot,
  waitForConversation,
} from '../helpers/connector.js';
import { createContractValidator } from '../../src/contract/index.js';
import { closedPort } from '../helpers/net.js';

for (const kind of STORES) {
  describe(`Custom Endpoint vendor calls (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let bot: TestBot;
    const contract = createContractValidator();

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      bot = await new TestBot().start();
    });
    after(async () => {
      await bot?.stop();
      await running?.close();
      await store?.dispose();
    });

    it('test connection passes only on online and names each failure', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url, { start: false });
      const test = () => admin.post(`/admin/v1/accounts/${acc}/bots/${botId}/test-connection`);
      const ok = await test();
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.body, { ok: true, state: 'online', version: '1.2.3' });

      bot.onState = () => ({ json: { state: 'maintenance', version: '1.2.3' } });
      const maintenance = (await test()).body;
      assert.equal(maintenance.ok, false);
      assert.equal(maintenance.code, 'bot-state-not-online');
      assert.match(maintenance.error, /maintenance/);

      bot.onState = () => ({ status: 500, text: 'boom' });
      const failing = (await test()).body;
      assert.equal(failing.ok, false);
      assert.equal(failing.code, 'vendor-http-error');
      assert.match(failing.error, /HTTP 500/);

      bot.onState = () => ({ text: '{"state": "onl' });
      const malformed = (await test()).body;
      assert.equal(malformed.code, 'vendor-malformed-response');

      const before401 = bot.requests('GET', '/state').length;
      bot.onState = () => ({ status: 401, json: { error: 'bad token' } });
      const rejected = (await test()).body;
      assert.equal(rejected.code, 'vendor-auth-rejected');
      // A 401 is answered with one fresh token, then given up: two calls, not three.
      assert.equal(bot.requests('GET', '/state').length - before401, 2);

      const refused = await setupBot(running, `http://127.0.0.1:${await closedPort()}`, { start: false });
      const unreachable = (
        await refused.admin.post(`/admin/v1/accounts/${refused.acc}/bots/${refused.botId}/test-connection`)
      ).body;
      assert.equal(unreachable.ok, false);
      assert.equal(unreachable.code, 'vendor-unreachable');
      assert.match(unreachable.error, /ECONNREFUSED/);

      // Start runs the same test first and refuses with the reason.
      const start = await refused.admin.post(`/admin/v1/accounts/${refused.acc}/bots/${refused.botId}/start`);
      assert.equal(start.status, 409);
      assert.equal(start.body.error.code, 'vendor-unreachable');
      assert.equal(
        (await refused.admin.get(`/admin/v1/accounts/${refused.acc}/bots/${refused.botId}`)).body.status,
        'OFFLINE',
      );
      bot.onState = () => ({ json: { state: 'online', version: '1.2.3' } });
    });

    it('the token the bot receives verifies against the JWKS, with the right claims, and is reused', async () => {
      const before = bot.received.length;
      const { acc, admin, botId } = await setupBot(running, bot.url);
      const envs = await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}/environments`);
      assert.deepEqual(envs.body, { environments: ['draft', 'production'] });
      await admin.post(`/admin/v1/accounts/${acc}/bots/${botId}/test-connection`);
      const calls = bot.received.slice(before);
      assert.ok(calls.length >= 3);
      const tokens = new Set(calls.map((c) => c.authorization));
      assert.equal(tokens.size, 1, 'one cached token across calls');
      const token = [...tokens][0]!.replace(/^Bearer /, '');
      const jwks = createRemoteJWKSet(new URL(`${running.url}/sentinel/well-known/jwks`));
      const { payload } = await jwtVerify(token, jwks, { issuer: 'Sentinel', audience: acc, algorithms: ['RS256'] });
      assert.equal(payload.scope, BOT_SCOPE);
      assert.equal(payload.exp! - payload.iat!, 3600);
      assert.ok(decodeProtectedHeader(token).kid);
    });

    it('sends the exact PUT and POST bodies, valid against the contract', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url, { settings: { engagementAttributes: true } });
      const conversation = await openConversation(running, acc, {
        skill: 'bot',
        sdes: {
          authenticatedSdes: { ctmrinfo: { type: 'ctmrinfo', info: { customerId: 'c-9' } } },
          unauthenticatedSdes: {},
        },
        visitor: { sharkVisitorId: 'V1', sharkSessionId: 'S1' },
        engagementId: 77,
        campaignId: 5,
      });
      await conversation.say('hello bot');
      await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => botTexts(c).includes('echo: hello bot'),
        'bot echo',
      );
      const [put] = bot.requests('PUT', `/conversations/${conversation.id}`);
      assert.equal(put.path, `/v1/bots/bot-1/environments/draft/conversations/${conversation.id}`);
      const conv = (await admin.get(`/admin/v1/accounts/${acc}/conversations/${conversation.id}`)).body;
      assert.deepEqual(put.body, {
        sdes: {
          authenticatedSdes: { ctmrinfo: { type: 'ctmrinfo', info: { customerId: 'c-9' } } },
          unauthenticatedSdes: {},
        },
        context: {
          type: 'MESSAGING',
          skillId: conv.skill.id,
          engagementId: 77,
          campaignId: 5,
          visitor: { sharkVisitorId: 'V1', sharkSessionId: 'S1' },
          assignedAgentId: conv.assignee.userId,
          conversationId: conversation.id,
        },
      });
      assert.deepEqual(contract.validate('Conversation', put.body).errors, []);
      const [post] = bot.events(conversation.id);
      assert.equal(post.body.type, 'TEXT');
      assert.equal(post.body.source, 'CONSUMER');
      assert.deepEqual(post.body.data, { message: 'hello bot' });
      assert.equal(post.body.context.lpEvent.conversationId, conversation.id);
      assert.equal(post.body.context.lpEvent.event.message, 'hello bot');
      assert.deepEqual(contract.validate('ConversationChange', post.body).errors, []);

      // Engagement attributes off: SDES stay out of the PUT.
      const plain = await setupBot(running, bot.url);
      const other = await openConversation(running, plain.acc, {
        skill: 'bot',
        sdes: { authenticatedSdes: { secret: 1 } },
      });
      await other.say('hi');
      await waitForConversation(plain.admin, plain.acc, other.id, (c) => botTexts(c).length > 0, 'echo');
      assert.deepEqual(bot.requests('PUT', `/conversations/${other.id}`)[0].body.sdes, {});
      void botId;
    });

    it('404 on events: the conversation is created again and the event resent once', async () => {
      const { acc, admin } = await setupBot(running, bot.url);
      const conversation = await openConversation(running, acc);
      let lost = true;
      bot.onEvent = (req) => {
        if (lost) {
          lost = false;
          return { status: 404, json: { error: 'unknown conversation' } };
        }
        return reply(text(`got ${req.body.data.message}`));
      };
      await conversation.say('are you there');
      const conv = await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => botTexts(c).includes('got are you there'),
        'resent answer',
      );
      assert.equal(bot.requests('PUT', `/conversations/${conversation.id}`).length, 2);
      assert.equal(bot.events(conversation.id).length, 2);
      assert.equal(conv.status, 'OPEN');
    });

    it('3 attempts on 503, then the escalation with every escalation message', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url);
      const conversation = await openConversation(running, acc);
      bot.onEvent = () => ({ status: 503, text: 'overloaded' });
      // The state endpoint fails too, so the recovery probe cannot clear the error before we look.
      bot.onState = () => ({ status: 503, text: 'overloaded' });
      await conversation.say('help');
      const conv = await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => c.skill.name === 'escalation',
        'escalation transfer',
      );
      assert.equal(bot.events(conversation.id).length, 3);
      const texts = conv.events.filter((e: any) => e.type === 'TEXT').map((e: any) => [e.text, e.audience]);
      assert.deepEqual(texts[0], ['help', 'ALL']);
      assert.deepEqual(texts[1], ['Let me find a human for you.', 'ALL']);
      assert.equal(texts[2][1], 'AGENTS_AND_MANAGERS');
      assert.match(texts[2][0], /^Bot failed, please take over\. \(vendor-http-error/);
      assert.equal(conv.assignee, null, 'waiting for an agent on the escalation skill');
      const [log] = await exchangesOf(admin, acc, botId, conversation.id);
      assert.equal(log.outcome, 'ESCALATED');
      assert.equal(log.attempts, 3);
      assert.equal(log.errors[0].code, 'vendor-http-error');
      assert.equal(log.response.status, 503);
      const status = (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body;
      assert.equal(status.lastError.code, 'vendor-http-error');
      // The probe finds the endpoint online again and the bot recovers by itself.
      bot.onState = () => ({ json: { state: 'online', version: '1.2.3' } });
      bot.onEvent = () => reply(text('back'));
      await eventually(
        () => admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`),
        (r) => r.body.status === 'ONLINE',
        'recovery to ONLINE',
      );
    });

    it('a transfer-failure message when even the escalation transfer fails', async () => {
      // Skills cannot be deleted, so the failing transfer is a bot without an escalation skill:
      // the customer still hears from us, twice.
      const bare = await setupBot(running, bot.url, {
        settings: { escalation: { messageToCustomer: 'Oops.', transferFailureMessage: 'Nobody is around.' } },
      });
      const conversation = await openConversation(running, bare.acc);
      bot.onEvent = () => ({ status: 500, text: 'down' });
      await conversation.say('hello?');
      const conv = await waitForConversation(
        bare.admin,
        bare.acc,
        conversation.id,
        (c) => botTexts(c).includes('Nobody is around.'),
        'transfer-failure message',
      );
      assert.deepEqual(botTexts(conv), ['Oops.', 'Nobody is around.']);
      bot.onEvent = () => reply(text('fine'));
    });
  });
}
