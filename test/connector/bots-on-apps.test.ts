import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { BOT_SCOPE, openConversation, setupBot, waitForConversation } from '../helpers/connector.js';
import { TestBot } from '../helpers/test-bot.js';

/**
 * A bot refers to an app installation of its account: its calls carry that app's tokens, it
 * keeps no secret, and rotating the app's secret leaves it answering (issue 25, item 1). Older
 * clients may still send the app's credentials: they are checked, then the bot refers to the app.
 */
for (const kind of STORES) {
  describe(`bots refer to app installations (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let bot: TestBot;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, { logLevel: 'warn' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      bot = await new TestBot().start();
    });
    after(async () => {
      await running?.close();
      await bot?.stop();
      await store?.dispose();
    });

    const answered = (text: string) => (c: any) =>
      c.events.some((e: any) => e.originator.role === 'BOT' && e.text === `echo: ${text}`);

    it('a bot named by its app alone answers, its calls carrying that app’s tokens', async () => {
      const { acc, app } = await setupBot(running, bot.url, { start: false });
      const created = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'by reference',
        conversationType: 'MESSAGING',
        skills: ['human'],
        vendor: { type: 'CUSTOM_ENDPOINT', baseUrl: bot.url, clientId: app.client_id, botId: 'bot-2' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const started = await admin.post(`/admin/v1/accounts/${acc}/bots/${created.body.id}/start`);
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const c = await openConversation(running, acc, { skill: 'human' });
      await c.say('by reference');
      await waitForConversation(admin, acc, c.id, answered('by reference'), 'the bot answered');
      const call = bot.events(c.id).at(-1)!;
      const claims = JSON.parse(Buffer.from(call.authorization!.split('.')[1], 'base64url').toString());
      assert.equal(claims.client_id, app.client_id);
      assert.equal(claims.aud, acc);
      // The view names the app; no secret is kept to show.
      const view = await admin.get(`/admin/v1/accounts/${acc}/bots/${created.body.id}`);
      assert.equal(view.body.vendor.clientId, app.client_id);
      assert.notEqual(view.body.vendor.clientSecret, app.client_secret);
    });

    it('refuses an app the account does not have, and a secret that is not the app’s current one', async () => {
      const { acc, app, botId } = await setupBot(running, bot.url, { start: false });
      const vendor = { type: 'CUSTOM_ENDPOINT', baseUrl: bot.url, botId: 'bot-3' };
      const body = (v: object) => ({ name: 'x', conversationType: 'MESSAGING', skills: ['human'], vendor: v });
      const unknown = await admin.post(`/admin/v1/accounts/${acc}/bots`, body({ ...vendor, clientId: 'nope' }));
      assert.equal(unknown.status, 400);
      assert.equal(unknown.body.error.code, 'unknown-app');
      const other = await setupBot(running, bot.url, { start: false });
      const elsewhere = await admin.post(
        `/admin/v1/accounts/${acc}/bots`,
        body({ ...vendor, clientId: other.app.client_id }),
      );
      assert.equal(elsewhere.body.error.code, 'unknown-app', 'another account’s app is not this one’s');
      const wrong = await admin.post(
        `/admin/v1/accounts/${acc}/bots`,
        body({ ...vendor, clientId: app.client_id, clientSecret: 'not-it' }),
      );
      assert.equal(wrong.status, 400);
      assert.equal(wrong.body.error.code, 'app-secret-mismatch');
      const patched = await admin.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, {
        vendor: { clientId: 'nope' },
      });
      assert.equal(patched.body.error.code, 'unknown-app');
      // The current secret is accepted (older clients), and not needed.
      const right = await admin.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, {
        vendor: { clientId: app.client_id, clientSecret: app.client_secret },
      });
      assert.equal(right.status, 200, JSON.stringify(right.body));
    });

    it('rotating the app’s secret leaves its started bot answering; the answer lists it, tested again', async () => {
      const { acc, app, botId } = await setupBot(running, bot.url);
      const before = await openConversation(running, acc);
      await before.say('before');
      await waitForConversation(admin, acc, before.id, answered('before'), 'the bot answered');

      const apps = await admin.get(`/admin/v1/accounts/${acc}/apps`);
      assert.deepEqual(apps.body.apps.find((a: any) => a.client_id === app.client_id).bots, [
        { id: botId, name: 'test bot' },
      ]);
      const rotated = await admin.post(`/admin/v1/accounts/${acc}/apps/${app.client_id}/secret`);
      assert.equal(rotated.status, 200);
      assert.equal(rotated.body.bots.length, 1);
      assert.deepEqual(rotated.body.bots[0], {
        id: botId,
        name: 'test bot',
        status: 'ONLINE',
        test: { ok: true, state: 'online', version: '1.2.3' },
      });
      // The old secret gets no token; the bot, which never had it, goes on.
      const oldSecret = await fetch(
        `${running.url}/sentinel/api/account/${acc}/app/token?v=1.0&grant_type=client_credentials`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: app.client_id, client_secret: app.client_secret }).toString(),
        },
      );
      assert.equal(oldSecret.status, 401);
      const after = await openConversation(running, acc);
      await after.say('after');
      await waitForConversation(admin, acc, after.id, answered('after'), 'the bot answered after the rotation');
      // A restart (tokens and clients made afresh) changes nothing.
      await running.close();
      running = await startApp(store, { logLevel: 'warn' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      const restarted = await openConversation(running, acc);
      await restarted.say('restarted');
      await waitForConversation(admin, acc, restarted.id, answered('restarted'), 'the bot answered after a restart');
      const view = await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`);
      assert.equal(view.body.status, 'ONLINE');
    });

    it('an app its bots refer to is not removed; an unused one is', async () => {
      const { acc, app, botId } = await setupBot(running, bot.url, { start: false });
      const refused = await admin.delete(`/admin/v1/accounts/${acc}/apps/${app.client_id}`);
      assert.equal(refused.status, 409);
      assert.equal(refused.body.error.code, 'app-in-use');
      assert.match(refused.body.error.message, /test bot/);
      const spare = await admin.post(`/admin/v1/accounts/${acc}/apps`, { name: 'spare', scope: BOT_SCOPE });
      assert.equal((await admin.delete(`/admin/v1/accounts/${acc}/apps/${spare.body.client_id}`)).status, 204);
      const listed = (await admin.get(`/admin/v1/accounts/${acc}/apps`)).body.apps.map((a: any) => a.client_id);
      assert.deepEqual(listed, [app.client_id]);
      assert.equal((await admin.delete(`/admin/v1/accounts/${acc}/apps/${spare.body.client_id}`)).status, 404);
      // Once no bot refers to it, it goes.
      assert.equal((await admin.delete(`/admin/v1/accounts/${acc}/bots/${botId}`)).status, 204);
      assert.equal((await admin.delete(`/admin/v1/accounts/${acc}/apps/${app.client_id}`)).status, 204);
    });
  });
}
