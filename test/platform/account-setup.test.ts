import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';

/** What the console's set-up page does to an account: agents changed, app secrets rotated. */
for (const kind of STORES) {
  describe(`Admin API: changing agents and rotating app secrets (${kind})`, () => {
    const acc = 'setup-co';
    let store: TestStore;
    let running: Running;
    let admin: Client;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      for (const name of ['sales', 'support'])
        assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name })).status, 201);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    const login = (password: string) =>
      client(running.url).post(`/api/account/${acc}/agent/login`, { username: 'alice', password });

    it('an agent’s skills, capacity and password change; what the agent sees follows', async () => {
      const created = await admin.post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'alice',
        password: 'first password',
        userType: 'HUMAN',
        skills: ['sales'],
        maxConversations: 2,
      });
      assert.equal(created.status, 201);
      const path = `/admin/v1/accounts/${acc}/users/${created.body.id}`;

      const changed = await admin.patch(path, { skills: ['support', 'sales'], maxConversations: null });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
      assert.deepEqual(changed.body.skills.map((s: { name: string }) => s.name).sort(), ['sales', 'support']);
      assert.equal(changed.body.maxConversations, null);

      assert.equal((await admin.patch(path, { password: 'second password' })).status, 200);
      assert.equal((await login('first password')).status, 401);
      const me = await client(running.url, { token: (await login('second password')).body.token }).get(
        `/api/account/${acc}/agent/me`,
      );
      assert.equal(me.status, 200);
      assert.deepEqual(me.body.user.skills.map((s: { name: string }) => s.name).sort(), ['sales', 'support']);
    });

    it('bad changes are refused with the reason, and change nothing', async () => {
      const users = (await admin.get(`/admin/v1/accounts/${acc}/users`)).body.users;
      const alice = users.find((u: { loginName: string }) => u.loginName === 'alice');
      const path = `/admin/v1/accounts/${acc}/users/${alice.id}`;
      const cases: Array<[string, unknown, number, string]> = [
        ['an unknown skill', { skills: ['sales', 'nope'] }, 400, 'unknown-skill'],
        ['nothing to change', {}, 400, 'invalid-request'],
        ['a short password', { password: 'short' }, 400, 'invalid-request'],
        ['a capacity of 0', { maxConversations: 0 }, 400, 'invalid-request'],
        ['an unknown field', { loginName: 'bob' }, 400, 'invalid-request'],
      ];
      for (const [what, body, status, code] of cases) {
        const res = await admin.patch(path, body);
        assert.equal(res.status, status, what);
        assert.equal(res.body.error.code, code, what);
      }
      assert.equal((await admin.patch(`/admin/v1/accounts/${acc}/users/99999`, { maxConversations: 1 })).status, 404);
      const botUser = await admin.post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'a bot',
        userType: 'BOT',
        skills: [],
      });
      const refused = await admin.patch(`/admin/v1/accounts/${acc}/users/${botUser.body.id}`, { skills: ['sales'] });
      assert.deepEqual([refused.status, refused.body.error.code], [409, 'bot-user']);
      const after = (await admin.get(`/admin/v1/accounts/${acc}/users`)).body.users.find(
        (u: { id: string }) => u.id === alice.id,
      );
      assert.deepEqual(after, alice);
    });

    it('an agent sees where to transfer: the account’s skills and the other agents, available or not', async () => {
      for (const loginName of ['dave', 'erin']) {
        const made = await admin.post(`/admin/v1/accounts/${acc}/users`, {
          loginName,
          password: 'correct horse battery',
          userType: 'HUMAN',
          skills: ['support'],
          maxConversations: 1,
        });
        assert.equal(made.status, 201);
      }
      const logIn = async (username: string) =>
        (
          await client(running.url).post(`/api/account/${acc}/agent/login`, {
            username,
            password: 'correct horse battery',
          })
        ).body.token;
      const dave = await logIn('dave');
      const targets = await client(running.url, { token: dave }).get(`/api/account/${acc}/agent/transfer-targets`);
      assert.equal(targets.status, 200);
      assert.deepEqual(targets.body.skills.map((s: { name: string }) => s.name).sort(), ['sales', 'support']);
      const agents = Object.fromEntries(
        targets.body.agents.map((a: { loginName: string; available: boolean }) => [a.loginName, a.available]),
      );
      // Dave is not offered himself; Erin never logged in; Alice logged in above.
      assert.deepEqual(agents, { alice: true, erin: false });
      assert.equal((await client(running.url).get(`/api/account/${acc}/agent/transfer-targets`)).status, 401);
    });

    it('a chat page asks whether the account takes conversations on a skill, before anyone types', async () => {
      const consumer = client(running.url);
      const known = await consumer.get(`/api/account/${acc}/consumer/skills/support`);
      assert.deepEqual([known.status, known.body], [200, { name: 'support' }]);
      const cases: Array<[string, string, string]> = [
        ['an unknown skill', `/api/account/${acc}/consumer/skills/Support`, "unknown skill 'Support'"],
        ['an unknown account', '/api/account/nope/consumer/skills/support', "unknown account 'nope'"],
      ];
      for (const [what, path, message] of cases) {
        const res = await consumer.get(path);
        assert.equal(res.status, 404, what);
        assert.equal(res.body.error.message, message, what);
      }
    });

    it('an app’s secret rotates: the new one gets tokens, the old one no longer does', async () => {
      const app = await admin.post(`/admin/v1/accounts/${acc}/apps`, {
        name: 'bot connector',
        scope: 'thirdpartybots.customendpoint.bot',
      });
      assert.equal(app.status, 201);
      const token = (secret: string) =>
        fetch(`${running.url}/sentinel/api/account/${acc}/app/token?v=1.0&grant_type=client_credentials`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: app.body.client_id, client_secret: secret }).toString(),
        });
      assert.equal((await token(app.body.client_secret)).status, 200);

      const rotated = await admin.post(`/admin/v1/accounts/${acc}/apps/${app.body.client_id}/secret`);
      assert.equal(rotated.status, 200);
      assert.deepEqual(
        { ...rotated.body, client_secret: undefined },
        {
          client_id: app.body.client_id,
          name: 'bot connector',
          scope: app.body.scope,
          client_secret: undefined,
          // No bot refers to this app (test/connector/bots-on-apps.test.ts has those that do).
          bots: [],
        },
      );
      assert.notEqual(rotated.body.client_secret, app.body.client_secret);
      assert.equal((await token(app.body.client_secret)).status, 401);
      assert.equal((await token(rotated.body.client_secret)).status, 200);

      const unknown = await admin.post(`/admin/v1/accounts/${acc}/apps/nope/secret`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'not-found');
    });
  });
}
