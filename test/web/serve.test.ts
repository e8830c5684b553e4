import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshStore, type TestStore } from '../helpers/stores.js';
import { startApp, type Running } from '../helpers/app.js';
import { isClientRoute } from '../../src/web/serve.js';

/** How the server serves the console; HTTP only, the store does not matter here (SQLite). */
describe('console serving', () => {
  describe('built console (dist/web)', () => {
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

    it('serves index.html, uncached, at / and on every client route', async () => {
      for (const path of [
        '/',
        '/admin',
        '/admin/accounts/demo/bots',
        '/admin/accounts/demo/tester?bot=x',
        '/agent',
        '/chat/demo?skill=demo-bot',
      ]) {
        const res = await fetch(running.url + path);
        assert.equal(res.status, 200, path);
        assert.match(res.headers.get('content-type') ?? '', /text\/html/, path);
        assert.equal(res.headers.get('cache-control'), 'no-cache', path);
        assert.match(await res.text(), /<div id="root">/, path);
      }
    });

    it('serves the hashed assets, cached for good', async () => {
      const html = await (await fetch(`${running.url}/`)).text();
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      assert.ok(script, 'index.html names its bundle');
      const res = await fetch(running.url + script);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /javascript/);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    });

    it('keeps JSON 404s for API paths and unknown files', async () => {
      for (const path of [
        '/api/nope',
        '/admin/v1/nope',
        '/admin/v1/accounts/x/nothing-here',
        '/assets/missing.js',
        '/nope',
        '/chat',
      ]) {
        const res = await fetch(running.url + path);
        assert.equal(res.status, 404, path);
        const body = (await res.json()) as { error: { code: string } };
        assert.equal(body.error.code, 'not-found', path);
      }
      // A real API route still answers as before.
      assert.equal((await fetch(`${running.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${running.url}/admin/v1/accounts`)).status, 401);
    });
  });

  describe('console not built', () => {
    let store: TestStore;
    let running: Running;
    let empty: string;
    before(async () => {
      store = await freshStore('sqlite');
      empty = mkdtempSync(join(tmpdir(), 'botbridge-noweb-'));
      running = await startApp(store, { webDir: join(empty, 'web') });
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
      rmSync(empty, { recursive: true, force: true });
    });

    it('says how to build it instead of failing, and the APIs still work', async () => {
      const res = await fetch(`${running.url}/`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /npm run build/);
      assert.equal((await fetch(`${running.url}/agent`)).status, 200);
      assert.equal((await fetch(`${running.url}/api/nope`)).status, 404);
      assert.equal((await fetch(`${running.url}/healthz`)).status, 200);
    });
  });

  it('knows which paths are the console’s', () => {
    for (const p of ['/', '/admin', '/admin/accounts/a/bots', '/agent', '/chat/demo']) assert.ok(isClientRoute(p), p);
    for (const p of [
      '/admin/v1',
      '/admin/v1/accounts',
      '/api/account/a/agent/queue',
      '/chat',
      '/chat/',
      '/healthz',
      '/administrator',
    ])
      assert.ok(!isClientRoute(p), p);
  });
});
