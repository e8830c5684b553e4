import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, launchBrowser, screenshot, type TestBrowser, signInAsOperator } from '../helpers/browser.js';
import { openConversation, setupBot, waitForConversation } from '../helpers/connector.js';
import { TestBot } from '../helpers/test-bot.js';

/**
 * A new bot's dashboard after a known set of conversations: it opens on the window that shows
 * them, every tile equals what happened (the tester's conversation counted like any other), the
 * open-conversations chart ends where "Open now" is, and a close shows without a reload.
 */
for (const kind of STORES) {
  describe(`console: the dashboard agrees with what happened (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let bot: TestBot;
    let browser: TestBrowser;
    let page: Page;
    let acc: string;
    let botId: string;
    let stillOpen: Awaited<ReturnType<typeof openConversation>>;
    const tile = (name: string) => page.locator(`[data-tile="${name}"] .tile-value`);
    const tileIs = (name: string, value: string) =>
      page.waitForFunction(
        ([n, v]) => document.querySelector(`[data-tile="${n}"] .tile-value`)?.textContent === v,
        [name, value],
        { timeout: 20_000 },
      );

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, { logLevel: 'warn' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      bot = await new TestBot().start();
      const onEvent = bot.onEvent;
      // "broken" makes the service fail: after its retries, the conversation is escalated.
      bot.onEvent = (req: any) => (req.body?.data?.message === 'broken' ? { status: 500, text: 'down' } : onEvent(req));
      ({ acc, botId } = await setupBot(running, bot.url));
      const answered = (c: any) => c.events.some((e: any) => e.originator.role === 'BOT' && e.type === 'TEXT');

      const closed = await openConversation(running, acc);
      await closed.say('hello');
      await waitForConversation(admin, acc, closed.id, answered, 'the bot answered');
      await closed.consumer.post(`/api/account/${acc}/consumer/conversations/${closed.id}/close`);

      stillOpen = await openConversation(running, acc);
      await stillOpen.say('still here');
      await waitForConversation(admin, acc, stillOpen.id, answered, 'the bot answered');

      // The tester's conversation: started, answered, ended by the tester.
      const test = await admin.post(`/admin/v1/accounts/${acc}/bots/${botId}/test-conversations`);
      assert.equal(test.status, 201, JSON.stringify(test.body));
      const tester = client(running.url, { token: test.body.consumerToken });
      await tester.post(`/api/account/${acc}/consumer/conversations/${test.body.conversationId}/messages`, {
        text: 'testing',
      });
      await waitForConversation(admin, acc, test.body.conversationId, answered, 'the bot answered the tester');
      const ended = await admin.delete(
        `/admin/v1/accounts/${acc}/bots/${botId}/test-conversations/${test.body.conversationId}`,
      );
      assert.equal(ended.status, 204);

      // Last: a failing service puts the bot in VENDOR_INTERRUPTION, where new conversations are escalated too.
      const escalated = await openConversation(running, acc);
      await escalated.say('broken');
      await waitForConversation(admin, acc, escalated.id, (c) => c.skill.name === 'escalation', 'escalated');

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

    it('opens on the last hour for a new bot, every tile equal to what happened', async () => {
      await page.goto(`${running.url}/admin/accounts/${acc}/bots/${botId}/dashboard`);
      await page.getByRole('heading', { name: 'test bot · dashboard' }).waitFor();
      await tileIs('started', '4');
      assert.equal(await page.getByRole('radio', { name: 'Last hour' }).isChecked(), true);
      await tileIs('escalated', '1');
      await tileIs('closed', '2');
      await tileIs('open-now', '1');
      // The chart of open conversations ends where the tile is: one source, served once.
      const served = (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}/stats?window=hour`)).body;
      assert.equal(served.openNow, 1);
      assert.equal(served.series.open.at(-1), 1);
      assert.deepEqual(
        [served.totals.started, served.totals.escalated, served.totals.closed],
        [4, 1, 2],
        'the page shows what the route serves',
      );
      assert.equal(await tile('errors').innerText(), String(served.totals.errors));
      await screenshot(page, `dashboard-${kind}-01-new-bot`);
    });

    it('follows a close without a reload', async () => {
      const closed = await stillOpen.consumer.post(`/api/account/${acc}/consumer/conversations/${stillOpen.id}/close`);
      assert.equal(closed.status, 200);
      await tileIs('open-now', '0');
      await tileIs('closed', '3');
    });

    it('links to the bot’s conversations, the tester’s among them and marked', async () => {
      await page.getByRole('link', { name: 'Its conversations' }).click();
      await page.getByRole('heading', { name: 'Conversations', level: 1 }).waitFor();
      assert.match(page.url(), new RegExp(`bot=${botId}`));
      await page.waitForFunction(() => document.querySelectorAll('.conversation-table tbody tr').length === 4);
      assert.equal(await page.locator('.conversation-table .badge-test').count(), 1);
      await screenshot(page, `dashboard-${kind}-02-its-conversations`);
    });
  });
}
