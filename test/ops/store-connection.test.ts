import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';

/**
 * PostgreSQL connections die under a running server (restart, failover, a proxy's idle timeout):
 * the server must survive that and serve again on fresh connections.
 */
if (STORES.includes('postgres')) {
  describe('PostgreSQL connections dropped under a running server', () => {
    let store: TestStore;
    let running: Running;
    const uncaught: Error[] = [];
    const onUncaught = (e: Error) => uncaught.push(e);

    before(async () => {
      store = await freshStore('postgres');
      running = await startApp(store);
      process.on('uncaughtException', onUncaught);
    });
    after(async () => {
      process.off('uncaughtException', onUncaught);
      await running?.close();
      await store?.dispose();
    });

    it('idle connections terminated by the server: no crash, the next requests are served', async () => {
      const admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: 'pgdrop' })).status, 201);
      // Several requests at once, so the pool holds several idle connections afterwards.
      const warm = await Promise.all(Array.from({ length: 5 }, () => admin.get('/admin/v1/accounts')));
      assert.ok(warm.every((r) => r.status === 200));

      const database = new URL(store.databaseUrl!).pathname.slice(1);
      const superuser = new pg.Client({ connectionString: store.databaseUrl!.replace(/\/[^/]*$/, '/postgres') });
      await superuser.connect();
      try {
        const killed = await superuser.query(
          'SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [database],
        );
        assert.ok((killed.rowCount ?? 0) > 0, 'the server had connections to terminate');
        // Wait until PostgreSQL has really dropped them (the change listener connects again at once).
        const pids = killed.rows.map((r: { pid: number }) => r.pid);
        for (;;) {
          const left = await superuser.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1)', [
            pids,
          ]);
          if (left.rows[0].n === 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
      } finally {
        await superuser.end();
      }
      // Give the pool's sockets the chance to see the termination (an 'error' event per client).
      await new Promise((r) => setImmediate(r));

      // Served again, on new connections; the same data is there.
      let accounts = await admin.get('/admin/v1/accounts');
      for (let attempt = 0; accounts.status !== 200 && attempt < 50; attempt++) {
        await new Promise((r) => setTimeout(r, 20));
        accounts = await admin.get('/admin/v1/accounts');
      }
      assert.equal(accounts.status, 200, JSON.stringify(accounts.body));
      assert.deepEqual(accounts.body.accounts, [{ accountId: 'pgdrop' }]);
      // The change listener's connection was terminated too: ready again once it is back.
      let health = await client(running.url).get('/healthz');
      for (let attempt = 0; attempt < 100 && health.status !== 200; attempt++) {
        await new Promise((r) => setTimeout(r, 50));
        health = await client(running.url).get('/healthz');
      }
      assert.equal(health.status, 200, JSON.stringify(health.body));
      assert.deepEqual(
        uncaught.map((e) => e.message),
        [],
        'no uncaught exception (a real process would have exited)',
      );
    });
  });
}
