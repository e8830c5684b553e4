import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, startApp, type Running } from '../helpers/app.js';

/** A raw request: node:http sends the path as given (fetch would normalise or refuse it). */
function raw(
  base: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function assertShape(res: { status: number; body: string }, status: number, code: string, what: string) {
  assert.equal(res.status, status, `${what}: ${res.body}`);
  assert.deepEqual(
    JSON.parse(res.body),
    { error: { code, message: JSON.parse(res.body).error?.message } },
    `${what}: ${res.body}`,
  );
  assert.equal(typeof JSON.parse(res.body).error.message, 'string');
}

for (const kind of STORES) {
  describe(`refusals made before any route keep the error shape (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('a URL whose percent-escapes do not decode answers 400 bad-url, without repeating the URL', async () => {
      for (const path of [
        '/admin/v1/accounts/%zz/skills',
        '/api/account/%FF/agent/me',
        '/api/account/a/consumer/conversations/%E0%A4%A',
        `/admin/v1/accounts/%/bots?token=${ADMIN_TOKEN}`,
      ]) {
        const res = await raw(running.url, path, { authorization: `Bearer ${ADMIN_TOKEN}` });
        assertShape(res, 400, 'bad-url', path);
        assert.ok(!res.body.includes(ADMIN_TOKEN), 'the token in the URL is not echoed');
      }
      // The same route with a URL that decodes is served: the 400 is about the escape.
      assert.equal(
        (await raw(running.url, '/admin/v1/accounts', { authorization: `Bearer ${ADMIN_TOKEN}` })).status,
        200,
      );
    });

    it('a path segment past the router’s length answers 414 uri-too-long', async () => {
      // A POST: a GET would fall through to the console's static files when they are built (404).
      const res = await raw(running.url, `/api/account/a/consumer/conversations/${'x'.repeat(4000)}/close`, {}, 'POST');
      assertShape(res, 414, 'uri-too-long', 'long id');
    });

    it('headers over 16 KiB answer 431 headers-too-large, and the server goes on', async () => {
      const res = await raw(running.url, '/healthz', { 'x-pad': 'p'.repeat(17 * 1024) });
      assertShape(res, 431, 'headers-too-large', 'oversized headers');
      assert.equal((await raw(running.url, '/healthz')).status, 200);
    });
  });
}
