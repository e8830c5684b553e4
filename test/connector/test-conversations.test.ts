import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { setupBot, type BotSetup } from '../helpers/connector.js';
import { TestBot, reply } from '../helpers/test-bot.js';
import { until } from '../helpers/wait.js';

for (const kind of STORES) {
  describe(`The tester's conversations are tests, closed when the tester leaves (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let bot: TestBot;
    let setup: BotSetup;
    const tests = () => `/admin/v1/accounts/${setup.acc}/bots/${setup.botId}/test-conversations`;
    const conversation = async (id: string) =>
      (await setup.admin.get(`/admin/v1/accounts/${setup.acc}/conversations/${id}`)).body;

    before(async () => {
      bot = await new TestBot().start();
      store = await freshStore(kind);
      // A short lease and a quick sweep, so a tester that vanishes is seen to within a second or so.
      running = await startApp(store, {}, { testConversations: { leaseMs: 1_000, sweepMs: 200 } });
      setup = await setupBot(running, bot.url);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
      await bot?.stop();
    });

    it('opened as a test (so marked wherever the conversation is shown), kept open while renewed, ended by the tester', async () => {
      const opened = await setup.admin.post(tests());
      assert.equal(opened.status, 201);
      assert.equal(opened.body.keepSeconds, 1);
      const { conversationId } = opened.body;
      assert.equal((await conversation(conversationId)).test, true);
      // Renewed three times its lease: still open.
      for (let i = 0; i < 6; i++) {
        assert.equal((await setup.admin.post(`${tests()}/${conversationId}/keep`)).status, 204);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      assert.equal((await conversation(conversationId)).status, 'OPEN');
      assert.equal((await setup.admin.delete(`${tests()}/${conversationId}`)).status, 204);
      const closed = await conversation(conversationId);
      assert.deepEqual([closed.status, closed.closeReason], ['CLOSED', 'SYSTEM']);
      // Ending it again is fine; renewing an ended one is not.
      assert.equal((await setup.admin.delete(`${tests()}/${conversationId}`)).status, 204);
      const renew = await setup.admin.post(`${tests()}/${conversationId}/keep`);
      assert.equal(renew.status, 404);
      assert.equal(renew.body.error.code, 'not-found');
    });

    it('a tester that stops renewing (reloaded, crashed, lost its network): the conversation is closed for it', async () => {
      const { conversationId } = (await setup.admin.post(tests())).body;
      const closed = await until('the abandoned test conversation closed', async () => {
        const c = await conversation(conversationId);
        return c.status === 'CLOSED' && c;
      });
      assert.equal(closed.closeReason, 'SYSTEM');
    });

    it('a real conversation is neither a test nor ended through the tester’s route', async () => {
      const opened = await client(running.url).post(`/api/account/${setup.acc}/consumer/conversations`, {
        skill: 'bot',
      });
      assert.equal(opened.status, 201);
      const { conversationId } = opened.body;
      assert.equal((await conversation(conversationId)).test, undefined);
      assert.equal((await setup.admin.delete(`${tests()}/${conversationId}`)).status, 404);
      assert.equal((await setup.admin.post(`${tests()}/${conversationId}/keep`)).status, 404);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      assert.equal((await conversation(conversationId)).status, 'OPEN', 'the sweep leaves real conversations alone');
    });

    it('a test conversation the bot transfers waits in the queue marked as a test', async () => {
      bot.onEvent = () =>
        reply({ type: 'ACTION', tooltip: 'transfer', data: { name: 'TRANSFER', parameters: { skillName: 'human' } } });
      const { conversationId, consumerToken } = (await setup.admin.post(tests())).body;
      const consumer = client(running.url, { token: consumerToken });
      const sent = await consumer.post(`/api/account/${setup.acc}/consumer/conversations/${conversationId}/messages`, {
        text: 'agent please',
      });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      const admin = client(running.url, { token: ADMIN_TOKEN });
      const agent = await admin.post(`/admin/v1/accounts/${setup.acc}/users`, {
        loginName: 'alice',
        password: 'correct horse battery',
        userType: 'HUMAN',
        skills: ['human'],
        maxConversations: 5,
      });
      assert.equal(agent.status, 201);
      const login = await client(running.url).post(`/api/account/${setup.acc}/agent/login`, {
        username: 'alice',
        password: 'correct horse battery',
      });
      const queued = await until('the test conversation in the human queue', async () => {
        const queue = await client(running.url, { token: login.body.token }).get(
          `/api/account/${setup.acc}/agent/queue`,
        );
        return queue.body.conversations.find((c: { conversationId: string }) => c.conversationId === conversationId);
      });
      assert.equal(queued.test, true);
      await setup.admin.delete(`${tests()}/${conversationId}`);
    });
  });
}
