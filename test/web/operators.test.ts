import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { setupBot } from '../helpers/connector.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';

const PASSWORD = 'pass-word-1';

/**
 * "Every admin route checks the role; the console hides what a role cannot do": a viewer signed in
 * with login and password sees bots and set-up but no control that would change them, cannot reach
 * the tester, and is refused 403 (the permission named) when their page writes anyway; an owner
 * hands out a role and an API token and revokes it; a super-admin adds an operator.
 */
for (const kind of STORES) {
  describe(`console: operators, roles and API tokens (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let bot: TestBot;
    let browser: TestBrowser;
    let acc: string;
    let botId: string;
    const shot = (page: Page, name: string) => screenshot(page, `operators-${kind}-${name}`);

    /** An operator added by the admin token, with a role on the test's account unless a super-admin. */
    async function operator(login: string, name: string, role?: string, superAdmin = false) {
      const made = await admin.post('/admin/v1/operators', { login, name, password: PASSWORD, superAdmin });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      if (role) {
        const given = await admin.post(`/admin/v1/accounts/${acc}/operators`, { login, role });
        assert.equal(given.status, 200, JSON.stringify(given.body));
      }
    }

    /** A fresh browser signed in with login and password on the sign-in page. */
    async function signIn(login: string): Promise<Page> {
      const page = await browser.page(DESKTOP);
      await page.goto(`${running.url}/`);
      await page.getByLabel('Login (email)').fill(login);
      await page.getByLabel('Operator password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in with password' }).click();
      await page.getByRole('heading', { name: 'Accounts' }).waitFor();
      return page;
    }

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, { logLevel: 'warn' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      bot = await new TestBot().start();
      bot.onEvent = () => reply(text('hello'));
      ({ acc, botId } = await setupBot(running, bot.url));
      await operator('vera@example.com', 'Vera Viewer', 'viewer');
      await operator('olga@example.com', 'Olga Owner', 'owner');
      await operator('sue@example.com', 'Sue Super', undefined, true);
      await operator('adam@example.com', 'Adam Admin');
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await running?.close();
      await bot?.stop();
      await store?.dispose();
    });

    it('the sign-in page offers login and password beside the admin token', async () => {
      const page = await browser.page(DESKTOP);
      await page.goto(`${running.url}/`);
      await page.getByLabel('Login (email)').fill('vera@example.com');
      await page.getByLabel('Operator password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in with password' }).click();
      await page.getByText('Wrong login or password.').waitFor();
      await page.getByLabel('Admin token').waitFor();
      await shot(page, '01-sign-in');
    });

    it('a viewer sees bots, set-up and the bot’s settings, but no control that would change them, and no tester', async () => {
      const page = await signIn('vera@example.com');
      await page.locator('.topbar-who', { hasText: 'Vera Viewer (vera@example.com)' }).waitFor();
      // Accounts are the installation's: no creating one, and no installation Operators link.
      assert.equal(await page.getByText('Create an account').count(), 0);
      assert.equal(await page.getByRole('link', { name: 'Operators' }).count(), 0);

      await page.goto(`${running.url}/admin/accounts/${acc}/bots`);
      await page.locator(`tr[data-bot="${botId}"]`).waitFor();
      await page.getByText("needs 'account:write'").first().waitFor();
      const row = page.locator(`tr[data-bot="${botId}"]`);
      for (const name of ['Start', 'Stop', 'Test'])
        assert.equal(await row.getByRole('button', { name, exact: true }).count(), 0, `${name} button shown`);
      assert.equal(await row.getByRole('link', { name: /in the tester/ }).count(), 0);
      assert.equal(await page.getByRole('link', { name: /Create/ }).count(), 0);
      assert.equal(await page.getByRole('link', { name: 'Tester' }).count(), 0, 'the Tester section is not offered');
      await row.getByRole('link', { name: /^Dashboard/ }).waitFor();
      await shot(page, '02-viewer-bots');

      // The bot editor: its settings shown, disabled; no save, start, stop, delete or checks.
      await row.getByRole('link', { name: /^Settings of/ }).click();
      await page.getByText('Changing, starting, stopping or testing this bot is not available to you').waitFor();
      assert.equal(await page.getByLabel('Name', { exact: true }).isDisabled(), true);
      assert.equal(await page.getByRole('button', { name: 'Test connection' }).isDisabled(), true);
      for (const name of ['Save changes', 'Start bot', 'Stop bot', 'Delete…', 'Check conformance'])
        assert.equal(await page.getByRole('button', { name }).count(), 0, `${name} shown`);
      assert.equal(await page.getByRole('link', { name: /tester/i }).count(), 0);
      await shot(page, '03-viewer-bot-editor');

      await page.goto(`${running.url}/admin/accounts/${acc}/bots/new`);
      await page.getByText('Creating a bot is not available to you').waitFor();

      // Set-up: the lists, without their forms; no operators or API tokens sections.
      await page.goto(`${running.url}/admin/accounts/${acc}/setup`);
      await page.getByRole('list', { name: 'Skills' }).waitFor();
      await page.locator('[data-app]').first().waitFor();
      for (const form of ['New skill', 'New app', 'Add an operator', 'New API token'])
        assert.equal(await page.getByRole('form', { name: form }).count(), 0, `${form} form shown`);
      for (const name of ['Rotate secret', 'Remove', 'Edit'])
        assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `${name} shown`);
      assert.equal(await page.getByRole('heading', { name: 'API tokens' }).count(), 0);
      await shot(page, '04-viewer-setup');

      // The tester, reached by its address: refused with the reason, no chat.
      await page.goto(`${running.url}/admin/accounts/${acc}/tester?bot=${botId}`);
      await page.getByText('The conversation tester is not available to you').waitFor();
      await page.getByText('yours there is viewer').waitFor();
      assert.equal(await page.getByLabel('Message').count(), 0);
      await shot(page, '05-viewer-tester');

      // The installation's Operators page, by its address: refused too.
      await page.goto(`${running.url}/admin/operators`);
      await page.getByText('super-admins only').waitFor();

      // A write from the viewer's own page session (the cookie, and the console's header) is refused, naming the permission.
      const refused = await page.evaluate(
        async ({ acc, botId }) => {
          const res = await fetch(`/admin/v1/accounts/${acc}/bots/${botId}/stop`, {
            method: 'POST',
            headers: { 'x-botbridge-console': '1' },
          });
          return { status: res.status, body: await res.json() };
        },
        { acc, botId },
      );
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'forbidden');
      assert.match(refused.body.error.message, /account:write/);
      assert.notEqual((await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body.status, 'OFFLINE');
    });

    it('an owner gives an operator a role, and creates and revokes an API token', async () => {
      const page = await signIn('olga@example.com');
      await page.locator('.topbar-who', { hasText: 'Olga Owner' }).waitFor();
      await page.goto(`${running.url}/admin/accounts/${acc}/setup`);
      await page.getByRole('heading', { name: 'Operators' }).waitFor();
      await page.locator('tr[data-operator="vera@example.com"]').waitFor();

      const add = page.getByRole('form', { name: 'Add an operator' });
      await add.getByLabel('Operator login').fill('adam@example.com');
      await add.getByLabel('Role').selectOption('admin');
      await add.getByRole('button', { name: 'Give role' }).click();
      await page.locator('tr[data-operator="adam@example.com"]').waitFor();
      assert.equal(
        (await admin.get(`/admin/v1/accounts/${acc}/operators`)).body.operators.find(
          (o: any) => o.login === 'adam@example.com',
        ).roles[acc],
        'admin',
      );
      // Vera's role raised to admin from the list, then back.
      await page.getByLabel('Role of vera@example.com').selectOption('admin');
      await waitForRole('vera@example.com', 'admin');
      await page.getByLabel('Role of vera@example.com').selectOption('viewer');
      await waitForRole('vera@example.com', 'viewer');
      await page.locator('#operators-title').scrollIntoViewIfNeeded();
      await shot(page, '06-owner-operators');

      const form = page.getByRole('form', { name: 'New API token' });
      await form.getByLabel('Token name').fill('deploy script');
      await form.getByLabel('Role').selectOption('viewer');
      await form.getByRole('button', { name: 'Create token' }).click();
      const token = (await page.getByTestId('api-token').textContent())!.trim();
      assert.match(token, /^bbt_/);
      await page.locator('tr[data-token="deploy script"]').waitFor();
      await page.getByText('Copy the token “deploy script” now').scrollIntoViewIfNeeded();
      await shot(page, '07-owner-token-shown-once');

      const withToken = client(running.url, { token });
      assert.equal((await withToken.get(`/admin/v1/accounts/${acc}/bots`)).status, 200);
      const write = await withToken.post(`/admin/v1/accounts/${acc}/skills`, { name: 'from-token' });
      assert.equal(write.status, 403, 'a viewer token cannot write');

      await page.getByRole('button', { name: 'I have copied it' }).click();
      assert.equal(await page.getByTestId('api-token').count(), 0, 'shown once');
      await page.getByRole('button', { name: 'Revoke deploy script' }).click();
      await page.getByRole('dialog').getByText('refused from its next request on').waitFor();
      await shot(page, '08-owner-revoke-confirm');
      await page.getByRole('button', { name: 'Revoke token' }).click();
      await page.locator('tr[data-token="deploy script"]', { hasText: 'revoked' }).waitFor();
      assert.equal((await withToken.get(`/admin/v1/accounts/${acc}/bots`)).status, 401);
      await shot(page, '09-owner-token-revoked');

      async function waitForRole(login: string, role: string) {
        for (let i = 0; i < 50; i++) {
          const o = (await admin.get(`/admin/v1/accounts/${acc}/operators`)).body.operators.find(
            (x: any) => x.login === login,
          );
          if (o?.roles[acc] === role) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.fail(`${login} never became ${role}`);
      }
    });

    it('a super-admin adds an operator', async () => {
      const page = await signIn('sue@example.com');
      await page.getByText('Create an account').waitFor();
      await page.getByRole('link', { name: 'Operators' }).click();
      await page.getByRole('heading', { name: 'Operators', level: 1 }).waitFor();
      await page.locator('tr[data-operator="olga@example.com"]').waitFor();
      // Oneself is not offered for removal (the server refuses it).
      assert.equal(await page.getByRole('button', { name: 'Remove sue@example.com' }).count(), 0);
      const form = page.getByRole('form', { name: 'Add an operator' });
      await form.getByLabel('Login').fill('nina@example.com');
      await form.getByLabel('Name').fill('Nina New');
      await form.getByLabel('Password').fill('nina-pass-1');
      await form.getByRole('button', { name: 'Add operator' }).click();
      await page.locator('tr[data-operator="nina@example.com"]').waitFor();
      await page.getByText('nina@example.com added').waitFor();
      await shot(page, '10-super-operators');
      const listed = (await admin.get('/admin/v1/operators')).body.operators.find(
        (o: any) => o.login === 'nina@example.com',
      );
      assert.equal(listed?.name, 'Nina New');
      assert.equal(listed?.hasPassword, true);

      await page.getByRole('button', { name: 'Remove adam@example.com' }).click();
      await page.getByRole('button', { name: 'Remove operator' }).click();
      await page.locator('tr[data-operator="adam@example.com"]').waitFor({ state: 'detached' });
    });
  });
}
