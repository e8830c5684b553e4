import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { launchBrowser, screenshot, type TestBrowser } from '../helpers/browser.js';
import { startOpenIdProvider, type OpenIdProvider, type ProviderUser } from '../helpers/openid-provider.js';
import { ssoConfigFromEnv } from '../../src/operators/sso-config.js';

/**
 * Single sign-on against a real OpenID provider (oidc-provider, started here with its development
 * login and consent pages), driven in Chromium from the console's sign-in page: the provider's
 * groups become roles through the role map, a person the map gives nothing is refused, and the
 * provider decides again at every sign-in.
 */
const CLIENT = { clientId: 'botbridge-console', clientSecret: 'test-client-secret-0123456789' };
const ROLE_MAP = {
  'acme-viewers': { acme: 'viewer' },
  'acme-owners': { acme: 'owner' },
  ops: 'super',
} as const;

for (const kind of STORES) {
  describe(`single sign-on through an OpenID provider (${kind})`, () => {
    const users: Record<string, ProviderUser> = {
      alice: { email: 'Alice@Example.com', name: 'Alice Liddell', groups: ['acme-viewers', 'marketing'] },
      mallory: { email: 'mallory@example.com', name: 'Mallory', groups: ['marketing'] },
    };
    let store: TestStore;
    let provider: OpenIdProvider;
    let running: Running;
    let admin: Client;
    let browser: TestBrowser;
    const shot = (page: Page, name: string) => screenshot(page, `sso-${kind}-${name}`);

    before(async () => {
      store = await freshStore(kind);
      provider = await startOpenIdProvider(users);
      running = await startApp(store, {
        // Through the environment's own reading: what an operator would set.
        sso: ssoConfigFromEnv({
          OIDC_ISSUER: provider.issuer,
          OIDC_CLIENT_ID: CLIENT.clientId,
          OIDC_CLIENT_SECRET: CLIENT.clientSecret,
          OIDC_SCOPES: 'openid email profile groups',
          OIDC_ROLES_CLAIM: 'groups',
          OIDC_ROLE_MAP: JSON.stringify(ROLE_MAP),
        }),
      });
      provider.register({ ...CLIENT, redirectUri: `${running.url}/admin/v1/sso/callback` });
      admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: 'acme' })).status, 201);
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await running?.close();
      await provider?.close();
      await store?.dispose();
    });

    /** From the console's sign-in page through the provider's login and consent; the callback's answer. */
    async function signInAtProvider(page: Page, login: string, step: string) {
      await page.goto(`${running.url}/`);
      const door = page.getByRole('link', { name: `Sign in with ${new URL(provider.issuer).host}` });
      await door.waitFor();
      await shot(page, `${step}-1-console`);
      await door.click();
      await page.locator('input[name="login"]').fill(login);
      await page.locator('input[name="password"]').fill('any password');
      await shot(page, `${step}-2-provider-login`);
      await page.getByRole('button', { name: 'Sign-in' }).click();
      const callback = page.waitForResponse((r) => r.url().startsWith(`${running.url}/admin/v1/sso/callback`));
      await page.getByRole('button', { name: 'Continue' }).click();
      return callback;
    }

    const me = (page: Page) =>
      page.evaluate(async () => {
        const res = await fetch('/admin/v1/me');
        return { status: res.status, body: await res.json() };
      });

    it('tells the console it offers single sign-on, and through whom', async () => {
      const offer = await client(running.url).get('/admin/v1/sso');
      assert.deepEqual(offer.body, { enabled: true, issuer: provider.issuer });
      const doc = (await admin.get('/openapi.json')).body;
      for (const path of ['/admin/v1/sso', '/admin/v1/sso/login', '/admin/v1/sso/callback'])
        assert.ok(doc.paths[path]?.get, `${path} is in the OpenAPI document`);
    });

    it('signs in from the console at the provider, and lands in the console with the mapped role', async () => {
      const page = await browser.page();
      let code: string | undefined;
      page.on('request', (r) => {
        if (r.url().includes('/admin/v1/sso/callback')) code = new URL(r.url()).searchParams.get('code') ?? undefined;
      });
      const callback = await signInAtProvider(page, 'alice', '01-alice');
      assert.equal(callback.status(), 302);
      await page.waitForURL(`${running.url}/admin`);
      await page.getByLabel('Admin token').waitFor({ state: 'detached' });
      await shot(page, '01-alice-3-signed-in');

      const who = await me(page);
      assert.equal(who.status, 200);
      assert.equal(who.body.kind, 'operator');
      assert.equal(who.body.superAdmin, false);
      assert.deepEqual(who.body.roles, { acme: 'viewer' });
      const cookies = await page.context().cookies(`${running.url}/admin/v1/sso/callback`);
      const session = cookies.find((c) => c.name === 'botbridge_operator');
      assert.ok(session?.httpOnly, 'signed in by the httpOnly session cookie');
      assert.equal(
        cookies.find((c) => c.name === 'botbridge_sso'),
        undefined,
        'the sign-in in flight is cleared once used',
      );

      const operators = (await admin.get('/admin/v1/operators')).body.operators as any[];
      const alice = operators.find((o) => o.login === 'alice@example.com');
      assert.ok(alice, `the operator was made from the provider's email: ${JSON.stringify(operators)}`);
      assert.equal(alice.name, 'Alice Liddell');
      assert.equal(alice.hasPassword, false);

      // The sign-in is logged, the code it was exchanged for is not.
      assert.ok(code, 'the provider sent a code');
      assert.ok(running.logs.some((l) => l.includes('operator signed in through single sign-on')));
      assert.equal(running.logs.filter((l) => l.includes(code!)).length, 0, 'no log line holds the code');
    });

    it('refuses, signing nobody in, a person the role map gives nothing', async () => {
      const page = await browser.page();
      const callback = await signInAtProvider(page, 'mallory', '02-mallory');
      assert.equal(callback.status(), 403);
      // A person landed there: the refusal is a page saying why, with the way back.
      const said = page.getByText(/mallory@example\.com .*no role.*'groups' values \(marketing\)/);
      await said.waitFor();
      assert.ok(await page.getByText('sso-no-role').isVisible());
      await shot(page, '02-mallory-3-refused');
      const cookies = await page.context().cookies(`${running.url}/admin/v1/sso/callback`);
      assert.equal(
        cookies.find((c) => c.name === 'botbridge_operator'),
        undefined,
        'no session cookie',
      );
      // With this browser's cookies (the refusal page's own policy lets it fetch nothing).
      assert.equal((await page.request.get(`${running.url}/admin/v1/me`)).status(), 401);
    });

    it('a second sign-in with changed groups changes the role; the operator stays the same', async () => {
      const operatorsBefore = (await admin.get('/admin/v1/operators')).body.operators as any[];
      const aliceBefore = operatorsBefore.find((o) => o.login === 'alice@example.com');
      users.alice.groups = ['acme-viewers', 'acme-owners'];
      const page = await browser.page();
      const callback = await signInAtProvider(page, 'alice', '03-alice-again');
      assert.equal(callback.status(), 302);
      await page.waitForURL(`${running.url}/admin`);
      const who = await me(page);
      assert.equal(who.body.id, aliceBefore.id);
      assert.deepEqual(who.body.roles, { acme: 'owner' }, 'the highest of the mapped roles');
      await shot(page, '03-alice-again-3-owner');

      users.alice.groups = ['ops'];
      const third = await browser.page();
      assert.equal((await signInAtProvider(third, 'alice', '04-alice-ops')).status(), 302);
      await third.waitForURL(`${running.url}/admin`);
      const now = await me(third);
      assert.equal(now.body.superAdmin, true);
      assert.deepEqual(now.body.roles, {}, 'roles the provider no longer grants are gone');
    });

    it('answers a clear message when the person cancels at the provider', async () => {
      const page = await browser.page();
      await page.goto(`${running.url}/admin/v1/sso/login?returnTo=/admin`);
      await page.locator('input[name="login"]').waitFor();
      const callback = page.waitForResponse((r) => r.url().startsWith(`${running.url}/admin/v1/sso/callback`));
      await page.getByRole('link', { name: '[ Cancel ]' }).click();
      assert.equal((await callback).status(), 401);
      await page.getByText(/did not sign you in: access_denied/).waitFor();
      await shot(page, '05-cancelled');
      await page.getByRole('link', { name: 'Back to the sign-in page' }).click();
      await page.getByRole('link', { name: /^Sign in with / }).waitFor();
    });

    it('refuses a callback this browser did not start, and PKCE is what the provider was asked for', async () => {
      const anon = client(running.url);
      const forged = await anon.get('/admin/v1/sso/callback?code=stolen&state=whatever');
      assert.equal(forged.status, 400);
      assert.equal(forged.body.error.code, 'sso-expired');
      // A provider's words are shown as text, never as markup.
      const page = await fetch(
        `${running.url}/admin/v1/sso/callback?error=x&error_description=%3Cscript%3Ealert(1)%3C/script%3E`,
        {
          headers: { accept: 'text/html' },
        },
      );
      assert.equal(page.status, 401);
      const html = await page.text();
      assert.ok(html.includes('&#60;script&#62;alert(1)') && !html.includes('<script>'), html);

      const start = await fetch(`${running.url}/admin/v1/sso/login?returnTo=//evil.example/x`, { redirect: 'manual' });
      assert.equal(start.status, 302);
      const to = new URL(start.headers.get('location')!);
      assert.equal(to.origin, provider.issuer);
      assert.equal(to.searchParams.get('code_challenge_method'), 'S256');
      assert.ok(to.searchParams.get('code_challenge'));
      assert.ok(to.searchParams.get('state'));
      assert.ok(to.searchParams.get('nonce'));
      assert.equal(to.searchParams.get('redirect_uri'), `${running.url}/admin/v1/sso/callback`);
      const cookie = start.headers.get('set-cookie') ?? '';
      assert.match(cookie, /^botbridge_sso=v1\./);
      assert.match(cookie, /Path=\/admin\/v1\/sso; Max-Age=600; HttpOnly; SameSite=Lax/);
      // Sealed: nothing of the transaction is readable in the cookie.
      assert.ok(!cookie.includes(to.searchParams.get('state')!));
    });
  });
}

describe('single sign-on switched off', () => {
  let store: TestStore;
  let running: Running;
  before(async () => {
    store = await freshStore('sqlite');
    running = await startApp(store);
  });
  after(async () => {
    await running?.close();
    await store?.dispose();
  });

  it('says so, and its routes answer 404 sso-disabled', async () => {
    const anon = client(running.url);
    assert.deepEqual((await anon.get('/admin/v1/sso')).body, { enabled: false });
    const login = await anon.get('/admin/v1/sso/login');
    assert.equal(login.status, 404);
    assert.equal(login.body.error.code, 'sso-disabled');
  });
});
