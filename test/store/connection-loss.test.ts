import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { openStore, type Store } from '../../src/store/index.js';
import { isStoreUnavailable } from '../../src/store/errors.js';

/**
 * The database ends a connection while botbridge holds it: a restart (`pg_ctl restart -m fast`
 * terminates every backend), a failover, an administrator. The process stays up, the unit of work
 * fails as the store being unavailable, and the next query runs on a fresh connection.
 */
if (STORES.includes('postgres')) {
  describe('store: a connection the server ends while it is checked out (postgres)', () => {
    let scratch: TestStore;
    let store: Store;
    let admin: pg.Client;
    before(async () => {
      scratch = await freshStore('postgres');
      store = await openStore({ dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl });
      await store.migrate();
      admin = new pg.Client({ connectionString: scratch.databaseUrl });
      await admin.connect();
    });
    after(async () => {
      await admin.end();
      await store.close();
      await scratch.dispose();
    });

    it('ended between two statements of a transaction: the unit fails, the process does not, the next query works', async () => {
      const unit = store.transact(async (tx) => {
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
        await admin.query('select pg_terminate_backend($1)', [rows[0].pid]);
        // The connection's 'error' arrives while it is checked out and idle: nobody awaits a query on it.
        await sleep(300);
        await sql`select 1`.execute(tx);
      });
      const failure = await unit.then(
        () => undefined,
        (error: unknown) => error,
      );
      assert.ok(failure, 'the unit of work failed');
      assert.ok(isStoreUnavailable(failure), `a store outage, not a bug: ${String(failure)}`);
      // Every connection of the pool is used again, so a broken one given back would fail one of these.
      for (let i = 0; i < 20; i++) {
        const { rows } = await sql<{ one: number }>`select 1 as one`.execute(store.db);
        assert.equal(rows[0].one, 1);
      }
    });

    it('each connection bounds its waits: idle in a transaction, for a lock, for a statement', async () => {
      const { rows } = await sql<{ idle: string; lock: string; statement: string }>`
        select current_setting('idle_in_transaction_session_timeout') as idle,
               current_setting('lock_timeout') as lock,
               current_setting('statement_timeout') as statement`.execute(store.db);
      // The defaults follow an 8 s lease: a quarter, a half, the whole.
      assert.deepEqual(rows[0], { idle: '2s', lock: '4s', statement: '8s' });
    });

    it('a transaction left idle is ended by the server, releasing its row locks', async () => {
      await store.db.insertInto('settings').values({ key: 'held', value: 'v' }).execute();
      let held: Promise<unknown> | undefined;
      const stalled = store.transact(async (tx) => {
        await sql`select * from settings where key = 'held' for update`.execute(tx);
        // A paused process: the transaction sits with its lock and sends nothing more for a while.
        held = sleep(3_000);
        await held;
        await sql`select 1`.execute(tx);
      });
      const outcome = stalled.then(
        () => 'committed',
        (error: unknown) => error,
      );
      await sleep(200);
      // Another writer gets the row once the server has ended the idle transaction (2 s), well within the wait.
      await store.db.updateTable('settings').set({ value: 'w' }).where('key', '=', 'held').execute();
      const ended = await outcome;
      assert.notEqual(ended, 'committed');
      assert.ok(isStoreUnavailable(ended), String(ended));
    });
  });
}
