import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, PHONE, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';

/**
 * The consumer chat page and the agent workspace in a real browser. The bot side is played by
 * the platform itself (what the connector does once a bot answers: texts, structured content,
 * quick replies, a private text, typing, a transfer), so this walk-through needs no bot.
 */
for (const kind of STORES) {
  describe(`console: consumer chat and agent workspace (${kind})`, () => {
    const acc = 'acme';
    const bot = { role: 'BOT' as const };
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let browser: TestBrowser;
    let consumer: Page;
    let agent: Page;
    let conversationId: string;
    const shot = (page: Page, name: string) => screenshot(page, `chat-agent-${kind}-${name}`);

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      for (const name of ['sales-bot', 'human', 'escalation'])
        assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name })).status, 201);
      const user = await admin.post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'alice',
        password: 'correct horse',
        userType: 'HUMAN',
        skills: ['human', 'escalation'],
      });
      assert.equal(user.status, 201);
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await running?.close();
      await store?.dispose();
    });

    it('the consumer chat starts empty, opens a conversation on the first message and survives a reload', async () => {
      consumer = await browser.page(PHONE);
      await consumer.goto(`${running.url}/chat/${acc}?skill=sales-bot`);
      await consumer.getByText('How can we help?').waitFor();
      await shot(consumer, '01-consumer-empty');

      await consumer.getByLabel('Message', { exact: true }).fill('Hello, I need a plan');
      await consumer.getByRole('button', { name: 'Send' }).click();
      await consumer.locator('.msg-consumer .bubble', { hasText: 'Hello, I need a plan' }).waitFor();
      await consumer.getByText('Connected').waitFor();
      const stored = await consumer.evaluate(() => window.localStorage.getItem('botbridge.chat.acme.sales-bot'));
      conversationId = JSON.parse(stored!).conversationId;
      const conversation = await admin.get(`/admin/v1/accounts/${acc}/conversations/${conversationId}`);
      assert.equal(conversation.body.skill.name, 'sales-bot');
      assert.equal(conversation.body.events.at(-1).text, 'Hello, I need a plan');
      assert.ok(conversation.body.visitor.sharkVisitorId, 'the chat page sends a visitor id');

      await consumer.reload();
      await consumer.locator('.msg-consumer .bubble', { hasText: 'Hello, I need a plan' }).waitFor();
      const again = await consumer.evaluate(() => window.localStorage.getItem('botbridge.chat.acme.sales-bot'));
      assert.equal(JSON.parse(again!).conversationId, conversationId, 'same conversation after reload');
    });

    it('renders what a bot sends: typing, text, a card with json-pollock, quick replies; never private texts', async () => {
      const { conversations } = running.app;
      await conversations.typing(acc, conversationId, bot, true);
      await consumer.locator('[data-typing="BOT"]').waitFor();
      await shot(consumer, '02-consumer-bot-typing');
      await conversations.post(acc, conversationId, bot, { text: 'Happy to help! Here are our plans.' });
      await consumer.locator('[data-typing="BOT"]').waitFor({ state: 'detached' });
      await conversations.post(acc, conversationId, bot, {
        content: {
          type: 'vertical',
          elements: [
            { type: 'text', text: 'Basic plan', tooltip: 'Basic plan', style: { bold: true, size: 'large' } },
            { type: 'text', text: '10 GB, 5 € a month', tooltip: '10 GB' },
            {
              type: 'button',
              title: 'Choose Basic',
              tooltip: 'Choose Basic',
              click: { actions: [{ type: 'publishText', text: 'I choose Basic' }] },
            },
          ],
        },
      });
      await conversations.post(acc, conversationId, bot, {
        text: 'Customer is price sensitive',
        audience: 'AGENTS_AND_MANAGERS',
      });
      await conversations.post(acc, conversationId, bot, {
        text: 'Shall I order it?',
        quickReplies: {
          type: 'quickReplies',
          itemsPerRow: 8,
          replies: [
            {
              type: 'button',
              tooltip: 'Yes',
              title: 'Yes',
              click: { actions: [{ type: 'publishText', text: 'Yes please' }] },
            },
            {
              type: 'button',
              tooltip: 'No',
              title: 'No',
              click: { actions: [{ type: 'publishText', text: 'No thanks' }] },
            },
          ],
        },
      });

      const card = consumer.locator('.lp-json-pollock');
      await card.waitFor();
      assert.match(await card.innerText(), /Basic plan/);
      const replies = consumer.getByRole('group', { name: 'Quick replies' });
      await replies.getByRole('button', { name: 'Yes' }).waitFor();
      await shot(consumer, '03-consumer-structured-content');
      assert.equal(
        await consumer.getByText('Customer is price sensitive').count(),
        0,
        'a private text never reaches the consumer',
      );

      await card.getByRole('button', { name: 'Choose Basic' }).click();
      await consumer.locator('.msg-consumer .bubble', { hasText: 'I choose Basic' }).waitFor();
      // Quick replies belong to the latest message: after the card click they are gone.
      await replies.waitFor({ state: 'detached' });

      await conversations.post(acc, conversationId, bot, {
        text: 'Anything else?',
        quickReplies: {
          type: 'quickReplies',
          replies: [
            {
              type: 'button',
              title: 'Talk to a human',
              click: { actions: [{ type: 'publishText', text: 'transfer' }] },
            },
          ],
        },
      });
      await consumer
        .getByRole('group', { name: 'Quick replies' })
        .getByRole('button', { name: 'Talk to a human' })
        .click();
      await consumer.locator('.msg-consumer .bubble', { hasText: /^transfer$/ }).waitFor();

      const events = await conversations.events(acc, conversationId, { forConsumer: true });
      const consumerTexts = events.filter((e) => e.originator.role === 'CONSUMER').map((e) => e.text);
      assert.deepEqual(consumerTexts, ['Hello, I need a plan', 'I choose Basic', 'transfer']);
    });

    it('after a transfer the agent finds it in the queue, accepts, sees the bot history and the private text, and replies', async () => {
      const { conversations } = running.app;
      await conversations.updateSdes(
        acc,
        conversationId,
        { role: 'SYSTEM' },
        {
          unauthenticatedSdes: {
            customerInfo: { type: 'ctmrinfo', info: { customerId: 'cust-42', companyBranch: 'Berlin' } },
          },
        },
      );
      await conversations.post(acc, conversationId, bot, { text: 'Let me get you a human.' });
      await conversations.transfer(acc, conversationId, bot, { skill: 'human' });

      agent = await browser.page(DESKTOP);
      await agent.goto(`${running.url}/`);
      await agent.getByLabel('Account').fill(acc);
      await agent.getByLabel('Username').fill('alice');
      await agent.getByLabel('Password', { exact: true }).fill('correct horse');
      await agent.getByRole('button', { name: 'Sign in as agent' }).click();
      await agent.waitForURL(/\/agent$/);
      const item = agent.locator(`[data-conversation="${conversationId}"]`);
      await item.waitFor();
      assert.match(await item.innerText(), /Normal/);
      assert.match(await item.innerText(), /waiting \d+s/);
      await agent.getByRole('group', { name: 'Skill human' }).waitFor();
      await agent.getByText('Live').waitFor();
      await shot(agent, '04-agent-queue');

      await item.getByRole('button', { name: /^Accept conversation/ }).click();
      const history = agent.getByLabel('Conversation history');
      await history.getByText('Happy to help! Here are our plans.').waitFor();
      await history.locator('.lp-json-pollock').waitFor();
      const privateText = history.locator('.msg-private', { hasText: 'Customer is price sensitive' });
      await privateText.waitFor();
      assert.match(await privateText.innerText(), /Private · agents only/i);
      await history.getByText('Transferred to skill “human”').waitFor();
      const info = agent.getByRole('complementary', { name: 'Consumer' });
      await info.getByText('cust-42', { exact: false }).waitFor();
      await info.getByText('sharkVisitorId').waitFor();
      assert.equal(await item.count(), 0, 'accepted: no longer in the queue');

      // The consumer types; the agent sees it.
      await consumer.getByLabel('Message', { exact: true }).fill('still there?');
      await agent.locator('[data-typing="CONSUMER"]').waitFor();
      await consumer.getByLabel('Message', { exact: true }).fill('');

      await agent.getByLabel('Reply to the consumer').fill('Hi, this is Alice. Basic it is!');
      await agent.getByRole('button', { name: 'Send', exact: true }).click();
      await history.locator('.msg-agent .bubble', { hasText: 'Hi, this is Alice' }).waitFor();
      await shot(agent, '05-agent-conversation');

      await consumer.locator('.msg-agent .bubble', { hasText: 'Hi, this is Alice. Basic it is!' }).waitFor();
      await shot(consumer, '06-consumer-agent-reply');

      // A private note stays among agents.
      await agent.getByLabel('Private').check();
      await agent.getByLabel('Private note (agents only)').fill('Offer 10% if they hesitate');
      await agent.getByRole('button', { name: 'Add note' }).click();
      await history.locator('.msg-private', { hasText: 'Offer 10% if they hesitate' }).waitFor();
      await consumer.getByLabel('Message', { exact: true }).fill('Great, thanks');
      await consumer.getByLabel('Message', { exact: true }).press('Enter');
      await history.getByText('Great, thanks').waitFor();
      assert.equal(await consumer.getByText('Offer 10%').count(), 0);

      const conversation = await admin.get(`/admin/v1/accounts/${acc}/conversations/${conversationId}`);
      assert.equal(conversation.body.assignee.userType, 'HUMAN');
    });

    it('the agent closes; the consumer sees the end and can start a new conversation', async () => {
      await agent.getByRole('button', { name: 'Close conversation' }).click();
      await agent.getByRole('button', { name: 'Yes, close' }).click();
      await agent
        .getByLabel('Conversation history')
        .getByText(/Conversation closed/)
        .waitFor();
      await consumer.getByText('This conversation has ended.').waitFor();
      await shot(consumer, '07-consumer-ended');
      await agent.getByRole('button', { name: 'Done' }).click();
      await agent.getByText('No conversation selected').waitFor();

      // Reload still shows the ended conversation, then a fresh one starts on demand.
      await consumer.reload();
      await consumer.getByText('This conversation has ended.').waitFor();
      await consumer.getByRole('button', { name: 'Start a new conversation' }).click();
      await consumer.getByText('How can we help?').waitFor();
      await consumer.getByLabel('Message', { exact: true }).fill('Me again');
      await consumer.getByLabel('Message', { exact: true }).press('Enter');
      await consumer.locator('.msg-consumer .bubble', { hasText: 'Me again' }).waitFor();
      const stored = await consumer.evaluate(() => window.localStorage.getItem('botbridge.chat.acme.sales-bot'));
      assert.notEqual(JSON.parse(stored!).conversationId, conversationId);
    });

    it('the queue lists an URGENT conversation above a NORMAL one that waited longer', async () => {
      const open = async () =>
        (await client(running.url).post(`/api/account/${acc}/consumer/conversations`, { skill: 'human' })).body
          .conversationId as string;
      const waitedLonger = await open();
      const urgent = await open();
      await running.app.conversations.setTtr(acc, urgent, { role: 'SYSTEM' }, { ttrType: 'URGENT' });
      await agent.reload();
      const items = agent.locator('.queue-item');
      await agent.locator(`[data-conversation="${urgent}"]`).waitFor();
      const order = await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-conversation')));
      assert.ok(order.indexOf(urgent) < order.indexOf(waitedLonger), JSON.stringify(order));
      await agent.locator(`[data-conversation="${urgent}"] .ttr-urgent`).waitFor();
      await shot(agent, '08a-agent-queue-urgent-first');
      for (const id of [waitedLonger, urgent])
        await running.app.conversations.close(acc, id, { role: 'SYSTEM' }, { reason: 'SYSTEM' });
    });

    it('an agent transfers by picking a skill and an agent of it; away agents are marked; the picked agent gets it', async () => {
      for (const [loginName, skills] of [
        ['bob', ['escalation']],
        ['carol', ['escalation']],
      ] as const) {
        const made = await admin.post(`/admin/v1/accounts/${acc}/users`, {
          loginName,
          password: 'correct horse',
          userType: 'HUMAN',
          skills,
          maxConversations: 3,
        });
        assert.equal(made.status, 201);
      }
      // Bob logs in (online); Carol never does (away).
      const bobLogin = await client(running.url).post(`/api/account/${acc}/agent/login`, {
        username: 'bob',
        password: 'correct horse',
      });
      assert.equal(bobLogin.status, 200);
      const opened = await client(running.url).post(`/api/account/${acc}/consumer/conversations`, { skill: 'human' });
      const { conversationId: id } = opened.body;
      const queued = agent.locator(`[data-conversation="${id}"]`);
      await agent.reload();
      await queued.getByRole('button', { name: /Accept/ }).click();
      const form = agent.getByRole('form', { name: 'Transfer' });
      await form.getByLabel('Transfer to skill').selectOption('escalation');
      const options = await form.getByLabel('Agent').locator('option').allTextContents();
      assert.deepEqual(options, ['Anyone with the skill', 'bob', 'carol (away or full: waits in the queue)']);
      await form.getByLabel('Agent').selectOption({ label: 'bob' });
      await shot(agent, '08b-agent-transfer-picker');
      await form.getByRole('button', { name: 'Transfer' }).click();
      await agent.getByText(/transferred to “escalation”/).waitFor();
      const moved = await admin.get(`/admin/v1/accounts/${acc}/conversations/${id}`);
      assert.deepEqual([moved.body.skill.name, moved.body.assignee?.userId], ['escalation', bobLogin.body.user.id]);
    });

    it('the agent workspace works at phone width, and a chat link without a skill explains itself', async () => {
      const phoneAgent = await browser.page(PHONE);
      await phoneAgent.goto(`${running.url}/`);
      await phoneAgent.getByLabel('Account').fill(acc);
      await phoneAgent.getByLabel('Username').fill('alice');
      await phoneAgent.getByLabel('Password', { exact: true }).fill('correct horse');
      await phoneAgent.getByLabel('Password', { exact: true }).press('Enter');
      await phoneAgent.getByRole('heading', { name: /Queue/ }).waitFor();
      // A new conversation arrives live in the queue; on a phone the conversation replaces the queue.
      const opened = await client(running.url).post(`/api/account/${acc}/consumer/conversations`, { skill: 'human' });
      assert.equal(opened.status, 201);
      const waiting = phoneAgent.locator(`[data-conversation="${opened.body.conversationId}"]`);
      await waiting.waitFor();
      await shot(phoneAgent, '08-agent-phone-queue');
      await waiting.getByRole('button', { name: /^Accept conversation/ }).click();
      await phoneAgent.getByLabel('Reply to the consumer').waitFor();
      assert.equal(await phoneAgent.getByRole('heading', { name: /Queue/ }).isVisible(), false);
      await shot(phoneAgent, '08-agent-phone-conversation');
      await phoneAgent.getByRole('button', { name: '← Queue' }).click();
      await phoneAgent.getByRole('heading', { name: /Queue/ }).waitFor();

      await consumer.goto(`${running.url}/chat/${acc}`);
      await consumer.getByText('What would you like to chat about?').waitFor();
      // An unknown skill is named before anyone types, with no box to type into.
      await consumer.goto(`${running.url}/chat/${acc}?skill=nope`);
      await consumer.getByRole('alert').getByText("There is no 'nope' topic here.", { exact: false }).waitFor();
      assert.equal(await consumer.getByLabel('Message', { exact: true }).count(), 0);
      await shot(consumer, '09-consumer-unknown-skill');
    });
  });
}
