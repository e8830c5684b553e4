import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { startApp, type Running } from '../helpers/app.js';
import { DESKTOP, launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';

/** The API reference renders this server's /openapi.json from files it serves itself: nothing from other hosts. */
describe('the API reference page', () => {
  let store: TestStore;
  let running: Running;
  let browser: TestBrowser;
  let page: Page;

  before(async () => {
    store = await freshStore(STORES[0]);
    running = await startApp(store, { logLevel: 'warn' });
    browser = await launchBrowser();
    page = await browser.page(DESKTOP);
  });
  after(async () => {
    await browser?.close();
    await running?.close();
    await store?.dispose();
  });

  it('loads in Chromium, lists the routes of /openapi.json, and asks no other host for anything', async () => {
    const own = new URL(running.url).host;
    const elsewhere: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.protocol !== 'data:' && url.host !== own) elsewhere.push(request.url());
    });
    await page.goto(`${running.url}/reference`);
    await page.getByText('/admin/v1/accounts/{acc}/conversations', { exact: true }).first().waitFor();
    await page.getByText('/api/account/{acc}/consumer/conversations', { exact: true }).first().waitFor();
    await page.waitForLoadState('networkidle');
    assert.deepEqual(elsewhere, []);
    await screenshot(page, 'reference-01');
  });
});
