import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, PHONE, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { TestBot } from '../helpers/test-bot.js';
import { until } from '../helpers/wait.js';

/** A loopback port nothing listens on: the "broken URL" of a bot. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * The operator's walk-through in a real browser, against the built-in demo bot: create a Custom
 * Endpoint bot, see the environment list, test the connection (and a broken URL's reason), start
 * it, chat in the tester, then a consumer on the chat page is transferred to a human agent.
 */
for (const kind of STORES) {
  describe(`console: bots, tester, transfer to an agent (${kind})`, () => {
    const acc = 'acme';
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let browser: TestBrowser;
    let page: Page;
    let app: { client_id: string; client_secret: string };
    let botId: string;
    let flaky: TestBot;
    const shot = (p: Page, name: string) => screenshot(p, `bots-${kind}-${name}`);
    const botMessage = (p: Page, text: string | RegExp) => p.locator('.msg-bot', { hasText: text }).first();

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: 'other' })).status, 201);
      for (const name of ['bot', 'flaky', 'human', 'escalation'])
        assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name })).status, 201);
      const agent = await admin.post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'alice',
        password: 'correct horse',
        userType: 'HUMAN',
        skills: ['human', 'escalation'],
      });
      assert.equal(agent.status, 201);
      const created = await admin.post(`/admin/v1/accounts/${acc}/apps`, {
        name: 'demo bot',
        scope: 'thirdpartybots.customendpoint.bot',
      });
      assert.equal(created.status, 201);
      app = created.body;
      browser = await launchBrowser();
      page = await browser.page(DESKTOP);
    });
    after(async () => {
      await flaky?.stop();
      await browser?.close();
      await running?.close();
      await store?.dispose();
    });

    it('the admin signs in with the token and picks the account', async () => {
      await page.goto(`${running.url}/`);
      await page.getByLabel('Admin token').fill('wrong');
      await page.getByRole('button', { name: 'Sign in as operator' }).click();
      await page.getByText('That admin token is not valid.').waitFor();
      await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await page.getByRole('button', { name: 'Sign in as operator' }).click();
      await page.getByRole('heading', { name: 'Accounts' }).waitFor();
      await page.getByRole('link', { name: /other/ }).waitFor();
      await shot(page, '01-accounts');
      await page.getByRole('link', { name: new RegExp(`^${acc}`) }).click();
      await page.getByText('No bots yet').waitFor();
      await shot(page, '02-bots-empty');
    });

    it('creates a Custom Endpoint bot: the environment list loads, test connection passes, a broken URL names the reason', async () => {
      await page.getByRole('link', { name: 'Create your first bot' }).click();
      await page.getByLabel('Name', { exact: true }).fill('Support bot');
      await page.getByRole('checkbox', { name: 'bot', exact: true }).check();
      const baseUrl = page.getByLabel('Base URL');
      await baseUrl.fill(`${running.url}/demo-bot/`);
      // The bot refers to the app: picked, no secret typed.
      await page.getByLabel('App installation', { exact: true }).selectOption(app.client_id);
      await page.getByLabel('Bot ID').fill('demo-bot');
      await page.getByLabel('Escalation skill').selectOption('escalation');

      // A trailing slash is refused before anything is sent.
      await page.getByRole('button', { name: 'Create bot' }).click();
      await page.getByText('Starts with http:// or https://, and has no trailing “/”.').waitFor();
      await baseUrl.fill(`${running.url}/demo-bot`);

      const environment = page.getByLabel('Environment');
      await page.getByText('2 environments offered by the service.').waitFor();
      assert.deepEqual(await environment.locator('option').allTextContents(), ['draft', 'production']);
      await environment.selectOption('production');
      await environment.selectOption('draft');

      await page.getByRole('button', { name: 'Test connection' }).click();
      const ok = page.locator('.notice-success', { hasText: 'Connection OK.' });
      await ok.waitFor();
      assert.match(await ok.innerText(), /State online, version 1\.0\.0/);
      await shot(page, '03-bot-form-connection-ok');

      const port = await closedPort();
      await baseUrl.fill(`http://127.0.0.1:${port}/demo-bot`);
      await page.getByText(/Could not load the environments:/).waitFor();
      await page.getByRole('button', { name: 'Test connection' }).click();
      const failed = page.locator('.notice-error', { hasText: 'Connection failed:' });
      await failed.waitFor();
      const reason = await failed.innerText();
      assert.match(reason, /vendor-unreachable|ECONNREFUSED|connect|refused|unreachable/i, reason);
      await failed.scrollIntoViewIfNeeded();
      await shot(page, '04-bot-form-broken-url');

      await baseUrl.fill(`${running.url}/demo-bot`);
      await page.getByText('2 environments offered by the service.').waitFor();
      await page.getByRole('button', { name: 'Create bot' }).click();
      await page.getByText('Bot created. It is offline until you start it.').waitFor();
      botId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
      const saved = await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`);
      assert.equal(saved.status, 200);
      assert.equal(saved.body.name, 'Support bot');
      assert.deepEqual(saved.body.skills, ['bot']);
      assert.equal(saved.body.vendor.baseUrl, `${running.url}/demo-bot`);
      assert.equal(saved.body.vendor.environment, 'draft');
      assert.equal(saved.body.escalation.skill, 'escalation');
      assert.equal(saved.body.status, 'OFFLINE');
    });

    it('edits a setting keeping its app, starts the bot and sees it online in the list', async () => {
      // The saved bot's environments come through the bot route; its app is shown picked.
      assert.equal(await page.getByLabel('App installation', { exact: true }).inputValue(), app.client_id);
      await page.getByText('2 environments offered by the service.').waitFor();
      await page.getByLabel('Send a welcome event').check();
      await page.getByRole('button', { name: 'Save changes' }).click();
      await page.getByText('Saved.').waitFor();
      assert.equal((await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body.welcomeEvent, true);

      await page.getByRole('button', { name: 'Test connection' }).click();
      await page.locator('.notice-success', { hasText: 'Connection OK.' }).waitFor();
      await page.getByRole('button', { name: 'Start bot' }).click();
      await page.getByText('Started. Status: ONLINE.').waitFor();
      await page.locator('.page-head [data-status="ONLINE"]').waitFor();
      await shot(page, '05-bot-started');

      await page.getByRole('link', { name: '← All bots' }).click();
      const row = page.locator(`[data-bot="${botId}"]`);
      await row.locator('[data-status="ONLINE"]').waitFor();
      assert.match(await row.innerText(), /Support bot/);
      await shot(page, '06-bots-online');
    });

    it('the list follows each bot live: a refused start names the reason, a vendor interruption shows with its last error, stop', async () => {
      flaky = await new TestBot().start();
      const vendor = {
        type: 'CUSTOM_ENDPOINT',
        clientId: app.client_id,
        environment: 'draft',
      };
      const flakyBot = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'Flaky bot',
        conversationType: 'MESSAGING',
        skills: ['flaky'],
        vendor: { ...vendor, baseUrl: flaky.url, botId: 'flaky' },
      });
      assert.equal(flakyBot.status, 201);
      assert.equal((await admin.post(`/admin/v1/accounts/${acc}/bots/${flakyBot.body.id}/start`)).status, 200);
      const broken = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'Broken bot',
        conversationType: 'MESSAGING',
        skills: ['flaky'],
        vendor: { ...vendor, baseUrl: `http://127.0.0.1:${await closedPort()}/bot`, botId: 'broken' },
      });
      assert.equal(broken.status, 201);

      await page.reload();
      const flakyRow = page.locator(`[data-bot="${flakyBot.body.id}"]`);
      const brokenRow = page.locator(`[data-bot="${broken.body.id}"]`);
      await flakyRow.locator('[data-status="ONLINE"]').waitFor();
      await brokenRow.locator('[data-status="OFFLINE"]').waitFor();

      await brokenRow.getByRole('button', { name: 'Start Broken bot' }).click();
      const refused = brokenRow.locator('.notice-error');
      await refused.waitFor();
      assert.match(await refused.innerText(), /Could not start: test connection failed: .*unreachable/i);
      await brokenRow.locator('.last-error code', { hasText: 'vendor-unreachable' }).waitFor();
      await brokenRow.locator('[data-status="OFFLINE"]').waitFor();

      // The service starts failing: the next exchange interrupts the bot, and the list shows it.
      flaky.onEvent = () => ({ status: 500, json: { error: 'boom' } });
      flaky.onState = () => ({ status: 503, json: { error: 'down' } });
      const opened = await client(running.url).post(`/api/account/${acc}/consumer/conversations`, { skill: 'flaky' });
      assert.equal(opened.status, 201);
      const consumerHttp = client(running.url, { token: opened.body.consumerToken });
      assert.equal(
        (
          await consumerHttp.post(`/api/account/${acc}/consumer/conversations/${opened.body.conversationId}/messages`, {
            text: 'hello?',
          })
        ).status,
        201,
      );
      await flakyRow.locator('[data-status="VENDOR_INTERRUPTION"]').waitFor();
      await flakyRow.locator('.last-error code', { hasText: 'vendor-http-error' }).waitFor();
      await shot(page, '07-bots-vendor-interruption');

      // It recovers by itself once its endpoint is back; the list follows.
      flaky.onEvent = () => ({ json: { response: [{ type: 'TEXT', data: { message: 'back' } }] } });
      flaky.onState = () => ({ json: { state: 'online', version: '2.0.0' } });
      await flakyRow.locator('[data-status="ONLINE"]').waitFor();
      // It holds the conversation above: stopping asks first.
      const asked = new Promise<string>((resolve) =>
        page.once('dialog', (dialog) => {
          resolve(dialog.message());
          void dialog.accept();
        }),
      );
      await flakyRow.getByRole('button', { name: 'Stop Flaky bot' }).click();
      assert.match(await asked, /holds 1 open conversation, which it stops answering/);
      await flakyRow.locator('[data-status="OFFLINE"]').waitFor();
      assert.equal((await admin.get(`/admin/v1/accounts/${acc}/bots/${flakyBot.body.id}`)).body.status, 'OFFLINE');
    });

    it('in the tester, "hi" is answered and marked Processed, quick replies send their text, an invalid answer shows its error code', async () => {
      await page
        .locator(`[data-bot="${botId}"]`)
        .getByRole('link', { name: /^Test / })
        .click();
      await page.getByRole('heading', { name: 'Conversation tester' }).waitFor();
      const input = page.getByLabel('Message to the bot');
      await expectEnabled(input);
      // The welcome event turned on above: the bot greets first.
      await page.locator('.exchange-item', { hasText: 'START' }).waitFor();

      await input.fill('hi');
      await input.press('Enter');
      const hiExchange = page.locator('.exchange-item', { hasText: '“hi”' });
      await hiExchange.locator('[data-outcome="PROCESSED"]').waitFor();
      await botMessage(page, /say|help|try/i).waitFor();
      await hiExchange.click();
      await page.getByText('Processed: every item of the answer was valid and delivered.').waitFor();
      await shot(page, '08-tester-hi-processed');

      await input.fill('quick replies');
      await input.press('Enter');
      const replies = page.getByRole('group', { name: 'Quick replies' });
      await replies.getByRole('button', { name: 'Show a card' }).click();
      await page.locator('.msg-consumer .bubble', { hasText: /^card$/ }).waitFor();
      await page.locator('.tester-chat .lp-json-pollock').first().waitFor();
      await page.locator('.exchange-item', { hasText: '“card”' }).locator('[data-outcome="PROCESSED"]').waitFor();
      await shot(page, '09-tester-quick-replies-card');

      await input.fill('invalid');
      await input.press('Enter');
      const invalid = page.locator('.exchange-item', { hasText: '“invalid”' });
      await invalid.waitFor();
      await invalid.click();
      const error = page.locator('.error-item[data-code="common-invalid-delay-body"]');
      await error.waitFor();
      assert.match(await error.innerText(), /How to fix:/);
      const highlighted = page.locator('.json-hl');
      await highlighted.waitFor();
      assert.match(await highlighted.innerText(), /"seconds"/);
      await botMessage(page, 'still arrives').waitFor();
      await error.scrollIntoViewIfNeeded();
      await shot(page, '10-tester-invalid-error-code');

      // Private texts are hidden until asked for.
      await input.fill('private');
      await input.press('Enter');
      await botMessage(page, 'left a private note').waitFor();
      assert.equal(await page.locator('.msg-private').count(), 0);
      await page.getByLabel('Show private texts').check();
      await page.locator('.msg-private', { hasText: 'Private note for agents' }).waitFor();
      await shot(page, '11-tester-private-texts');

      // One click for a fresh conversation.
      const before = await page.locator('.tester-chat-head code').innerText();
      await page.getByRole('button', { name: 'Restart conversation' }).first().click();
      await page.waitForFunction(
        (old) => document.querySelector('.tester-chat-head code')?.textContent !== old,
        before,
      );
      await page.locator('.exchange-item', { hasText: 'START' }).waitFor();
      assert.equal(await page.locator('.msg-consumer').count(), 0);
    });

    it('a 10,000-character message keeps the tester within the viewport; 20 restarts never show the new conversation ended, and leave one open', async () => {
      const input = page.getByLabel('Message to the bot');
      await expectEnabled(input);
      const long = `${'long'.repeat(2_499)}end!`;
      assert.equal(long.length, 10_000);
      await input.fill(long);
      await input.press('Enter');
      await page.locator('.msg-consumer .bubble', { hasText: 'end!' }).waitFor();
      const exchange = page.locator('.exchange-item', { hasText: 'longlong' });
      await exchange.locator('[data-outcome]').waitFor();
      await exchange.click();
      await page.locator('.exchange-detail .json-view').first().waitFor();
      const overflow = await page.evaluate(() => {
        const card = document.querySelector('.tester-log')!.getBoundingClientRect();
        const sticking = [...document.querySelectorAll('.json-view')]
          .map((e) => e.getBoundingClientRect().right - card.right)
          .filter((d) => d > 0.5);
        return { page: document.documentElement.scrollWidth, viewport: window.innerWidth, sticking };
      });
      assert.ok(
        overflow.page <= overflow.viewport,
        `page ${overflow.page} px wide in a ${overflow.viewport} px viewport`,
      );
      assert.deepEqual(overflow.sticking, [], 'JSON blocks stick out of the exchanges card');
      await shot(page, '11b-tester-long-message');

      const bots = () => admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`);
      for (let i = 0; i < 20; i++) {
        const before = await page.locator('.tester-chat-head code').innerText();
        await page.getByRole('button', { name: 'Restart conversation' }).first().click();
        await page.waitForFunction(
          (old) => document.querySelector('.tester-chat-head code')?.textContent !== old,
          before,
        );
        // The welcome answer arrives on the new conversation; whatever the old one's close did, this one is live.
        await page.locator('.exchange-item', { hasText: 'START' }).waitFor();
        await expectEnabled(input);
        assert.equal(await page.getByText('This test conversation has ended.').count(), 0, `restart ${i + 1}`);
      }
      // Every restart ended the conversation before: the bot holds the tester's one alone.
      assert.equal((await bots()).body.openConversations, 1);
    });

    it('a transfer in the tester says the bot no longer answers; leaving the page ends the test conversation', async () => {
      const input = page.getByLabel('Message to the bot');
      await input.fill('transfer');
      await input.press('Enter');
      await page.getByText(/transferred this conversation to .*no longer answers/).waitFor();
      // System lines show without asking for private texts.
      await page
        .locator('.transcript')
        .getByText(/transfer/i)
        .first()
        .waitFor();
      await shot(page, '11c-tester-transferred');
      const held = async () => (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body.openConversations;
      await page.getByRole('button', { name: 'Restart conversation' }).first().click();
      await page.locator('.exchange-item', { hasText: 'START' }).waitFor();
      assert.equal(await held(), 1);
      // Closing the tab: the page says so on its way out.
      const leaving = await browser.page(DESKTOP);
      await leaving.goto(`${running.url}/`);
      await leaving.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await leaving.getByLabel('Admin token').press('Enter');
      await leaving.getByRole('heading', { name: 'Accounts' }).waitFor();
      await leaving.goto(`${running.url}/admin/accounts/${acc}/tester?bot=${botId}`);
      await leaving.locator('.exchange-item', { hasText: 'START' }).waitFor();
      assert.equal(await held(), 2);
      await leaving.close({ runBeforeUnload: true });
      await until('the closed tab’s test conversation ended', async () => (await held()) === 1);
    });

    it('the tester and the bots page work on a phone-width screen', async () => {
      const phone = await browser.page(PHONE);
      await phone.goto(`${running.url}/`);
      await phone.getByLabel('Admin token').fill(ADMIN_TOKEN);
      await phone.getByLabel('Admin token').press('Enter');
      await phone.getByRole('heading', { name: 'Accounts' }).waitFor();
      await phone.goto(`${running.url}/admin/accounts/${acc}/bots`);
      await phone.locator(`[data-bot="${botId}"] [data-status="ONLINE"]`).waitFor();
      await shot(phone, '12-bots-phone');
      await phone.goto(`${running.url}/admin/accounts/${acc}/tester?bot=${botId}`);
      const input = phone.getByLabel('Message to the bot');
      await expectEnabled(input);
      await input.fill('hi');
      await input.press('Enter');
      await phone.locator('.exchange-item', { hasText: '“hi”' }).locator('[data-outcome="PROCESSED"]').waitFor();
      await shot(phone, '13-tester-phone');
    });

    it('on the consumer chat page, "transfer" puts the conversation in the agent’s queue; the agent sees the history and private text, replies, the consumer sees it', async () => {
      const consumer = await browser.page(PHONE);
      await consumer.goto(`${running.url}/chat/${acc}?skill=bot`);
      const message = consumer.getByLabel('Message', { exact: true });
      await message.fill('hi');
      await message.press('Enter');
      await botMessage(consumer, /help|try|say/i).waitFor();
      await message.fill('private');
      await message.press('Enter');
      await botMessage(consumer, 'left a private note').waitFor();
      assert.equal(await consumer.getByText('Private note for agents').count(), 0);
      await message.fill('transfer');
      await message.press('Enter');
      await botMessage(consumer, /transferring you/i).waitFor();
      await shot(consumer, '14-consumer-transfer');

      const stored = await consumer.evaluate((key) => window.localStorage.getItem(key), `botbridge.chat.${acc}.bot`);
      const conversationId: string = JSON.parse(stored!).conversationId;
      const agent = await browser.page(DESKTOP);
      await agent.goto(`${running.url}/`);
      await agent.getByLabel('Account').fill(acc);
      await agent.getByLabel('Username').fill('alice');
      await agent.getByLabel('Password', { exact: true }).fill('wrong horse');
      await agent.getByRole('button', { name: 'Sign in as agent' }).click();
      await agent.getByText('Wrong username or password.').waitFor();
      await agent.getByLabel('Password', { exact: true }).fill('correct horse');
      await agent.getByRole('button', { name: 'Sign in as agent' }).click();
      const item = agent.locator(`[data-conversation="${conversationId}"]`);
      await item.waitFor();
      await shot(agent, '15-agent-queue');
      await item.getByRole('button', { name: /^Accept conversation/ }).click();

      const history = agent.getByLabel('Conversation history');
      await history.locator('.msg-consumer .bubble', { hasText: /^hi$/ }).waitFor();
      await history.locator('.msg-bot', { hasText: /transferring you/i }).waitFor();
      const privateText = history.locator('.msg-private', { hasText: 'Private note for agents' });
      await privateText.waitFor();
      assert.match(await privateText.innerText(), /Private · agents only/i);
      await agent.getByLabel('Reply to the consumer').fill('Hello, Alice here. How can I help?');
      await agent.getByRole('button', { name: 'Send', exact: true }).click();
      await history.locator('.msg-agent', { hasText: 'Alice here' }).waitFor();
      await shot(agent, '16-agent-conversation');

      await consumer.locator('.msg-agent .bubble', { hasText: 'Hello, Alice here. How can I help?' }).waitFor();
      await shot(consumer, '17-consumer-agent-reply');
    });
  });
}

async function expectEnabled(locator: ReturnType<Page['getByLabel']>): Promise<void> {
  await locator.waitFor();
  await locator.page().waitForFunction((el) => !(el as HTMLTextAreaElement).disabled, await locator.elementHandle());
}
