import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, launchBrowser, screenshot, type TestBrowser, signInAsOperator } from '../helpers/browser.js';

/**
 * Notices that follow what they describe (issue 25, item 4): a test conversation the demo bot
 * transfers to an agent, who sends it back to the bot's skill. The tester's "no longer answers
 * here" goes when the bot holds it again (and the bot answers), and the agent's "transferred to"
 * goes when the next conversation arrives.
 */
for (const kind of STORES) {
  describe(`console: a conversation sent back to the bot, the tester and the workspace follow (${kind})`, () => {
    const acc = 'acme';
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let browser: TestBrowser;
    let operator: Page;
    let agent: Page;
    let botId: string;
    let conversationId: string;
    const shot = (page: Page, name: string) => screenshot(page, `transfer-back-${kind}-${name}`);
    const handedOff = () => operator.getByText(/transferred this conversation to .*no longer answers/);

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      // The demo bot's "transfer" goes to "human".
      for (const name of ['bot', 'human'])
        assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name })).status, 201);
      const alice = await admin.post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'alice',
        password: 'correct horse',
        userType: 'HUMAN',
        skills: ['human'],
      });
      assert.equal(alice.status, 201);
      const app = await admin.post(`/admin/v1/accounts/${acc}/apps`, {
        name: 'demo bot',
        scope: 'thirdpartybots.customendpoint.bot',
      });
      assert.equal(app.status, 201);
      const bot = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'Support bot',
        conversationType: 'MESSAGING',
        skills: ['bot'],
        vendor: {
          type: 'CUSTOM_ENDPOINT',
          baseUrl: `${running.url}/demo-bot`,
          clientId: app.body.client_id,
          clientSecret: app.body.client_secret,
          botId: 'demo-bot',
          environment: 'draft',
        },
      });
      assert.equal(bot.status, 201);
      botId = bot.body.id;
      assert.equal((await admin.post(`/admin/v1/accounts/${acc}/bots/${botId}/start`)).status, 200);
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await running?.close();
      await store?.dispose();
    });

    it('the bot transfers a test conversation: the tester says where it went, and the agent accepts it', async () => {
      operator = await browser.page(DESKTOP);
      await signInAsOperator(operator, running.url);
      await operator.goto(`${running.url}/admin/accounts/${acc}/tester?bot=${botId}`);
      const input = operator.getByLabel('Message to the bot');
      await operator.waitForFunction((el) => !(el as HTMLTextAreaElement).disabled, await input.elementHandle());
      await input.fill('transfer');
      await input.press('Enter');
      await operator.getByText(/transferred this conversation to the “human” queue/).waitFor();
      const short = await operator.locator('.tester-chat-head code').innerText();

      agent = await browser.page(DESKTOP);
      await agent.goto(`${running.url}/`);
      await agent.getByLabel('Account').fill(acc);
      await agent.getByLabel('Username').fill('alice');
      await agent.getByLabel('Password', { exact: true }).fill('correct horse');
      await agent.getByRole('button', { name: 'Sign in as agent' }).click();
      const item = agent.locator(`[data-conversation^="${short}"]`);
      await item.waitFor();
      conversationId = (await item.getAttribute('data-conversation'))!;
      await item.getByRole('button', { name: /^Accept conversation/ }).click();
      await agent.getByLabel('Reply to the consumer').waitFor();
      // The tester follows the conversation: now an agent holds it.
      await operator.getByText(/transferred this conversation to an agent/).waitFor();
      await shot(operator, '01-tester-with-an-agent');
    });

    it('the agent sends it back to the bot’s skill: the tester’s notice goes, and the bot answers again', async () => {
      const form = agent.getByRole('form', { name: 'Transfer' });
      await form.getByLabel('Transfer to skill').selectOption('bot');
      await form.getByRole('button', { name: 'Transfer' }).click();
      const transferred = agent.getByText(/^Conversation #\S+ transferred to “bot”\.$/);
      await transferred.waitFor();
      await shot(agent, '02-workspace-transferred');
      const moved = await admin.get(`/admin/v1/accounts/${acc}/conversations/${conversationId}`);
      assert.deepEqual([moved.body.skill.name, moved.body.assignee?.botId], ['bot', botId]);

      await handedOff().waitFor({ state: 'detached' });
      const input = operator.getByLabel('Message to the bot');
      assert.equal(await input.isDisabled(), false);
      const answered = await operator.locator('.msg-bot').count();
      await input.fill('hi');
      await input.press('Enter');
      await operator.locator('.exchange-item', { hasText: '“hi”' }).locator('[data-outcome="PROCESSED"]').waitFor();
      await operator.waitForFunction((n) => document.querySelectorAll('.msg-bot').length > n, answered);
      assert.equal(await handedOff().count(), 0);
      await shot(operator, '03-tester-bot-answers-again');
    });

    it('the workspace’s “transferred to” goes when the next conversation arrives', async () => {
      const transferred = agent.getByText(/transferred to “bot”/);
      assert.equal(await transferred.count(), 1, 'still the news while nothing else came');
      const next = await client(running.url).post(`/api/account/${acc}/consumer/conversations`, { skill: 'human' });
      assert.equal(next.status, 201);
      await agent.locator(`[data-conversation="${next.body.conversationId}"]`).waitFor();
      await transferred.waitFor({ state: 'detached' });
      await shot(agent, '04-workspace-next-conversation');
    });
  });
}
