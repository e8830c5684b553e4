import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, launchBrowser, screenshot, type TestBrowser, signInAsOperator } from '../helpers/browser.js';
import { BOT_SCOPE } from '../helpers/connector.js';

const CONSOLE = { 'x-botbridge-console': '1' };

/**
 * "Who renamed this bot, and what was it called before?": the owner opens the account's Audit
 * log, sees each change with who, from where and when, a refused one marked, opens a change's
 * before and after, and narrows the log to one operator and to one object.
 */
for (const kind of STORES) {
  describe(`console: the Audit log page shows who changed what (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let browser: TestBrowser;
    let page: Page;
    const acc = 'acct-audit-web';
    let botId = '';
    /** The viewer's session cookie (name=value). */
    let veraCookie = '';
    const secrets: string[] = [];
    const shot = (name: string) => screenshot(page, `audit-${kind}-${name}`);

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, { logLevel: 'warn' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      const ok = (res: { status: number; body: unknown }, status: number) =>
        assert.equal(res.status, status, JSON.stringify(res.body));
      ok(await admin.post('/admin/v1/accounts', { accountId: acc }), 201);
      ok(await admin.post(`/admin/v1/accounts/${acc}/skills`, { name: 'bot' }), 201);
      const app = await admin.post(`/admin/v1/accounts/${acc}/apps`, { name: 'bot', scope: BOT_SCOPE });
      ok(app, 201);
      secrets.push(app.body.client_secret);
      const bot = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'Parcel helper',
        conversationType: 'MESSAGING',
        skills: ['bot'],
        vendor: {
          type: 'CUSTOM_ENDPOINT',
          baseUrl: 'http://127.0.0.1:9/bot',
          clientId: app.body.client_id,
          clientSecret: app.body.client_secret,
          botId: 'bot-1',
          environment: 'draft',
        },
      });
      ok(bot, 201);
      botId = bot.body.id;
      ok(await admin.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, { name: 'Parcel tracker' }), 200);
      // A viewer tries a change and is refused: that is in the log too.
      ok(await admin.post('/admin/v1/operators', { login: 'vera@example.com', password: 'pass-word-1' }), 201);
      ok(await admin.post(`/admin/v1/accounts/${acc}/operators`, { login: 'vera@example.com', role: 'viewer' }), 200);
      const signIn = await fetch(`${running.url}/admin/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...CONSOLE },
        body: JSON.stringify({ login: 'vera@example.com', password: 'pass-word-1' }),
      });
      assert.equal(signIn.status, 201);
      veraCookie = signIn.headers.get('set-cookie')!.split(';')[0];
      const vera = client(running.url, { headers: { cookie: veraCookie, ...CONSOLE } });
      ok(await vera.patch(`/admin/v1/accounts/${acc}/bots/${botId}`, { name: 'Mine now' }), 403);

      browser = await launchBrowser();
      page = await browser.page(DESKTOP);
      await signInAsOperator(page, running.url);
    });
    after(async () => {
      await browser?.close();
      await running?.close();
      await store?.dispose();
    });

    it('lists the account’s changes newest first: who, from where, what, when, refused ones marked', async () => {
      await page.goto(`${running.url}/admin/accounts/${acc}/bots`);
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
      const entries = page.locator('.audit-entry');
      await entries.first().waitFor();
      // The account, its skill, app, bot, the rename, the viewer's role, the refused rename.
      assert.equal(await entries.count(), 7);
      const newest = entries.first();
      assert.match((await newest.textContent()) ?? '', /vera@example\.com changed bot/);
      assert.match((await newest.locator('.badge').textContent()) ?? '', /Refused · 403/);
      assert.match((await newest.locator('.audit-facts').textContent()) ?? '', /From127\.0\.0\.1/);
      await shot('01-list');
      const content = await page.content();
      for (const secret of secrets) assert.ok(!content.includes(secret), 'no secret on the page');
    });

    it('opens a change’s before and after', async () => {
      const rename = page.locator('.audit-entry', { hasText: 'admin-token changed bot' });
      await rename.getByText('Before → after').click();
      const row = rename.locator('.audit-changes tr', { hasText: 'name' }).first();
      await row.waitFor();
      assert.equal(await row.locator('.audit-old').textContent(), '"Parcel helper"');
      assert.equal(await row.locator('.audit-new').textContent(), '"Parcel tracker"');
      await rename.getByRole('figure', { name: 'After' }).waitFor();
      await rename.scrollIntoViewIfNeeded();
      await shot('02-before-after');
    });

    it('narrows the log to one operator, and to one object', async () => {
      await page.getByLabel('Operator', { exact: true }).fill('vera@example.com');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForFunction(() => document.querySelectorAll('.audit-entry').length === 1);
      assert.match(page.url(), /actor=vera%40example\.com/);
      await shot('03-by-operator');
      await page.getByRole('link', { name: 'Clear' }).click();
      await page.waitForFunction(() => document.querySelectorAll('.audit-entry').length === 7);
      // An object's id opens its history.
      await page.locator('.audit-entry', { hasText: 'created bot' }).getByRole('link', { name: botId }).click();
      await page.waitForFunction(() => document.querySelectorAll('.audit-entry').length === 3);
      assert.match(page.url(), new RegExp(`objectType=bot&objectId=${botId}`));
      await shot('04-by-object');
    });

    it('is an owner’s: a viewer gets no link to it, and its address says why', async () => {
      const viewer = await browser.page(DESKTOP);
      const [name, value] = veraCookie.split('=');
      await viewer.context().addCookies([{ name, value, url: `${running.url}/admin/v1/` }]);
      await viewer.goto(`${running.url}/admin/accounts/${acc}/bots`);
      await viewer.getByRole('link', { name: 'Conversations' }).waitFor();
      assert.equal(await viewer.getByRole('link', { name: 'Audit log' }).count(), 0);
      await viewer.goto(`${running.url}/admin/accounts/${acc}/audit`);
      await viewer.getByText(/The audit log is not available to you: needs 'account:manage'/).waitFor();
      await screenshot(viewer, `audit-${kind}-05-viewer-refused`);
    });
  });
}
