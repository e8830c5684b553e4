import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { configFromEnv } from '../../src/config.js';

/** The entry of one service in a baseURI.json answer. */
function entry(body: { baseURIs: { service: string; account: string; baseURI: string }[] }, service: string) {
  const found = body.baseURIs.find((b) => b.service === service);
  assert.ok(found, `baseURI.json lists ${service}: ${JSON.stringify(body)}`);
  return found;
}

for (const kind of STORES) {
  describe(`domain lookup (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    const acc = 'dom-acc';

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      assert.equal(
        (await client(running.url, { token: ADMIN_TOKEN }).post('/admin/v1/accounts', { accountId: acc })).status,
        201,
      );
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('answers sentinel and botConnectorsDomain at this server’s host:port', async () => {
      const res = await client(running.url).get(`/api/account/${acc}/service/baseURI.json?version=1.0`);
      assert.equal(res.status, 200);
      const hostPort = new URL(running.url).host;
      for (const service of ['sentinel', 'botConnectorsDomain']) {
        const e = entry(res.body, service);
        assert.equal(e.account, acc);
        assert.equal(e.baseURI, hostPort);
      }
      // The answer is usable as-is: the token endpoint is found at the sentinel base URI.
      const jwks = await fetch(`http://${entry(res.body, 'sentinel').baseURI}/sentinel/well-known/jwks`);
      assert.equal(jwks.status, 200);
    });

    it('refuses a missing or other version (400) and an unknown account (404)', async () => {
      const http = client(running.url);
      for (const query of ['', '?version=2.0', '?version=']) {
        const res = await http.get(`/api/account/${acc}/service/baseURI.json${query}`);
        assert.equal(res.status, 400, `query '${query}'`);
        assert.deepEqual(Object.keys(res.body), ['error']);
        assert.deepEqual(Object.keys(res.body.error).sort(), ['code', 'message']);
      }
      const unknown = await http.get('/api/account/no-such-acc/service/baseURI.json?version=1.0');
      assert.equal(unknown.status, 404);
      assert.equal(typeof unknown.body.error.code, 'string');
    });

    it('answers PUBLIC_HOST when it is set', async () => {
      assert.equal(configFromEnv({ PUBLIC_HOST: 'bots.example.com:8443' }).publicHost, 'bots.example.com:8443');
      // Its own store: a second server on one SQLite data dir refuses to start.
      const otherStore = await freshStore(kind);
      const other = await startApp(otherStore, {
        publicHost: configFromEnv({ PUBLIC_HOST: 'bots.example.com:8443' }).publicHost,
      });
      try {
        assert.equal(
          (await client(other.url, { token: ADMIN_TOKEN }).post('/admin/v1/accounts', { accountId: acc })).status,
          201,
        );
        const res = await client(other.url).get(`/api/account/${acc}/service/baseURI.json?version=1.0`);
        assert.equal(res.status, 200);
        assert.equal(entry(res.body, 'sentinel').baseURI, 'bots.example.com:8443');
        assert.equal(entry(res.body, 'botConnectorsDomain').baseURI, 'bots.example.com:8443');
      } finally {
        await other.close();
        await otherStore.dispose();
      }
    });
  });
}
