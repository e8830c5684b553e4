import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import Database from 'better-sqlite3';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { startApp, type Running } from '../helpers/app.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';
import { startWebhook, type Webhook } from '../helpers/net.js';
import { botTexts, eventually, openConversation, setupBot, waitForConversation } from '../helpers/connector.js';

/** Every byte the store holds, to prove a secret is not among them. */
async function storeBytes(store: TestStore): Promise<string> {
  if (store.kind === 'sqlite') {
    return readdirSync(store.dataDir)
      .filter((f) => f.startsWith('botbridge.sqlite'))
      .map((f) => readFileSync(join(store.dataDir, f)).toString('latin1'))
      .join('');
  }
  const c = new pg.Client({ connectionString: store.databaseUrl });
  await c.connect();
  const rows = await c.query('SELECT settings, client_secret_sealed FROM bots');
  await c.end();
  return JSON.stringify(rows.rows);
}

/** Runs SQL on the store from outside the app, as an operator (or a failing disk) would. */
async function sqlOnStore(store: TestStore, statement: string): Promise<void> {
  if (store.kind === 'sqlite') {
    const db = new Database(join(store.dataDir, 'botbridge.sqlite'));
    db.exec(statement);
    db.close();
    return;
  }
  const c = new pg.Client({ connectionString: store.databaseUrl });
  await c.connect();
  await c.query(statement);
  await c.end();
}

