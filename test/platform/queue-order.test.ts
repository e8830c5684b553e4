import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { PASSWORD, login, openConversation, publicApi, setUpAccount } from '../public-api/support.js';

for (const kind of STORES) {
  describe(`The agents' queue orders by TTR urgency, then waiting time (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    const acc = 'queue-co';

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      await setUpAccount(running.url, { acc, skills: ['sales'], users: ['api'] });
      const agent = await client(running.url, { token: ADMIN_TOKEN }).post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'alice',
        password: PASSWORD,
        userType: 'HUMAN',
        skills: ['sales'],
        maxConversations: 5,
      });
      assert.equal(agent.status, 201);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('URGENT, then PRIORITIZED, then CUSTOM by its seconds, then NORMAL; the longest wait first within each', async () => {
      const api = publicApi(running.url, acc, await login(running.url, acc, 'api'));
      // Opened in this order: each later one has waited less.
      const ttrs = [
        { name: 'normal, waiting longest', ttr: undefined },
        { name: 'custom 600 s', ttr: { ttrType: 'CUSTOM', value: 600 } },
        { name: 'prioritized', ttr: { ttrType: 'PRIORITIZED' } },
        { name: 'urgent, waiting less', ttr: { ttrType: 'URGENT' } },
        { name: 'custom 60 s', ttr: { ttrType: 'CUSTOM', value: 60 } },
        { name: 'normal', ttr: undefined },
        { name: 'urgent, waiting least', ttr: { ttrType: 'URGENT' } },
      ];
      const names = new Map<string, string>();
      for (const { name, ttr } of ttrs) {
        const { conversationId } = await openConversation(running.url, acc, { skill: 'sales' });
        names.set(conversationId, name);
        if (ttr) assert.equal((await api.run('ttr', conversationId, ttr)).status, 'done');
        // Distinct waiting times, whatever the clock's resolution.
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      const agent = client(running.url, { token: await agentToken(running.url, acc) });
      const queue = await agent.get(`/api/account/${acc}/agent/queue`);
      assert.equal(queue.status, 200);
      assert.deepEqual(
        queue.body.conversations.map((c: { conversationId: string }) => names.get(c.conversationId)),
        [
          'urgent, waiting less',
          'urgent, waiting least',
          'prioritized',
          'custom 60 s',
          'custom 600 s',
          'normal, waiting longest',
          'normal',
        ],
      );
    });
  });
}

async function agentToken(baseUrl: string, acc: string): Promise<string> {
  const res = await client(baseUrl).post(`/api/account/${acc}/agent/login`, { username: 'alice', password: PASSWORD });
  assert.equal(res.status, 200);
  return res.body.token;
}
