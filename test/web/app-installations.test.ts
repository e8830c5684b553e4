import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, launchBrowser, screenshot, type TestBrowser, signInAsOperator } from '../helpers/browser.js';
import { BOT_SCOPE, botTexts, openConversation, waitForConversation } from '../helpers/connector.js';
import { seedDemoAccount } from '../../src/demo-account.js';

/**
 * Bots refer to app installations, in the console (issue 25, items 1 and 2): the bot form picks
 * one of the account's apps (or installs one in place) and never asks for a secret, so the demo
 * account's app, whose secret was never shown, serves a new bot as it is; Set-up lists each app's
 * bots, and rotating a secret says which bots use the app, re-tests them and shows how they did,
 * while a started bot goes on answering. An app in use is not removed, an unused one is.
 */
for (const kind of STORES) {
  describe(`console: bots refer to app installations, rotation re-tests them (${kind})`, () => {
    const acc = 'demo';
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let browser: TestBrowser;
    let page: Page;
    /** The demo account's app: installed when the account was seeded, its secret never shown. */
    let demoApp: string;
    let botId: string;
    let spareApp: string;
    /** Every body the console sent to the admin API: none may carry a secret. */
    const sent: string[] = [];
    const shot = (name: string) => screenshot(page, `apps-${kind}-${name}`);
    const appSelect = () => page.getByLabel('App installation', { exact: true });
    const appRow = (name: string) => page.locator(`[data-app="${name}"]`);

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      assert.ok(await seedDemoAccount(running.app), 'the demo account was seeded');
      admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name: 'support' })).status, 201);
      const apps = (await admin.get(`/admin/v1/accounts/${acc}/apps`)).body.apps;
      assert.equal(apps.length, 1);
      demoApp = apps[0].client_id;
      browser = await launchBrowser();
      page = await browser.page(DESKTOP);
      page.on('request', (request) => {
        const body = request.postData();
        if (body && new URL(request.url()).pathname.startsWith('/admin/v1/accounts/')) sent.push(body);
      });
      await signInAsOperator(page, running.url);
    });
    after(async () => {
      await browser?.close();
      await running?.close();
      await store?.dispose();
    });

    it('Set-up lists the demo account’s app like any other, with the demo bot on it', async () => {
      await page.goto(`${running.url}/admin/accounts/${acc}/setup`);
      const row = appRow('Demo bot connector');
      await row.getByRole('link', { name: 'Demo bot', exact: true }).waitFor();
      assert.match(await row.innerText(), new RegExp(demoApp));
      await row.scrollIntoViewIfNeeded();
      await shot('01-setup-apps');
    });

    it('a bot is made by picking an app, none typed nor sent; an app is installed from the form without leaving it', async () => {
      await page.goto(`${running.url}/admin/accounts/${acc}/bots/new`);
      await page.getByLabel('Name', { exact: true }).fill('Support bot');
      assert.equal(await page.getByLabel('Client secret').count(), 0, 'no secret is asked for');
      assert.equal(await page.getByLabel('Client ID').count(), 0, 'no client id is typed');
      assert.equal(await appSelect().inputValue(), '');
      await page.getByRole('checkbox', { name: 'support', exact: true }).check();
      await page.getByLabel('Base URL').fill(`${running.url}/demo-bot`);
      await page.getByLabel('Bot ID').fill('demo-bot');

      await page.getByRole('button', { name: 'Create bot' }).click();
      await page.getByText('Pick the app installation whose tokens the bot’s calls carry, or install one.').waitFor();
      await page
        .getByText('Enter the base URL and the bot id, and pick the app installation, to load the environments.')
        .waitFor();
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page
        .getByText('Enter the base URL and the bot id, and pick the app installation, to test the connection.')
        .waitFor();
      await appSelect().scrollIntoViewIfNeeded();
      await shot('02-form-app-required');

      // Installed in place: picked, the form kept, and no secret to copy.
      await page.getByLabel('New app', { exact: true }).fill('Spare app');
      await page.getByLabel('New app', { exact: true }).press('Enter');
      await page.getByText('Installed “Spare app” and picked it. The bot refers to the app').waitFor();
      const apps = (await admin.get(`/admin/v1/accounts/${acc}/apps`)).body.apps;
      spareApp = apps.find((a: { name: string }) => a.name === 'Spare app').client_id;
      assert.equal(await appSelect().inputValue(), spareApp);
      assert.equal(await page.getByText(/Copy the client secret/).count(), 0);
      assert.equal(new URL(page.url()).pathname, `/admin/accounts/${acc}/bots/new`, 'Enter did not submit the bot');
      assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Support bot');
      assert.deepEqual(await appSelect().locator('option').allTextContents(), [
        `Demo bot connector · ${demoApp.slice(0, 8)}…`,
        `Spare app · ${spareApp.slice(0, 8)}…`,
      ]);
      await shot('03-form-app-installed');

      // The demo account's app serves the bot as it is: nothing new to install, no secret to find.
      await appSelect().selectOption(demoApp);
      await page.getByText('2 environments offered by the service.').waitFor();
      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.locator('.notice-success', { hasText: 'Connection OK.' }).waitFor();
      await page.getByRole('button', { name: 'Create bot' }).click();
      await page.getByText('Bot created. It is offline until you start it.').waitFor();
      botId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
      const saved = (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body;
      assert.equal(saved.vendor.clientId, demoApp);

      // Editing shows the app it refers to.
      await page.getByText('2 environments offered by the service.').waitFor();
      assert.equal(await appSelect().inputValue(), demoApp);
      await page.getByRole('button', { name: 'Start bot' }).click();
      await page.getByText('Started. Status: ONLINE.').waitFor();
      await appSelect().scrollIntoViewIfNeeded();
      await shot('04-bot-on-app');
      assert.ok(sent.length > 0);
      assert.deepEqual(
        sent.filter((body) => /secret/i.test(body)),
        [],
      );
    });

    it('rotating the app’s secret lists its bots, shows each re-tested OK, and the started bot keeps answering', async () => {
      const conversation = await openConversation(running, acc, { skill: 'support' });
      const answeredAfter = (seq: number, text: RegExp) => (c: any) =>
        c.events.some((e: any) => e.sequence > seq && e.originator.role === 'BOT' && text.test(e.text ?? ''));
      let seq = await conversation.say('before the rotation');
      await waitForConversation(admin, acc, conversation.id, answeredAfter(seq, /before the rotation/), 'answered');

      await page.goto(`${running.url}/admin/accounts/${acc}/setup`);
      const row = appRow('Demo bot connector');
      await row.getByRole('link', { name: 'Support bot' }).waitFor();
      await row.getByRole('button', { name: 'Rotate secret' }).click();
      const asking = page.getByRole('dialog', { name: 'Rotate the secret of “Demo bot connector”?' });
      await asking
        .getByText(/The 2 bots that use this app keep working: they refer to the app, not its secret/)
        .waitFor();
      assert.deepEqual((await asking.getByRole('link').allTextContents()).sort(), ['Demo bot', 'Support bot']);
      await shot('05-rotate-asks');

      await asking.getByRole('button', { name: 'Rotate secret' }).click();
      const rotated = page.getByRole('dialog', { name: 'Secret of “Demo bot connector” rotated' });
      const tested = rotated.locator(`[data-bot="${botId}"]`);
      await tested.locator('.notice-success', { hasText: 'Connection OK.' }).waitFor();
      assert.match(await tested.innerText(), /Support bot[\s\S]*Online[\s\S]*State online/);
      assert.equal(await rotated.locator('[data-ok="false"]').count(), 0);
      assert.equal(await rotated.locator('[data-ok="true"]').count(), 2);
      await shot('06-rotate-tested');
      await rotated.getByRole('button', { name: 'Done' }).click();
      await rotated.waitFor({ state: 'detached' });

      seq = await conversation.say('after the rotation');
      const answered = await waitForConversation(
        admin,
        acc,
        conversation.id,
        answeredAfter(seq, /after the rotation/),
        'answered after the rotation',
      );
      assert.ok(botTexts(answered).includes('You said: after the rotation'), JSON.stringify(botTexts(answered)));
      assert.equal((await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body.status, 'ONLINE');

      // The app's bots link to their pages.
      await row.getByRole('link', { name: 'Support bot' }).click();
      await page.getByRole('heading', { name: 'Support bot' }).waitFor();
    });

    it('an app bots use is not removed, the server’s reason shown; an unused one is', async () => {
      await page.goto(`${running.url}/admin/accounts/${acc}/setup`);
      await appRow('Demo bot connector').getByRole('button', { name: 'Remove' }).click();
      const inUse = page.getByRole('dialog', { name: 'Remove “Demo bot connector”?' });
      await inUse.getByText(/Bots refer to it, and an app is not removed while bots do/).waitFor();
      await inUse.getByRole('button', { name: 'Remove app' }).click();
      const refusal = inUse.locator('.notice-error');
      await refusal.waitFor();
      assert.match(await refusal.innerText(), /Not removed: .*'Support bot'.*\(app-in-use, HTTP 409\)/);
      await shot('07-remove-refused');
      await inUse.getByRole('button', { name: 'Cancel' }).click();
      await inUse.waitFor({ state: 'detached' });
      await appRow('Demo bot connector').waitFor();

      await appRow('Spare app').getByText('none').waitFor();
      await appRow('Spare app').getByRole('button', { name: 'Remove' }).click();
      const unused = page.getByRole('dialog', { name: 'Remove “Spare app”?' });
      await unused.getByRole('button', { name: 'Remove app' }).click();
      await unused.waitFor({ state: 'detached' });
      await appRow('Spare app').waitFor({ state: 'detached' });
      await appRow('Demo bot connector').waitFor();
      const listed = (await admin.get(`/admin/v1/accounts/${acc}/apps`)).body.apps.map(
        (a: { client_id: string }) => a.client_id,
      );
      assert.deepEqual(listed, [demoApp]);
      assert.ok(!listed.includes(spareApp));
      await shot('08-unused-removed');
    });

    it('a bot whose app is gone says so, and saves once another app is picked', async () => {
      // As a bot saved before bots referred to apps can be: its client id names no app of the account.
      const legacy = await admin.post(`/admin/v1/accounts/${acc}/apps`, { name: 'Legacy app', scope: BOT_SCOPE });
      const created = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'Legacy bot',
        conversationType: 'MESSAGING',
        skills: ['support'],
        vendor: {
          type: 'CUSTOM_ENDPOINT',
          baseUrl: `${running.url}/demo-bot`,
          clientId: legacy.body.client_id,
          botId: 'demo-bot',
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await running.app.store.db.deleteFrom('apps').where('client_id', '=', legacy.body.client_id).execute();

      await page.goto(`${running.url}/admin/accounts/${acc}/bots/${created.body.id}`);
      await page.getByText(`This bot refers to app installation ${legacy.body.client_id}`).waitFor();
      assert.equal(await appSelect().inputValue(), legacy.body.client_id);
      assert.match(
        await appSelect().locator('option:checked').innerText(),
        /^[0-9a-f]{8}… · not in this account \(removed\)$/,
      );
      await page
        .getByText('Enter the base URL and the bot id, and pick the app installation, to load the environments.')
        .waitFor();
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page
        .getByText('This app installation is not in the account any more: pick another, or install one.')
        .waitFor();
      await appSelect().scrollIntoViewIfNeeded();
      await shot('09-bot-app-missing');

      await appSelect().selectOption(demoApp);
      await page.getByText(/This bot refers to app installation/).waitFor({ state: 'detached' });
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByText('Saved.').waitFor();
      assert.equal(
        (await admin.get(`/admin/v1/accounts/${acc}/bots/${created.body.id}`)).body.vendor.clientId,
        demoApp,
      );
    });
  });
}