for (const kind of STORES) {
  describe(`bot administration and lifecycle (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let bot: TestBot;
    let hook: Webhook;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      bot = await new TestBot().start();
      hook = await startWebhook();
    });
    after(async () => {
      await bot?.stop();
      hook?.close();
      await running?.close();
      await store?.dispose();
    });

    it('create, read with the secret masked, patch, list, delete; the secret is sealed at rest', async () => {
      const { acc, admin, botId, app } = await setupBot(running, bot.url, { start: false });
      const view = (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body;
      assert.equal(view.vendor.clientSecret, '********');
      assert.equal(view.vendor.environment, 'draft');
      assert.equal(view.vendor.timeoutSeconds, 60);
      assert.equal(view.maxOpenConversations, 999);
      assert.equal(view.status, 'OFFLINE');
      assert.equal(view.openConversations, 0);
      assert.equal(view.lastError, null);
      assert.ok(!(await storeBytes(store)).includes(app.client_secret), 'client secret not stored in the clear');

      const patched = await admin.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, {
        name: 'renamed',
        welcomeEvent: true,
        vendor: { timeoutSeconds: 5 },
      });
      assert.equal(patched.status, 200);
      assert.equal(patched.body.name, 'renamed');
      assert.equal(patched.body.vendor.timeoutSeconds, 5);
      assert.equal(patched.body.vendor.clientId, app.client_id);
      // The kept secret still works: start passes its test connection.
      assert.equal((await admin.post(`/admin/v1/accounts/${acc}/bots/${botId}/start`)).body.status, 'ONLINE');

      // null clears an optional escalation field; the others stay.
      const cleared = await admin.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, { escalation: { skill: null } });
      assert.equal(cleared.status, 200);
      assert.equal(cleared.body.escalation.skill, undefined);
      assert.equal(cleared.body.escalation.messageToCustomer, 'Let me find a human for you.');
      const bad = await admin.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, { skills: ['nope'] });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /nope/);
      assert.equal((await admin.post(`/admin/v1/accounts/${acc}/bots`, { name: 'x' })).status, 400);
      // Longer than a timer can wait (it would fire at once), and limits out of their ranges.
      for (const patch of [
        { chatInactivity: { warningAfterSeconds: 2_147_484 } },
        { chatInactivity: { closeAfterSeconds: 10_000_000 } },
        { limits: { maxItems: 0 } },
        { limits: { maxDelaySeconds: 601 } },
        { limits: { maxResponseBytes: 100 } },
      ]) {
        assert.equal(
          (await admin.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, patch)).status,
          400,
          JSON.stringify(patch),
        );
      }
      const limited = await admin.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, { limits: { maxItems: 10 } });
      assert.deepEqual(limited.body.limits, { maxResponseBytes: 2 * 1024 * 1024, maxItems: 10, maxDelaySeconds: 30 });
      assert.equal(
        (
          await admin.post(`/admin/v1/accounts/${acc}/bots`, {
            ...view,
            vendor: { ...view.vendor, baseUrl: 'http://x/', clientSecret: 's' },
          })
        ).status,
        400,
        'trailing slash / unknown fields refused',
      );
      const listed = (await admin.get(`/admin/v1/accounts/${acc}/bots`)).body.bots;
      assert.deepEqual(
        listed.map((b: any) => b.id),
        [botId],
      );
      assert.equal((await admin.delete(`/admin/v1/accounts/${acc}/bots/${botId}`)).status, 204);
      assert.equal((await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).status, 404);
      assert.equal((await admin.get(`/admin/v1/accounts/other/bots`)).status, 404);
    });

    it('environments and test connection for credentials not saved yet', async () => {
      const { acc, admin, app } = await setupBot(running, bot.url, { start: false });
      const vendor = {
        type: 'CUSTOM_ENDPOINT',
        baseUrl: bot.url,
        clientId: app.client_id,
        clientSecret: app.client_secret,
        botId: 'draft-bot',
      };
      const envs = await admin.post(`/admin/v1/accounts/${acc}/vendor/environments`, { vendor });
      assert.deepEqual(envs.body, { environments: ['draft', 'production'] });
      const test = await admin.post(`/admin/v1/accounts/${acc}/vendor/test-connection`, {
        vendor: { ...vendor, environment: 'production' },
      });
      assert.equal(test.body.ok, true);
      const wrong = await admin.post(`/admin/v1/accounts/${acc}/vendor/test-connection`, {
        vendor: { ...vendor, clientSecret: 'wrong' },
      });
      assert.equal(wrong.body.ok, false);
      assert.equal(wrong.body.code, 'vendor-auth-rejected');
      const badEnv = await admin.post(`/admin/v1/accounts/${acc}/vendor/environments`, {
        vendor: { ...vendor, clientSecret: 'wrong' },
      });
      assert.equal(badEnv.status, 502);
      assert.equal(badEnv.body.error.code, 'vendor-auth-rejected');
    });

    it('a base URL the URL parser refuses is bad input (400), never stored and never a 502', async () => {
      const { acc, admin, app, botId } = await setupBot(running, bot.url, { start: false });
      const vendor = {
        type: 'CUSTOM_ENDPOINT',
        clientId: app.client_id,
        clientSecret: app.client_secret,
        botId: 'draft-bot',
      };
      // Each matches the schema's pattern; none can be called.
      const port = new URL(bot.url).port;
      for (const baseUrl of [
        'http://127.0.0.1:99999',
        'http://[::1',
        'http://%zz',
        `http://127.0.0.1:${port}/x?a=1`,
        `http://127.0.0.1:${port}#part`,
      ]) {
        const what = JSON.stringify(baseUrl);
        for (const path of ['vendor/environments', 'vendor/test-connection']) {
          const res = await admin.post(`/admin/v1/accounts/${acc}/${path}`, { vendor: { ...vendor, baseUrl } });
          assert.equal(res.status, 400, `${path} ${what}: ${JSON.stringify(res.body)}`);
          assert.equal(res.body.error.code, 'invalid-request');
        }
        const created = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
          name: 'b',
          conversationType: 'MESSAGING',
          skills: ['bot'],
          vendor: { ...vendor, baseUrl },
        });
        assert.equal(created.status, 400, `create ${what}: ${JSON.stringify(created.body)}`);
        const patched = await admin.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, { vendor: { baseUrl } });
        assert.equal(patched.status, 400, `patch ${what}: ${JSON.stringify(patched.body)}`);
      }
      // The bot kept its URL, and only the one bot exists: nothing of the refusals was stored.
      assert.equal((await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body.vendor.baseUrl, bot.url);
      assert.equal((await admin.get(`/admin/v1/accounts/${acc}/bots`)).body.bots.length, 1);
      // A good URL passes the same routes, so the refusals are about the URLs.
      assert.deepEqual(
        (await admin.post(`/admin/v1/accounts/${acc}/vendor/environments`, { vendor: { ...vendor, baseUrl: bot.url } }))
          .body,
        { environments: ['draft', 'production'] },
      );
    });

    it('files arrive as the placeholder text; the error hook is called on escalation', async () => {
      const { acc, admin } = await setupBot(running, bot.url);
      const fn = await admin.post(`/admin/v1/accounts/${acc}/functions`, {
        url: `${hook.url}/hook`,
        name: 'error hook',
      });
      const bots = (await admin.get(`/admin/v1/accounts/${acc}/bots`)).body.bots;
      await admin.patch(`/admin/v1/accounts/${acc}/bots/${bots[0].id}`, {
        escalation: { errorHookLambdaUuid: fn.body.lambdaUuid },
      });
      bot.onEvent = (req) =>
        req.body.data.message === 'com.liveperson.bot-connectors.consumer.send-file'
          ? reply(text('Thanks for the file'))
          : { status: 500, text: 'nope' };
      const conversation = await openConversation(running, acc);
      const sent = await conversation.consumer.post(
        `/api/account/${acc}/consumer/conversations/${conversation.id}/messages`,
        {
          file: { relativePath: '/files/receipt.pdf', fileType: 'PDF', caption: 'receipt' },
        },
      );
      assert.equal(sent.status, 201);
      await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => botTexts(c).includes('Thanks for the file'),
        'file answered',
      );
      await conversation.say('now fail');
      await eventually(
        async () => hook.calls,
        (calls) => calls.length === 1,
        'error hook called',
      );
      assert.equal(hook.calls[0].body.conversationId, conversation.id);
      assert.equal(hook.calls[0].body.error.code, 'vendor-http-error');
      assert.equal(hook.calls[0].body.transferred, true);
      bot.onEvent = () => reply(text('ok'));
    });

    it('a survey bot receives CLOSE_CONVERSATION when its conversation closes', async () => {
      const { acc, admin } = await setupBot(running, bot.url, { settings: { survey: true } });
      bot.onEvent = (req) => reply(text(req.body.type === 'CLOSE_CONVERSATION' ? 'How did we do?' : 'hello'));
      const conversation = await openConversation(running, acc);
      await conversation.say('bye');
      await waitForConversation(admin, acc, conversation.id, (c) => botTexts(c).includes('hello'), 'answer');
      await conversation.consumer.post(`/api/account/${acc}/consumer/conversations/${conversation.id}/close`);
      const [close] = await eventually(
        async () => bot.events(conversation.id).filter((r) => r.body.type === 'CLOSE_CONVERSATION'),
        (x) => x.length === 1,
        'CLOSE_CONVERSATION sent',
      );
      assert.equal(close.body.source, 'CONVERSATION');
      assert.equal(close.body.context.lpEvent.conversationId, conversation.id);
      // The service knows the conversation already: one PUT, when it began, none before the close.
      const calls = bot.received
        .filter((r) => r.path.includes(conversation.id))
        .map((r) => `${r.method} ${r.path.endsWith('/events') ? r.body.type : 'conversation'}`);
      assert.deepEqual(calls, ['PUT conversation', 'POST TEXT', 'POST CLOSE_CONVERSATION']);
    });

    it('a bot whose endpoint fails is VENDOR_INTERRUPTION, escalates at once, and recovers alone', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url);
      bot.onEvent = () => ({ status: 502, text: 'bad gateway' });
      bot.onState = () => ({ status: 503, text: 'down' });
      const first = await openConversation(running, acc);
      await first.say('hello');
      await waitForConversation(admin, acc, first.id, (c) => c.skill.name === 'escalation', 'first escalated');
      assert.equal((await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body.status, 'VENDOR_INTERRUPTION');
      // Still takes conversations, and escalates them without waiting on the failing endpoint.
      const calls = bot.events().length;
      const second = await openConversation(running, acc);
      await second.say('anyone?');
      await waitForConversation(admin, acc, second.id, (c) => c.skill.name === 'escalation', 'second escalated');
      assert.equal(bot.events().length, calls);
      bot.onState = () => ({ json: { state: 'online', version: '2.0.0' } });
      bot.onEvent = () => reply(text('I am back'));
      await eventually(
        () => admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`),
        (r) => r.body.status === 'ONLINE',
        'ONLINE again',
      );
      const third = await openConversation(running, acc);
      await third.say('and now?');
      await waitForConversation(
        admin,
        acc,
        third.id,
        (c) => botTexts(c).includes('I am back'),
        'answered after recovery',
      );
      // Stopped: no new conversations are routed to it.
      await admin.post(`/admin/v1/accounts/${acc}/bots/${botId}/stop`);
      const fourth = await openConversation(running, acc);
      const queued = (await admin.get(`/admin/v1/accounts/${acc}/conversations/${fourth.id}`)).body;
      assert.equal(queued.assignee, null);
    });

    it('a platform failure puts the bot in SERVICE_INTERRUPTION; it recovers and answers what was missed', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url);
      let broken = false;
      bot.onEvent = async (req) => {
        if (req.body.data.message === 'break the platform' && !broken) {
          broken = true;
          // The platform loses its event log while the bot is thinking.
          await sqlOnStore(store, 'ALTER TABLE conversation_events RENAME TO conversation_events_away');
        }
        return reply(text(`answer to: ${req.body.data.message}`));
      };
      const conversation = await openConversation(running, acc);
      await conversation.say('break the platform');
      const interrupted = await eventually(
        () => admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`),
        (r) => r.body.status === 'SERVICE_INTERRUPTION',
        'SERVICE_INTERRUPTION',
      );
      assert.equal(interrupted.body.lastError.code, 'platform-error');
      await sqlOnStore(store, 'ALTER TABLE conversation_events_away RENAME TO conversation_events');
      await eventually(
        () => admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`),
        (r) => r.body.status === 'ONLINE',
        'ONLINE after the platform recovered',
      );
      await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => botTexts(c).includes('answer to: break the platform'),
        'missed message answered',
      );
    });

    it('chat inactivity warns, then closes a silent CHAT conversation', async () => {
      const { acc, admin } = await setupBot(running, bot.url, {
        settings: {
          conversationType: 'CHAT',
          chatInactivity: {
            enabled: true,
            warningAfterSeconds: 1,
            warningText: 'Still there?',
            closeAfterSeconds: 2,
            closeText: 'Closing for now.',
          },
        },
      });
      bot.onEvent = () => reply(text('How can I help?'));
      const conversation = await openConversation(running, acc, { skill: 'bot', type: 'CHAT' });
      await conversation.say('hi');
      const conv = await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => c.status === 'CLOSED',
        'closed for inactivity',
      );
      assert.deepEqual(botTexts(conv), ['How can I help?', 'Still there?', 'Closing for now.']);
      assert.equal(conv.closeReason, 'BOT');
    });

    it('combine messages also flushes when the time frame ends before max messages', async () => {
      const { acc, admin } = await setupBot(running, bot.url, {
        settings: {
          combineMessages: { enabled: true, maxMessages: 10, timeFrameSeconds: 1, timeFrameAfterTypingSeconds: 1 },
        },
      });
      bot.onEvent = (req) => reply(text(`got: ${req.body.data.message}`));
      const conversation = await openConversation(running, acc);
      await conversation.say('first');
      await conversation.say('second');
      const conv = await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => botTexts(c).length > 0,
        'combined after the time frame',
      );
      assert.deepEqual(botTexts(conv), ['got: first\nsecond']);
    });
  });
}
