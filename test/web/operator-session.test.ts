import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { DESKTOP, launchProfile, screenshot, signInAsOperator } from '../helpers/browser.js';

/**
 * The operator signs in once per browser, not once per tab: a second tab opens signed in, the
 * browser closed and launched again on its profile is still signed in, and signing out in one
 * tab ends the session in the other at its next request. One store: what this walks is the
 * console; the session routes are tested on both stores in test/http/operator-sessions.test.ts.
 */
describe('console: one operator sign-in for every tab and across browser restarts', () => {
  const acc = 'acme';
  let store: TestStore;
  let running: Running;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  const shot = (p: Page, name: string) => screenshot(p, `operator-session-${name}`);
  const sessionCookie = async () => (await context.cookies()).find((c) => c.name === 'botbridge_operator');

  before(async () => {
    store = await freshStore('sqlite');
    running = await startApp(store);
    const admin = client(running.url, { token: ADMIN_TOKEN });
    assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
    profile = mkdtempSync(join(tmpdir(), 'botbridge-chromium-'));
    ({ context, page } = await launchProfile(profile, DESKTOP));
  });
  after(async () => {
    await context?.close().catch(() => undefined);
    if (profile) rmSync(profile, { recursive: true, force: true });
    await running?.close();
    await store?.dispose();
  });

  it('signs in once; a second tab opens signed in', async () => {
    await signInAsOperator(page, running.url);
    await shot(page, '01-signed-in');

    const cookie = await sessionCookie();
    assert.ok(cookie, 'the session cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/admin/v1');
    assert.ok(cookie.expires > Date.now() / 1000 + 3600, 'kept past this browser session');
    // Nothing a script could read holds the admin token or the session.
    const readable = await page.evaluate(() =>
      JSON.stringify([document.cookie, { ...window.sessionStorage }, { ...window.localStorage }]),
    );
    assert.ok(!readable.includes(ADMIN_TOKEN) && !readable.includes(cookie.value), readable);

    const second = await context.newPage();
    await second.goto(`${running.url}/admin/accounts/${acc}/bots`);
    await second.getByRole('heading', { name: 'Bots' }).waitFor();
    assert.equal(await second.getByLabel('Admin token').count(), 0);
    await shot(second, '02-second-tab');
    // A tab opened at the sign-in address goes straight in.
    await second.goto(`${running.url}/`);
    await second.getByRole('heading', { name: 'Accounts' }).waitFor();
    await second.close();
  });

  it('is still signed in after the browser is closed and launched again on its profile', async () => {
    await context.close();
    ({ context, page } = await launchProfile(profile, DESKTOP));
    assert.ok(await sessionCookie(), 'the cookie was kept on disk');
    await page.goto(`${running.url}/admin/accounts/${acc}/setup`);
    await page.getByRole('heading', { name: 'Set-up' }).waitFor();
    assert.equal(await page.getByLabel('Admin token').count(), 0);
    await shot(page, '03-after-restart');
  });

  it('signing out in one tab ends the session in the other at its next request', async () => {
    const other = await context.newPage();
    await other.goto(`${running.url}/admin/accounts/${acc}/bots`);
    await other.getByRole('heading', { name: 'Bots' }).waitFor();
    const { value } = (await sessionCookie())!;

    await page.bringToFront();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in as operator' }).waitFor();
    assert.equal(await sessionCookie(), undefined, 'the cookie is cleared');
    const refused = await client(running.url).get('/admin/v1/accounts', {
      headers: { cookie: `botbridge_operator=${value}` },
    });
    assert.equal(refused.status, 401, 'the session is over on the server');
    await shot(page, '04-signed-out');

    // The other tab still shows its page; its next request finds the session over.
    await other.bringToFront();
    await other.getByRole('link', { name: 'Set-up' }).click();
    await other.getByRole('button', { name: 'Sign in as operator' }).waitFor();
    await other.getByText('Your operator session has ended').waitFor();
    await shot(other, '05-other-tab-signed-out');
    await other.goto(`${running.url}/admin/accounts/${acc}/bots`);
    await other.getByRole('button', { name: 'Sign in as operator' }).waitFor();
    await other.close();
  });

  it('signs in again after signing out', async () => {
    await page.getByLabel('Admin token').fill('not the token');
    await page.getByRole('button', { name: 'Sign in as operator' }).click();
    await page.getByText('That admin token is not valid.').waitFor();
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in as operator' }).click();
    await page.getByRole('heading', { name: 'Accounts' }).waitFor();
  });
});
