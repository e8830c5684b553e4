import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { openSse, openWebSocket, type StreamReader } from '../helpers/stream.js';

for (const kind of STORES) {
  describe(`conversation platform end to end (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let http: Client;
    const acc = 'acme';
    let conversationId: string;
    let consumerToken: string;
    let agentToken: string;
    let agentId: string;
    let consumerStream: StreamReader;
    let agentStream: StreamReader;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      http = client(running.url);
    });
    after(async () => {
      consumerStream?.close();
      agentStream?.close();
      await running?.close();
      await store?.dispose();
    });

    /** Every user's load as the store keeps it, against the open conversations the user holds. */
    const assertLoadsKept = async () => {
      const db = running.app.store.db;
      const users = await db.selectFrom('users').select(['id', 'open_conversations']).execute();
      const held = await db
        .selectFrom('conversations')
        .select(['assignee_user_id', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', '=', 'OPEN')
        .groupBy('assignee_user_id')
        .execute();
      const counted = new Map(held.map((r) => [r.assignee_user_id, Number(r.n)]));
      for (const u of users) assert.equal(u.open_conversations, counted.get(u.id) ?? 0, `load of user ${u.id}`);
      return new Map(users.map((u) => [String(u.id), u.open_conversations]));
    };

    it('admin creates the account, skills, a HUMAN user and an app', async () => {
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      const sales = await admin.post('/admin/v1/accounts/acme/skills', { name: 'sales' });
      assert.equal(sales.status, 201);
      assert.equal(typeof sales.body.id, 'number');
      assert.equal(sales.body.name, 'sales');
      assert.equal((await admin.post('/admin/v1/accounts/acme/skills', { name: 'support' })).status, 201);
      // Case-sensitive: "Sales" is another skill, "sales" again is a conflict.
      assert.equal((await admin.post('/admin/v1/accounts/acme/skills', { name: 'Sales' })).status, 201);
      assert.equal((await admin.post('/admin/v1/accounts/acme/skills', { name: 'sales' })).status, 409);
      const skills = await admin.get('/admin/v1/accounts/acme/skills');
      assert.deepEqual(
        skills.body.skills.map((s: { name: string }) => s.name),
        ['sales', 'support', 'Sales'],
      );

      const user = await admin.post('/admin/v1/accounts/acme/users', {
        loginName: 'alice',
        password: 'correct horse',
        userType: 'HUMAN',
        skills: ['sales', 'support'],
        maxConversations: 5,
      });
      assert.equal(user.status, 201);
      assert.deepEqual(Object.keys(user.body).sort(), ['id', 'loginName', 'userType']);
      agentId = user.body.id;

      const app = await admin.post('/admin/v1/accounts/acme/apps', {
        name: 'bot connector',
        scope: 'thirdpartybots.customendpoint.bot',
      });
      assert.equal(app.status, 201);
      assert.ok(app.body.client_id && app.body.client_secret);
      assert.equal(app.body.scope, 'thirdpartybots.customendpoint.bot');
    });

    it('a conversation on a skill without bots waits in that skill’s queue', async () => {
      const opened = await http.post('/api/account/acme/consumer/conversations', {
        skill: 'sales',
        sdes: { unauthenticatedSdes: { customerInfo: { type: 'ctmrinfo', info: { customerId: 'c-1' } } } },
        visitor: { sharkVisitorId: 'v-1', sharkSessionId: 's-1' },
        engagementId: 1234,
        campaignId: 99,
      });
      assert.equal(opened.status, 201);
      ({ conversationId, consumerToken } = opened.body);
      const conversation = await admin.get(`/admin/v1/accounts/acme/conversations/${conversationId}`);
      assert.equal(conversation.body.status, 'OPEN');
      assert.equal(conversation.body.assignee, null);
      assert.equal(conversation.body.skill.name, 'sales');
      assert.equal(conversation.body.type, 'MESSAGING');
      assert.equal(conversation.body.engagementId, 1234);
      assert.deepEqual(conversation.body.visitor, { sharkVisitorId: 'v-1', sharkSessionId: 's-1' });
    });

    it('the agent logs in, sees it queued and accepts it', async () => {
      const bad = await http.post('/api/account/acme/agent/login', { username: 'alice', password: 'wrong' });
      assert.equal(bad.status, 401);
      const login = await http.post('/api/account/acme/agent/login', { username: 'alice', password: 'correct horse' });
      assert.equal(login.status, 200);
      agentToken = login.body.token;
      const agent = client(running.url, { token: agentToken });
      const queue = await agent.get('/api/account/acme/agent/queue');
      assert.equal(queue.status, 200);
      assert.deepEqual(
        queue.body.conversations.map((c: { conversationId: string }) => c.conversationId),
        [conversationId],
      );
      assert.equal(queue.body.conversations[0].skill.name, 'sales');
      assert.equal(queue.body.conversations[0].ttr.ttrType, 'NORMAL');

      const accepted = await agent.post(`/api/account/acme/agent/conversations/${conversationId}/accept`);
      assert.equal(accepted.status, 200);
      assert.deepEqual(accepted.body.assignee, { userId: agentId, userType: 'HUMAN' });
      assert.deepEqual((await agent.get('/api/account/acme/agent/queue')).body.conversations, []);
    });

    it('the agent’s load kept in the store counts the conversation it accepted', async () => {
      const loads = await assertLoadsKept();
      assert.equal(loads.get(agentId), 1);
    });

    it('consumer and agent exchange messages, seen in order on both streams', async () => {
      consumerStream = await openWebSocket(
        `${running.url}/api/account/acme/consumer/conversations/${conversationId}/stream`,
        consumerToken,
      );
      agentStream = await openSse(`${running.url}/api/account/acme/agent/stream`, agentToken);
      const consumer = client(running.url, { token: consumerToken });
      const agent = client(running.url, { token: agentToken });

      const texts = ['hello', 'I need help with my order', 'order 42'];
      for (const text of texts) {
        const sent = await consumer.post(`/api/account/acme/consumer/conversations/${conversationId}/messages`, {
          text,
        });
        assert.equal(sent.status, 201);
        assert.equal(typeof sent.body.sequence, 'number');
      }
      const reply = await agent.post(`/api/account/acme/agent/conversations/${conversationId}/messages`, {
        text: 'Happy to help!',
      });
      assert.equal(reply.status, 201);

      const textsOn = (reader: StreamReader) =>
        reader.messages.filter((m) => m.kind === 'event' && m.event.type === 'TEXT').map((m) => m.event.text);
      await consumerStream.waitFor(
        (m) => m.kind === 'event' && m.event.text === 'Happy to help!',
        'agent reply on consumer stream',
      );
      await agentStream.waitFor(
        (m) => m.kind === 'event' && m.event.text === 'Happy to help!',
        'agent reply on agent stream',
      );
      assert.deepEqual(textsOn(consumerStream), [...texts, 'Happy to help!']);
      assert.deepEqual(textsOn(agentStream), [...texts, 'Happy to help!']);
      const sequences = consumerStream.messages.filter((m) => m.kind === 'event').map((m) => m.event.sequence);
      assert.deepEqual(
        sequences,
        [...sequences].sort((a, b) => a - b),
      );
      const fromAgent = agentStream.messages.find((m) => m.kind === 'event' && m.event.text === 'Happy to help!');
      assert.deepEqual(fromAgent.event.originator, { role: 'AGENT', userId: agentId });
    });

    it('a private text reaches the agent side but never the consumer', async () => {
      const agent = client(running.url, { token: agentToken });
      const consumer = client(running.url, { token: consumerToken });
      const secret = await agent.post(`/api/account/acme/agent/conversations/${conversationId}/messages`, {
        text: 'customer seems upset',
        audience: 'AGENTS_AND_MANAGERS',
      });
      assert.equal(secret.status, 201);
      await agent.post(`/api/account/acme/agent/conversations/${conversationId}/messages`, { text: 'public again' });
      await consumerStream.waitFor(
        (m) => m.kind === 'event' && m.event.text === 'public again',
        'public text after the private one',
      );
      await agentStream.waitFor(
        (m) => m.kind === 'event' && m.event.text === 'customer seems upset',
        'private text on agent stream',
      );
      assert.ok(!JSON.stringify(consumerStream.messages).includes('customer seems upset'));
      const history = await consumer.get(`/api/account/acme/consumer/conversations/${conversationId}/events`);
      assert.equal(history.status, 200);
      assert.ok(!JSON.stringify(history.body).includes('customer seems upset'));
      assert.ok(history.body.events.every((e: { audience: string }) => e.audience === 'ALL'));
      const full = await agent.get(`/api/account/acme/agent/conversations/${conversationId}`);
      const privateEvent = full.body.events.find((e: { text?: string }) => e.text === 'customer seems upset');
      assert.equal(privateEvent.audience, 'AGENTS_AND_MANAGERS');
      // A fresh stream replays history the same way: no private text.
      const late = await openWebSocket(
        `${running.url}/api/account/acme/consumer/conversations/${conversationId}/stream?after=0`,
        consumerToken,
      );
      assert.ok(!JSON.stringify(late.messages).includes('customer seems upset'));
      assert.ok(late.messages.some((m) => m.kind === 'event' && m.event.text === 'public again'));
      late.close();
    });

    it('TTR and SDES changes are logged as events', async () => {
      const agent = client(running.url, { token: agentToken });
      const ttr = await agent.post(`/api/account/acme/agent/conversations/${conversationId}/ttr`, {
        ttrType: 'CUSTOM',
        value: 600,
      });
      assert.equal(ttr.status, 200);
      assert.deepEqual(ttr.body.ttr, { ttrType: 'CUSTOM', value: 600 });
      const urgent = await agent.post(`/api/account/acme/agent/conversations/${conversationId}/ttr`, {
        ttrType: 'URGENT',
      });
      assert.deepEqual(urgent.body.ttr, { ttrType: 'URGENT' });
      const sdes = await agent.post(`/api/account/acme/agent/conversations/${conversationId}/sdes`, {
        unauthenticatedSdes: { personal: { type: 'personal', personal: { firstname: 'Ada' } } },
      });
      assert.equal(sdes.status, 200);
      assert.deepEqual(sdes.body.sdes.unauthenticatedSdes, {
        customerInfo: { type: 'ctmrinfo', info: { customerId: 'c-1' } },
        personal: { type: 'personal', personal: { firstname: 'Ada' } },
      });
      const full = await agent.get(`/api/account/acme/agent/conversations/${conversationId}`);
      const types = full.body.events.map((e: { type: string }) => e.type);
      assert.deepEqual(types.slice(-3), ['TTR', 'TTR', 'SDES']);
      assert.deepEqual(full.body.events.at(-3).ttr, { ttrType: 'CUSTOM', value: 600 });
      await agentStream.waitFor((m) => m.kind === 'event' && m.event.type === 'SDES', 'SDES event on agent stream');
    });

    it('transfer to another skill puts it back in a queue', async () => {
      const agent = client(running.url, { token: agentToken });
      const unknown = await agent.post(`/api/account/acme/agent/conversations/${conversationId}/transfer`, {
        skill: 'SUPPORT',
      });
      assert.equal(unknown.status, 404);
      const moved = await agent.post(`/api/account/acme/agent/conversations/${conversationId}/transfer`, {
        skill: 'support',
      });
      assert.equal(moved.status, 200);
      assert.equal(moved.body.skill.name, 'support');
      assert.equal(moved.body.assignee, null);
      const queue = await agent.get('/api/account/acme/agent/queue');
      assert.deepEqual(
        queue.body.conversations.map((c: { conversationId: string; skill: { name: string } }) => [
          c.conversationId,
          c.skill.name,
        ]),
        [[conversationId, 'support']],
      );
      await agentStream.waitFor(
        (m) => m.kind === 'conversation' && m.conversation.skill.name === 'support',
        'requeue notice',
      );
      // No longer held: the agent cannot write into it until they accept it again.
      const blocked = await agent.post(`/api/account/acme/agent/conversations/${conversationId}/messages`, {
        text: 'still there?',
      });
      assert.equal(blocked.status, 403);
      assert.equal((await agent.post(`/api/account/acme/agent/conversations/${conversationId}/accept`)).status, 200);
    });

    it('close ends it; a later consumer message gets 409', async () => {
      const agent = client(running.url, { token: agentToken });
      const consumer = client(running.url, { token: consumerToken });
      const closed = await agent.post(`/api/account/acme/agent/conversations/${conversationId}/close`);
      assert.equal(closed.status, 200);
      assert.equal(closed.body.status, 'CLOSED');
      assert.equal(closed.body.closeReason, 'AGENT');
      await consumerStream.waitFor((m) => m.kind === 'event' && m.event.type === 'CLOSE', 'close on consumer stream');
      const late = await consumer.post(`/api/account/acme/consumer/conversations/${conversationId}/messages`, {
        text: 'wait',
      });
      assert.equal(late.status, 409);
      assert.equal(late.body.error.code, 'conversation-closed');
    });

    it('after the transfer and the close, every load kept in the store is what its holder holds', async () => {
      const loads = await assertLoadsKept();
      assert.equal(loads.get(agentId), 0);
    });

    it('a restart on the same store keeps every conversation and event', async () => {
      const before = (await admin.get(`/admin/v1/accounts/acme/conversations/${conversationId}`)).body;
      consumerStream.close();
      agentStream.close();
      await running.close();
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      const afterRestart = (await admin.get(`/admin/v1/accounts/acme/conversations/${conversationId}`)).body;
      assert.deepEqual(afterRestart, before);
      assert.ok(afterRestart.events.length >= 10);
      // Tokens issued before the restart still work: the session secret lives in the store.
      const consumer = client(running.url, { token: consumerToken });
      assert.equal(
        (await consumer.get(`/api/account/acme/consumer/conversations/${conversationId}/events`)).status,
        200,
      );
    });
  });
}
