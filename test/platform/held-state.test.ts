import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { Conversations } from '../../src/platform/conversations.js';
import { EventBus } from '../../src/platform/bus.js';
import { createMetrics } from '../../src/ops/metrics.js';

/**
 * Guarantee 3 with the state an instance holds: a change starts from the conversation as this
 * instance last committed it, so when another writer (another instance) changed the row since,
 * the change must notice, read the row and apply itself on top — never number entries twice or
 * write stale columns back. The other writer here is a second Conversations on the same store
 * that tells the first nothing, as an instance whose notices have not arrived yet.
 */
for (const kind of STORES) {
  describe(`a change on a conversation another writer changed since (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let agentId: string;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      const admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: 'acme' })).status, 201);
      assert.equal((await admin.post('/admin/v1/accounts/acme/skills', { name: 'sales' })).status, 201);
      const agent = await admin.post('/admin/v1/accounts/acme/users', {
        loginName: 'alice',
        password: 'correct horse',
        userType: 'HUMAN',
        skills: ['sales'],
        maxConversations: 5,
      });
      assert.equal(agent.status, 201);
      agentId = String(agent.body.id);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('is made again from the row: entries in one unbroken sequence, the other writer’s columns kept, loads right', async () => {
      const { app } = running;
      const here = app.conversations;
      const other = new Conversations(
        app.store,
        app.directory,
        new EventBus(app.log),
        createMetrics({ openConversations: async () => 0 }),
      );
      const load = async () =>
        (
          await app.store.db
            .selectFrom('users')
            .select('open_conversations')
            .where('id', '=', Number(agentId))
            .executeTakeFirstOrThrow()
        ).open_conversations;
      const opened = await here.open('acme', { skill: 'sales', assignTo: agentId });
      const id = opened.conversationId;
      assert.equal(await load(), 1);

      // The other writer moves the row on twice; `here` still holds the state it opened.
      await other.post('acme', id, { role: 'CONSUMER' }, { text: 'from the other writer' });
      await other.setTtr('acme', id, { role: 'AGENT', userId: agentId }, { ttrType: 'URGENT' });
      const posted = await here.post('acme', id, { role: 'CONSUMER' }, { text: 'from this one' });
      // Once more after the other writer: the close (which also gives the agent's load back).
      await other.post('acme', id, { role: 'CONSUMER' }, { text: 'the other again' });
      const closed = await here.close('acme', id, { role: 'AGENT', userId: agentId }, { reason: 'AGENT' });

      const all = await here.withEvents('acme', id);
      assert.deepEqual(
        all.events.map((e) => e.sequence),
        all.events.map((_, i) => i + 1),
      );
      assert.deepEqual(
        all.events.filter((e) => e.type === 'TEXT').map((e) => e.text),
        ['from the other writer', 'from this one', 'the other again'],
      );
      assert.equal(posted.sequence, all.events.find((e) => e.text === 'from this one')?.sequence);
      assert.deepEqual(
        all.events.slice(-1).map((e) => e.type),
        ['CLOSE'],
      );
      assert.equal(closed.lastSequence, all.events.length);
      // The stale state said NORMAL: what the other writer set survives this one's changes.
      assert.deepEqual(all.ttr, { ttrType: 'URGENT' });
      assert.equal(all.status, 'CLOSED');
      assert.equal(await load(), 0);
    });
  });
}
