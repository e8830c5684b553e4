import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, launchBrowser, screenshot, type TestBrowser, signInAsOperator } from '../helpers/browser.js';

/**
 * The bot form as a newcomer meets it (issue 25, items 3 and 4): an account without skills gets
 * its first one from the form itself, and the form keeps what was typed; a skill agents serve, or
 * an escalation skill a bot serves, is warned about, since bots are routed first; "Bot created. It
 * is offline until you start it." lasts until the bot is started.
 */
for (const kind of STORES) {
  describe(`console: the bot form's skills, routing warnings and created notice (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let browser: TestBrowser;
    let page: Page;
    let salesBotId: string;
    const shot = (name: string) => screenshot(page, `bot-form-${kind}-${name}`);
    const skillsOf = async (acc: string) =>
      (await admin.get(`/admin/v1/accounts/${acc}/skills`)).body.skills.map((s: { name: string }) => s.name).sort();

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      for (const accountId of ['fresh', 'acme'])
        assert.equal((await admin.post('/admin/v1/accounts', { accountId })).status, 201);
      // acme: agents on "human" and "escalation", a bot on "sales".
      for (const name of ['human', 'escalation', 'sales'])
        assert.equal((await admin.post('/admin/v1/accounts/acme/skills', { name })).status, 201);
      for (const [loginName, skills] of [
        ['alice', ['human', 'escalation']],
        ['bob', ['human']],
      ] as const) {
        const agent = await admin.post('/admin/v1/accounts/acme/users', {
          loginName,
          password: 'correct horse',
          userType: 'HUMAN',
          skills,
        });
        assert.equal(agent.status, 201);
      }
      const acmeApp = await admin.post('/admin/v1/accounts/acme/apps', {
        name: 'sales bot',
        scope: 'thirdpartybots.customendpoint.bot',
      });
      assert.equal(acmeApp.status, 201);
      const sales = await admin.post('/admin/v1/accounts/acme/bots', {
        name: 'Sales bot',
        conversationType: 'MESSAGING',
        skills: ['sales'],
        vendor: {
          type: 'CUSTOM_ENDPOINT',
          baseUrl: `${running.url}/demo-bot`,
          clientId: acmeApp.body.client_id,
          botId: 'demo-bot',
          environment: 'draft',
        },
      });
      assert.equal(sales.status, 201);
      salesBotId = sales.body.id;
      browser = await launchBrowser();
      page = await browser.page(DESKTOP);
      await signInAsOperator(page, running.url);
    });
    after(async () => {
      await browser?.close();
      await running?.close();
      await store?.dispose();
    });

    it('an account without skills gets its first one from the bot form: created, ticked, and the form kept', async () => {
      const app = await admin.post('/admin/v1/accounts/fresh/apps', {
        name: 'first bot',
        scope: 'thirdpartybots.customendpoint.bot',
      });
      assert.equal(app.status, 201);
      await page.goto(`${running.url}/admin/accounts/fresh/bots/new`);
      await page.getByText('This account has no skills yet: create the first one below.').waitFor();
      await page.getByLabel('Name', { exact: true }).fill('First bot');
      await page.getByLabel('Base URL').fill(`${running.url}/demo-bot`);
      await page.getByLabel('App installation', { exact: true }).selectOption(app.body.client_id);
      await page.getByLabel('Bot ID').fill('demo-bot');

      await page.getByLabel('New skill').fill('support');
      await page.getByRole('button', { name: 'Create skill' }).click();
      const support = page.getByRole('checkbox', { name: 'support', exact: true });
      await support.waitFor();
      assert.equal(await support.isChecked(), true, 'the new skill is ticked');
      assert.equal(await page.getByLabel('New skill').inputValue(), '');
      await shot('01-skill-created-in-form');

      // Enter in the skill box creates the skill; it does not submit the bot form.
      await page.getByLabel('New skill').fill('human');
      await page.getByLabel('New skill').press('Enter');
      await page.getByRole('checkbox', { name: 'human', exact: true }).waitFor();
      assert.equal(await page.getByText('Some settings need attention').count(), 0);
      // A refusal says the API's reason and keeps the typed name.
      await page.getByLabel('New skill').fill('support');
      await page.getByRole('button', { name: 'Create skill' }).click();
      await page.getByText(/Not created: .*already exists/).waitFor();
      assert.equal(await page.getByLabel('New skill').inputValue(), 'support');
      await shot('02-skill-refused');
      assert.deepEqual(await skillsOf('fresh'), ['human', 'support']);

      // Everything typed before is still there; the new skills are offered as the escalation skill too.
      assert.equal(new URL(page.url()).pathname, '/admin/accounts/fresh/bots/new');
      assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'First bot');
      assert.equal(await page.getByLabel('Bot ID').inputValue(), 'demo-bot');
      await page.getByRole('checkbox', { name: 'human', exact: true }).uncheck();
      await page.getByLabel('Escalation skill').selectOption('human');
      await page.getByText('2 environments offered by the service.').waitFor();
      await page.getByRole('button', { name: 'Create bot' }).click();
      await page.getByText('Bot created. It is offline until you start it.').waitFor();
      const botId = decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
      const saved = (await admin.get(`/admin/v1/accounts/fresh/bots/${botId}`)).body;
      assert.deepEqual([saved.name, saved.skills, saved.escalation.skill], ['First bot', ['support'], 'human']);
      await shot('03-bot-created-offline');
    });

    it('“Bot created. It is offline until you start it.” goes once the bot is started', async () => {
      await page.getByRole('button', { name: 'Start bot' }).click();
      await page.getByText('Started. Status: ONLINE.').waitFor();
      await page.locator('.page-head [data-status="ONLINE"]').waitFor();
      await page.getByText('Bot created. It is offline until you start it.').waitFor({ state: 'detached' });
      await shot('04-bot-started');
    });

    it('warns when a skill the bot serves is one agents serve, and when its escalation skill is served by a bot', async () => {
      await page.goto(`${running.url}/admin/accounts/acme/bots/new`);
      await page.getByLabel('Name', { exact: true }).fill('Support bot');
      const agentsServe = page.locator('.notice-warning', { hasText: /^Agents serve “human” too/ });
      await page.getByRole('checkbox', { name: 'human', exact: true }).check();
      await agentsServe.waitFor();
      assert.match(await agentsServe.innerText(), /\(alice and bob\)\. Bots are routed first/);
      assert.match(await agentsServe.innerText(), /escalations and transfers to it included/);
      await shot('05-warning-agents-serve-skill');
      await page.getByRole('checkbox', { name: 'human', exact: true }).uncheck();
      await agentsServe.waitFor({ state: 'detached' });

      // The reverse trap: escalating to a skill a bot serves (this one or another) sends it back to a bot.
      await page.getByLabel('New skill').fill('support');
      await page.getByLabel('New skill').press('Enter');
      await page.getByRole('checkbox', { name: 'support', exact: true }).waitFor();
      const escalation = page.getByLabel('Escalation skill');
      await escalation.selectOption('support');
      const backToItself = page.getByText(/^This bot serves “support” itself\./);
      await backToItself.waitFor();
      await backToItself.scrollIntoViewIfNeeded();
      await shot('06-warning-escalation-to-own-skill');
      await escalation.selectOption('sales');
      await backToItself.waitFor({ state: 'detached' });
      await page.getByText(/^“sales” is served by bot “Sales bot”\. Bots are routed first/).waitFor();
      await shot('07-warning-escalation-to-a-bot-skill');
      await escalation.selectOption('escalation');
      await page.getByText(/is served by bot|serves “support” itself/).waitFor({ state: 'detached' });
      assert.equal(await page.locator('.bot-form .notice-warning').count(), 0);

      // Editing a bot: its own skills are the form's, not "another bot's".
      await page.goto(`${running.url}/admin/accounts/acme/bots/${salesBotId}`);
      await page.getByLabel('Escalation skill').selectOption('sales');
      await page.getByText(/^This bot serves “sales” itself\./).waitFor();
      assert.equal(await page.getByText('is served by bot “Sales bot”').count(), 0);
    });
  });
}
