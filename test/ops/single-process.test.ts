import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { startApp } from '../helpers/app.js';
import { startProcess, type Proc } from '../helpers/process.js';

/** One SQLite data dir belongs to one process; PostgreSQL is for several. */
if (STORES.includes('sqlite')) {
  describe('one SQLite data dir, one process', () => {
    const stores: TestStore[] = [];
    const procs: Proc[] = [];
    after(async () => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      for (const s of stores) await s.dispose();
    });

    it('a second app on a data dir in use refuses to start, with the reason; once the first closes it starts', async () => {
      const store = await freshStore('sqlite');
      stores.push(store);
      const first = await startApp(store);
      await assert.rejects(
        startApp(store),
        /the data dir .* is in use by another botbridge process: one SQLite data dir belongs to one process/,
      );
      // The first one is untouched by the attempt.
      assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
      await first.close();
      const second = await startApp(store);
      assert.equal((await fetch(`${second.url}/healthz`)).status, 200);
      await second.close();
    });

    it('a second process exits non-zero with the message; after kill -9 of the first, a new one starts', async () => {
      const store = await freshStore('sqlite');
      stores.push(store);
      const env = { ADMIN_TOKEN: 'x', DEMO: '0', LOG_LEVEL: 'warn' };
      const first = await startProcess(store, env);
      procs.push(first);
      await assert.rejects(startProcess(store, env), (error: Error) => {
        assert.match(error.message, /process exited before listening/);
        assert.match(
          error.message,
          /botbridge failed to start: Error: the data dir .* is in use by another botbridge process/,
        );
        return true;
      });
      first.child.kill('SIGKILL');
      await first.exited;
      const next = await startProcess(store, env);
      procs.push(next);
      assert.equal((await fetch(`${next.url}/healthz`)).status, 200);
      next.child.kill('SIGTERM');
      assert.deepEqual(await next.exited, { code: 0, signal: null });
    });
  });
}
