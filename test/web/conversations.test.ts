import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, launchBrowser, screenshot, type TestBrowser, signInAsOperator } from '../helpers/browser.js';
import { exchangesOf, openConversation, setupBot, waitForConversation } from '../helpers/connector.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';

/** Conversations a consumer started and wrote in, as the haystack the search looks through. */
const HAYSTACK = 1_000;
/** Opened this many at a time: the store's work, not the client's patience, sets the pace. */
const IN_FLIGHT = 16;

/**
 * "What did the bot say to this customer yesterday?": among a thousand conversations the operator
 * finds one by a word the customer wrote, reads it as its transcript beside the bot's exchanges,
 * and exports it; narrows the list by bot and status; and reaches the transcript from the
 * address alone (a deep link).
 */
for (const kind of STORES) {
  describe(`console: the Conversations page finds and shows past conversations (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let bot: TestBot;
    let browser: TestBrowser;
    let page: Page;
    let acc: string;
    let botId: string;
    let needle: string;
    const shot = (name: string) => screenshot(page, `conversations-${kind}-${name}`);

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, { logLevel: 'warn' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      bot = await new TestBot().start();
      bot.onEvent = (req: any) =>
        req.body?.data?.message?.includes('marmalade')
          ? reply(text('Your marmalade order ships on Monday.'), {
              type: 'STRUCTURED_CONTENT',
              data: {
                structuredContent: {
                  type: 'vertical',
                  elements: [
                    { type: 'text', text: 'Order 4711' },
                    { type: 'button', title: 'Track it', click: { actions: [{ type: 'publishText', text: 'track' }] } },
                  ],
                },
              },
            })
          : reply(text(`echo: ${req.body?.data?.message ?? req.body?.type}`));
      ({ acc, botId } = await setupBot(running, bot.url));

      // The haystack: conversations waiting for an agent (no bot), each with a consumer's message.
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < HAYSTACK) {
            const n = next++;
            const c = await openConversation(running, acc, { skill: 'human' });
            await c.say(`question number ${n} about my account`);
          }
        }),
      );
      // The needle, with the bot, then closed by the consumer.
      const found = await openConversation(running, acc);
      await found.say('where is my marmalade, I ordered it last week');
      await waitForConversation(
        admin,
        acc,
        found.id,
        (c) => c.events.some((e: any) => e.type === 'RICH_CONTENT'),
        'the bot answered with its card',
      );
      await exchangesOf(admin, acc, botId, found.id);
      assert.equal(
        (await found.consumer.post(`/api/account/${acc}/consumer/conversations/${found.id}/close`)).status,
        200,
      );
      needle = found.id;

      browser = await launchBrowser();
      page = await browser.page(DESKTOP);
      await signInAsOperator(page, running.url);
    });
    after(async () => {
      await browser?.close();
      await running?.close();
      await bot?.stop();
      await store?.dispose();
    });

    it('lists the newest conversations first and pages to older ones', async () => {
      await page.goto(`${running.url}/admin/accounts/${acc}/bots`);
      await page.getByRole('link', { name: 'Conversations' }).click();
      await page.getByRole('heading', { name: 'Conversations', level: 1 }).waitFor();
      const rows = page.locator('.conversation-table tbody tr');
      await rows.first().waitFor();
      assert.equal(await rows.count(), 25);
      // The needle was the last to start.
      assert.equal(await rows.first().getAttribute('data-conversation'), needle);
      await shot('01-list');
      await page.getByRole('button', { name: 'Show older conversations' }).click();
      await page.waitForFunction(() => document.querySelectorAll('.conversation-table tbody tr').length === 50);
      const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-conversation')));
      assert.equal(new Set(ids).size, 50, 'each conversation once');
    });

    it('finds the one conversation by a word its customer wrote, among a thousand, within a coarse bound', async () => {
      const words = page.getByRole('searchbox');
      await words.fill('Marmalade');
      const asked = Date.now();
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForFunction(
        (id) => {
          const rows = document.querySelectorAll('.conversation-table tbody tr');
          return rows.length === 1 && rows[0].getAttribute('data-conversation') === id;
        },
        needle,
        { timeout: 10_000 },
      );
      // Coarse: a search of this size answers in well under this on the slowest machine we run on.
      assert.ok(Date.now() - asked < 10_000, 'the search answered');
      assert.match(page.url(), /words=Marmalade/);
      const row = page.locator(`tr[data-conversation="${needle}"]`);
      assert.equal(await row.locator('mark').first().textContent(), 'marmalade');
      await row.getByText('Closed').first().waitFor();
      await shot('02-found-by-word');
    });

    it('narrows by bot and status', async () => {
      await page.goto(`${running.url}/admin/accounts/${acc}/conversations?bot=${botId}`);
      const rows = page.locator('.conversation-table tbody tr');
      await page.waitForFunction(() => document.querySelectorAll('.conversation-table tbody tr').length === 1);
      assert.equal(await rows.first().getAttribute('data-conversation'), needle);
      assert.equal(await page.getByLabel('Bot', { exact: true }).inputValue(), botId);
      await page.getByLabel('Bot', { exact: true }).selectOption('');
      await page.getByLabel('Status', { exact: true }).selectOption('CLOSED');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForFunction(() => /status=CLOSED/.test(window.location.search));
      await page.waitForFunction(() => document.querySelectorAll('.conversation-table tbody tr').length === 1);
      await page.getByLabel('Status', { exact: true }).selectOption('OPEN');
      await page.getByLabel('Words', { exact: true }).fill('question number 999');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.waitForFunction(() => {
        const rows = document.querySelectorAll('.conversation-table tbody tr');
        return rows.length === 1 && rows[0].textContent?.includes('question number 999');
      });
      await page.getByLabel('Words', { exact: true }).fill('nothing like this anywhere');
      await page.getByRole('button', { name: 'Search' }).click();
      await page.getByText('No conversation matches').waitFor();
      await shot('03-nothing-matches');
    });

    it('opens a conversation as its transcript beside the bot’s exchanges, and exports it as JSON', async () => {
      // A deep link: the address alone opens it.
      await page.goto(`${running.url}/admin/accounts/${acc}/conversations/${needle}`);
      const transcript = page.getByRole('log', { name: 'Transcript of the conversation' });
      await transcript.getByText('where is my marmalade, I ordered it last week').waitFor();
      await transcript.getByText('Your marmalade order ships on Monday.').waitFor();
      // Structured content is rendered, not shown as JSON.
      await transcript.getByText('Order 4711').waitFor();
      await transcript.getByText(/Conversation closed/).waitFor();
      await page.locator('.exchange-item').first().waitFor();
      assert.ok((await page.locator('.exchange-item').count()) >= 1);
      await page.getByText('Processed: every item of the answer was valid and delivered.').waitFor();
      await shot('04-transcript');

      const download = page.waitForEvent('download');
      await page.getByRole('button', { name: 'Export as JSON' }).click();
      const file = await download;
      assert.equal(file.suggestedFilename(), `conversation-${needle}.json`);
      const exported = JSON.parse(readFileSync((await file.path())!, 'utf8'));
      assert.equal(exported.conversation.conversationId, needle);
      assert.ok(exported.conversation.events.some((e: any) => e.text === 'Your marmalade order ships on Monday.'));
      assert.ok(exported.exchanges.length >= 1);
      assert.ok(exported.exchanges.every((x: any) => x.conversationId === needle));
    });

    it('says so when a conversation does not exist', async () => {
      await page.goto(`${running.url}/admin/accounts/${acc}/conversations/no-such-conversation`);
      await page.getByText('Could not load the conversation').waitFor();
      await page.getByText(/unknown conversation/).waitFor();
    });
  });
}
