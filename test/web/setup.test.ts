import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, launchBrowser, screenshot, type TestBrowser, signInAsOperator } from '../helpers/browser.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';

/**
 * A new operator sets up an account without leaving the console (issue: "run the whole platform
 * without curl"): account, skills, an agent, an app (its secret shown once), a bot that refers to
 * that app (no secret typed), test connection, start, and a chat in the tester. One store: what this
 * walks is the console; the routes behind it are tested on both stores elsewhere.
 */
describe('console: a new account set up end to end, without curl', () => {
  const acc = 'newco';
  let store: TestStore;
  let running: Running;
  let admin: Client;
  let browser: TestBrowser;
  let page: Page;
  let app: { clientId: string; clientSecret: string };
  const shot = (name: string) => screenshot(page, `setup-${name}`);

  before(async () => {
    store = await freshStore('sqlite');
    running = await startApp(store);
    admin = client(running.url, { token: ADMIN_TOKEN });
    browser = await launchBrowser();
    page = await browser.page(DESKTOP);
  });
  after(async () => {
    await browser?.close();
    await running?.close();
    await store?.dispose();
  });

  it('creates the account and lands on its set-up page', async () => {
    await signInAsOperator(page, running.url);
    await page.getByText('Create an account').click();
    await page.getByLabel('Account id').fill(acc);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'Set-up' }).waitFor();
    await page.getByText('No skills yet', { exact: true }).waitFor();
    await shot('01-empty');
  });

  it('a chat link to an account or skill that does not exist says so before anyone types', async () => {
    const chat = await browser.page(DESKTOP);
    await chat.goto(`${running.url}/chat/${acc}?skill=support`);
    await chat.getByText('This chat is not available').waitFor();
    await chat.getByText("There is no 'support' topic here.", { exact: false }).waitFor();
    await chat.goto(`${running.url}/chat/nobody?skill=support`);
    await chat.getByText('This chat is not available').waitFor();
    await chat.getByText("There is no 'support' topic here.", { exact: false }).waitFor();
    assert.equal(await chat.getByLabel('Message').count(), 0);
    await screenshot(chat, 'setup-00-chat-unknown-skill');
    await chat.close();
  });

  it('skills: created, listed; a duplicate is refused with the API’s reason', async () => {
    const form = page.getByRole('form', { name: 'New skill' });
    for (const name of ['support', 'human']) {
      await form.getByLabel('New skill').fill(name);
      await form.getByRole('button', { name: 'Create skill' }).click();
      await page.getByRole('list', { name: 'Skills' }).getByText(name, { exact: true }).waitFor();
    }
    await form.getByLabel('New skill').fill('human');
    await form.getByRole('button', { name: 'Create skill' }).click();
    await page.locator('.notice-error', { hasText: /already exists/ }).waitFor();
    const skills = (await admin.get(`/admin/v1/accounts/${acc}/skills`)).body.skills.map(
      (s: { name: string }) => s.name,
    );
    assert.deepEqual(skills.sort(), ['human', 'support']);
  });

  it('agents: created with skills and capacity, then edited; a short password is refused', async () => {
    const form = page.getByRole('form', { name: 'New agent' });
    await form.getByLabel('Login name').fill('alice');
    await form.getByLabel('Password').fill('short');
    await form.getByRole('checkbox', { name: 'human' }).check();
    await form.getByLabel('Capacity').fill('3');
    await form.getByRole('button', { name: 'Create agent' }).click();
    await page.locator('.notice-error', { hasText: /password/ }).waitFor();
    await form.getByLabel('Password').fill('correct horse battery');
    await form.getByRole('button', { name: 'Create agent' }).click();
    const row = page.locator('[data-agent="alice"]');
    await row.getByText('human').waitFor();
    assert.match(await row.innerText(), /3/);

    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('form', { name: 'Edit alice' });
    await edit.getByRole('checkbox', { name: 'support' }).check();
    await edit.getByLabel('Capacity').fill('5');
    await edit.getByRole('button', { name: 'Save' }).click();
    await row.getByText('human, support').waitFor();
    const alice = (await admin.get(`/admin/v1/accounts/${acc}/users`)).body.users.find(
      (u: { loginName: string }) => u.loginName === 'alice',
    );
    assert.equal(alice.maxConversations, 5);
    assert.deepEqual(alice.skills.map((s: { name: string }) => s.name).sort(), ['human', 'support']);
    const login = await client(running.url).post(`/api/account/${acc}/agent/login`, {
      username: 'alice',
      password: 'correct horse battery',
    });
    assert.equal(login.status, 200);
    await shot('02-agents');
  });

  it('apps: installed with the secret shown once; rotating shows a new one', async () => {
    const form = page.getByRole('form', { name: 'New app' });
    await form.getByLabel('New app').fill('bot credentials');
    await form.getByRole('button', { name: 'Install app' }).click();
    await page.getByText(/Copy the client secret of “bot credentials” now/).waitFor();
    app = {
      clientId: await page.getByTestId('client-id').innerText(),
      clientSecret: await page.getByTestId('client-secret').innerText(),
    };
    await shot('03-app-secret-once');
    await page.getByRole('button', { name: 'I have copied it' }).click();
    assert.equal(await page.getByTestId('client-secret').count(), 0);

    await page.locator('[data-app="bot credentials"]').getByRole('button', { name: 'Rotate secret' }).click();
    const asking = page.getByRole('dialog', { name: 'Rotate the secret of “bot credentials”?' });
    await asking.getByText('No bot uses this app.').waitFor();
    await asking.getByRole('button', { name: 'Rotate secret' }).click();
    const rotatedDialog = page.getByRole('dialog', { name: 'Secret of “bot credentials” rotated' });
    await rotatedDialog.getByText(/Copy the client secret of “bot credentials” now/).waitFor();
    const rotated = await rotatedDialog.getByTestId('client-secret').innerText();
    assert.notEqual(rotated, app.clientSecret);
    assert.equal(await rotatedDialog.getByTestId('client-id').innerText(), app.clientId);
    await rotatedDialog.getByRole('button', { name: 'Done' }).click();
    await rotatedDialog.waitFor({ state: 'detached' });
    app.clientSecret = rotated;
  });

  it('a bot on that app: test connection passes, it starts, and the tester chats with it', async () => {
    await page.getByRole('link', { name: 'create a bot' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Newco bot');
    await page.getByRole('checkbox', { name: 'support', exact: true }).check();
    await page.getByLabel('Base URL').fill(`${running.url}/demo-bot`);
    await page.getByLabel('App installation', { exact: true }).selectOption(app.clientId);
    await page.getByLabel('Bot ID').fill('demo-bot');
    await page.getByLabel('Escalation skill').selectOption('human');
    // Cancel asks before it throws the form away; dismissed, nothing is lost.
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.dismiss();
      }),
    );
    await page.getByRole('link', { name: 'Cancel' }).click();
    assert.equal(await asked, 'Discard your changes to this bot?');
    assert.equal(await page.getByLabel('Name', { exact: true }).inputValue(), 'Newco bot');
    await page.getByText('2 environments offered by the service.').waitFor();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.locator('.notice-success', { hasText: 'Connection OK.' }).waitFor();
    await page.getByRole('button', { name: 'Create bot' }).click();
    await page.getByText('Bot created. It is offline until you start it.').waitFor();
    await page.getByRole('button', { name: 'Start bot' }).click();
    await page.getByText('Started. Status: ONLINE.').waitFor();

    // The editor's conformance check: the demo bot keeps every rule, the auth probes included.
    await page.getByRole('button', { name: 'Check conformance' }).click();
    await page
      .locator('.conformance-summary', { hasText: /\d+ passed, 0 failed, 0 warnings/ })
      .waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('.conformance-checks > [data-outcome="fail"]').count(), 0);

    await page.getByRole('link', { name: 'Tester', exact: true }).click();
    await page.getByRole('combobox', { name: 'Bot' }).selectOption({ label: 'Newco bot (online)' });
    const input = page.getByLabel('Message to the bot');
    await page.waitForFunction((el) => !(el as HTMLTextAreaElement).disabled, await input.elementHandle());
    await input.fill('hi');
    await input.press('Enter');
    await page.locator('.exchange-item', { hasText: '“hi”' }).locator('[data-outcome="PROCESSED"]').waitFor();
    await shot('04-tester');

    // A carousel: its arrows are named buttons, the left one hidden at the start and covering no card.
    await input.fill('carousel');
    await input.press('Enter');
    const carousel = page.locator('.tester-chat .lp-json-pollock-layout-carousel-wrapper').first();
    await carousel.waitFor();
    await page.waitForTimeout(300);
    const arrows = await carousel.evaluate((wrapper) =>
      [...wrapper.querySelectorAll('.lp-json-pollock-layout-carousel-arrow')].map((e) => ({
        name: e.getAttribute('aria-label'),
        visible: getComputedStyle(e).visibility !== 'hidden' && getComputedStyle(e).display !== 'none',
      })),
    );
    assert.deepEqual(arrows, [
      { name: 'Previous cards', visible: false },
      { name: 'Next cards', visible: true },
    ]);
    await carousel.scrollIntoViewIfNeeded();
    await shot('04b-tester-carousel');
  });

  it('the dashboard shows that conversation: its numbers match what the tester did; the bots list has its sparkline', async () => {
    const exchanges = await page.locator('.exchange-item').count();
    const botId = new URL(page.url()).searchParams.get('bot')!;
    await page.getByRole('link', { name: 'Bots', exact: true }).click();
    const row = page.locator(`[data-bot="${botId}"]`);
    await row.getByText(`${exchanges} exchanges · 0 errors`).waitFor();
    await row.locator('.chart-spark canvas').waitFor();
    await shot('05-bots-sparkline');
    await row.getByRole('link', { name: 'Dashboard of Newco bot' }).click();
    await page.getByRole('heading', { name: 'Newco bot · dashboard' }).waitFor();
    const tile = (name: string) => page.locator(`[data-tile="${name}"] .tile-value`);
    await page.waitForFunction(() => document.querySelector('[data-tile="started"] .tile-value')?.textContent === '1');
    assert.equal(await tile('exchanges').innerText(), String(exchanges));
    assert.equal(await tile('errors').innerText(), '0');
    assert.equal(await tile('escalated').innerText(), '0');
    assert.equal(
      await page.locator('[data-breakdown="outcomes"] [data-key="PROCESSED"] .num').innerText(),
      String(exchanges),
    );
    assert.equal((await page.locator('.chart-card canvas').count()) >= 4, true);
    for (const window of ['Last hour', 'Last week']) {
      await page.getByText(window, { exact: true }).click();
      await page.waitForFunction(
        () => document.querySelector('[data-tile="started"] .tile-value')?.textContent === '1',
      );
    }
    // What the page shows is what the route serves.
    const served = (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}/stats?window=week`)).body;
    assert.deepEqual([served.totals.started, served.totals.exchanges], [1, exchanges]);
    await shot('06-dashboard');
  });

  it('a service that breaks rules: the editor’s check lists the failures first, the offending JSON highlighted', async () => {
    const lax = await new TestBot().start();
    try {
      // Answers anything, tokens or not, with metadata as an object (the contract file's erratum).
      lax.onEvent = () => reply(text('sure', { metadata: { type: 'ExternalId', id: 'x' } }));
      const created = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'Lax bot',
        conversationType: 'MESSAGING',
        skills: ['support'],
        vendor: {
          type: 'CUSTOM_ENDPOINT',
          baseUrl: lax.url,
          clientId: app.clientId,
          botId: 'lax',
          environment: 'draft',
        },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      await page.goto(`${running.url}/admin/accounts/${acc}/bots/${created.body.id}`);
      await page.getByRole('button', { name: 'Check conformance' }).click();
      const summary = page.locator('.conformance-summary');
      await summary.waitFor({ timeout: 60_000 });
      assert.match(await summary.innerText(), /[1-9]\d* failed/);
      const outcomes = await page
        .locator('.conformance-checks > li')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-outcome')));
      assert.equal(outcomes[0], 'fail');
      const rank = { fail: 0, warn: 1, pass: 2 } as Record<string, number>;
      const ranks = outcomes.map((o) => rank[o ?? ''] ?? 9);
      assert.deepEqual(ranks, [...ranks].sort(), JSON.stringify(outcomes));
      await page
        .locator('.conformance-checks > [data-check="auth-no-token"] .error-code', { hasText: 'auth-not-enforced' })
        .waitFor();
      const textCheck = page.locator('.conformance-checks > [data-check="text"]');
      await textCheck.locator('.error-code', { hasText: 'contract-erratum' }).waitFor();
      assert.equal(await textCheck.getAttribute('data-outcome'), 'warn');
      await textCheck.locator('.json-hl').first().waitFor();
      await textCheck.scrollIntoViewIfNeeded();
      await shot('07-conformance-failures');
    } finally {
      await lax.stop();
    }
  });
});
