import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { DESKTOP, launchBrowser, screenshot, type TestBrowser, signInAsOperator } from '../helpers/browser.js';

/**
 * The set-up page's Alerts card: an owner adds a webhook destination (shown by host only), sends
 * it a test alert (the webhook in the test receives it, the card says it was delivered and lists
 * it under recent alerts), and removes it. One store: the routes are tested on both elsewhere.
 */
describe('console: alert destinations and a test alert', () => {
  const acc = 'alerting';
  let store: TestStore;
  let running: Running;
  let admin: Client;
  let browser: TestBrowser;
  let page: Page;
  let webhook: Server;
  let webhookUrl: string;
  const received: unknown[] = [];

  before(async () => {
    store = await freshStore('sqlite');
    running = await startApp(store);
    admin = client(running.url, { token: ADMIN_TOKEN });
    assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}`;
    browser = await launchBrowser();
    page = await browser.page(DESKTOP);
  });
  after(async () => {
    await browser?.close();
    await running?.close();
    await new Promise((r) => webhook?.close(r));
    await store?.dispose();
  });

  it('adds a destination, sends it a test alert, lists it, removes it', async () => {
    await signInAsOperator(page, running.url);
    await page.goto(`${running.url}/admin/accounts/${acc}/setup`);
    await page.getByRole('heading', { name: 'Alerts', exact: true }).waitFor();
    await page.getByText('No alert destinations yet').waitFor();
    const form = page.getByRole('form', { name: 'Add an alert destination' });
    await form.getByLabel('Destination name').fill('ops channel');
    await form.getByLabel('Webhook URL').fill(`${webhookUrl}/services/secret-part`);
    await form.getByLabel('Format').selectOption('slack');
    await form.getByRole('button', { name: 'Add destination' }).click();
    const row = page.locator('tr[data-destination="ops channel"]');
    await row.getByText(`${webhookUrl}/…`).waitFor();
    assert.equal(await page.getByText('secret-part').count(), 0);
    await page.getByRole('button', { name: 'Send a test alert to ops channel' }).click();
    await page.locator('.notice-success', { hasText: 'Test alert delivered to “ops channel”' }).waitFor();
    assert.equal(received.length, 1);
    assert.match((received[0] as { text: string }).text, /Test alert/);
    await page
      .locator('tr[data-alert-state="delivered"]')
      .getByText(/Test alert/)
      .waitFor();
    await screenshot(page, 'alerts-01-test-alert');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Remove ops channel' }).click();
    await page.getByText('No alert destinations yet').waitFor();
    assert.deepEqual((await admin.get(`/admin/v1/accounts/${acc}/alerts/destinations`)).body, []);
  });

  it('adds an alert rule on the Public API backlog and one on the error rate, lists them, removes one', async () => {
    await page.goto(`${running.url}/admin/accounts/${acc}/setup`);
    await page.getByText('No alert rules yet').waitFor();
    const form = page.getByRole('form', { name: 'Add an alert rule' });
    await form.getByLabel('Alert when').selectOption('public-api-backlog');
    // A backlog is about the account: no window, no bot.
    assert.equal(await form.getByLabel('Window (minutes)').count(), 0);
    await form.getByLabel('Threshold (jobs waiting)').fill('250');
    await form.getByRole('button', { name: 'Add rule' }).click();
    await page.locator('tr[data-rule="public-api-backlog"]').getByText('250 or more Public API jobs waiting').waitFor();
    await form.getByLabel('Alert when').selectOption('error-rate');
    await form.getByLabel('Threshold (%)').fill('150');
    await form.getByRole('button', { name: 'Add rule' }).click();
    // The browser's own check or the server's: either way nothing is added.
    assert.equal((await admin.get(`/admin/v1/accounts/${acc}/alerts/rules`)).body.length, 1);
    await form.getByLabel('Threshold (%)').fill('25');
    await form.getByLabel('Window (minutes)').fill('15');
    await form.getByRole('button', { name: 'Add rule' }).click();
    await page
      .locator('tr[data-rule="error-rate"]')
      .getByText('any bot: 25 % or more of exchanges went wrong in the last 15 min')
      .waitFor();
    await screenshot(page, 'alerts-02-rules');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Remove the public-api-backlog rule' }).click();
    await page.locator('tr[data-rule="public-api-backlog"]').waitFor({ state: 'detached' });
    const left = (await admin.get(`/admin/v1/accounts/${acc}/alerts/rules`)).body;
    assert.deepEqual(
      left.map((r: any) => [r.kind, r.threshold, r.windowMinutes]),
      [['error-rate', 25, 15]],
    );
  });
});
