import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { sql } from 'kysely';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { WriteStatements, boundQuery, openStore, type Store } from '../../src/store/index.js';
import { PostgresTransport } from '../../src/platform/pg-transport.js';
import { createLogger } from '../../src/ops/logger.js';

for (const kind of STORES) {
  describe(`store: units of work and write statements (${kind})`, () => {
    let scratch: TestStore;
    let store: Store;
    const open = () => openStore({ dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl });
    const value = async (db: Store['db'], key: string) =>
      (await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst())?.value;

    before(async () => {
      scratch = await freshStore(kind);
      store = await open();
      await store.migrate();
    });
    after(async () => {
      await store.close();
      await scratch.dispose();
    });

    it('units started together commit together, except the one that fails, which alone is undone and rejects', async () => {
      const write = (key: string, fail = false) =>
        store.transact(async (tx) => {
          await tx.insertInto('settings').values({ key, value: 'written' }).execute();
          if (fail) throw new Error(`unit ${key} failed after writing`);
          return key;
        });
      const outcomes = await Promise.allSettled([write('u1'), write('u2'), write('u3', true), write('u4')]);
      assert.deepEqual(
        outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
        ['u1', 'u2', 'unit u3 failed after writing', 'u4'],
      );
      assert.equal(await value(store.db, 'u3'), undefined);
      for (const key of ['u1', 'u2', 'u4']) assert.equal(await value(store.db, key), 'written');
    });

    it('a unit that breaks a constraint does not take the others down with it', async () => {
      const outcomes = await Promise.allSettled([
        store.transact((tx) => tx.insertInto('settings').values({ key: 'dup', value: 'first' }).execute()),
        store.transact((tx) => tx.insertInto('settings').values({ key: 'dup', value: 'second' }).execute()),
        store.transact((tx) => tx.insertInto('settings').values({ key: 'other', value: 'fine' }).execute()),
      ]);
      // Which of two concurrent duplicates commits is not promised: SQLite's group commit runs the
      // units in the order they came, PostgreSQL's pool commits in whatever order its connections
      // finish. Promised: exactly one of them, its value kept, and the third unit untouched.
      const [first, second, other] = outcomes;
      assert.deepEqual([first.status, second.status].sort(), ['fulfilled', 'rejected']);
      assert.equal(await value(store.db, 'dup'), first.status === 'fulfilled' ? 'first' : 'second');
      assert.equal(other.status, 'fulfilled');
      assert.equal(await value(store.db, 'other'), 'fine');
    });

    it('what a unit was told is committed is there for a new connection after the store closes', async () => {
      await Promise.all(
        ['d1', 'd2', 'd3'].map((key) =>
          store.transact((tx) => tx.insertInto('settings').values({ key, value: key }).execute()),
        ),
      );
      await store.close();
      store = await open();
      for (const key of ['d1', 'd2', 'd3']) assert.equal(await value(store.db, key), key);
    });

    it('write statements insert several rows and update the named columns of one row', async () => {
      const writes = new WriteStatements(store.dialect);
      await store.db.executeQuery(
        writes.insert('settings', [
          { key: 'w1', value: 'one' },
          { key: 'w2', value: 'two' },
        ]),
      );
      await store.db.executeQuery(writes.update('settings', { value: 'uno' }, { key: 'w1' }));
      // The same shape again comes from the statement cache and still binds this call's values.
      await store.db.executeQuery(writes.update('settings', { value: 'dos' }, { key: 'w2' }));
      assert.equal(await value(store.db, 'w1'), 'uno');
      assert.equal(await value(store.db, 'w2'), 'dos');
      // Every condition must hold: a row no longer at the value read is left alone, and says so.
      const stale = await store.db.executeQuery(
        writes.update('settings', { value: 'tres' }, { key: 'w2', value: 'uno' }),
      );
      assert.equal(stale.numAffectedRows, 0n);
      const current = await store.db.executeQuery(
        writes.update('settings', { value: 'tres' }, { key: 'w2', value: 'dos' }),
      );
      assert.equal(current.numAffectedRows, 1n);
      assert.equal(await value(store.db, 'w2'), 'tres');
    });

    it('a bound query is compiled once and binds each call its own arguments, keeping its own constants', async () => {
      await store.db.executeQuery(
        new WriteStatements(store.dialect).insert('settings', [
          { key: 'bq1', value: 'x' },
          { key: 'bq2', value: 'y' },
          { key: 'bq3', value: 'y' },
        ]),
      );
      const keysOf = boundQuery(2, (value: string, after: string) =>
        store.db
          .selectFrom('settings')
          .select('key')
          .where('value', '=', value)
          .where('key', '>', after)
          .orderBy('key')
          .limit(1),
      );
      assert.deepEqual((await store.db.executeQuery(keysOf('y', 'bq'))).rows, [{ key: 'bq2' }]);
      assert.deepEqual((await store.db.executeQuery(keysOf('y', 'bq2'))).rows, [{ key: 'bq3' }]);
      assert.deepEqual((await store.db.executeQuery(keysOf('x', 'bq'))).rows, [{ key: 'bq1' }]);
      // An argument the statement never uses is a mistake in the query, said at once.
      assert.throws(
        () => boundQuery(1, (_unused: string) => store.db.selectFrom('settings').select('key')),
        /does not reach the statement/,
      );
    });

    if (kind === 'postgres') {
      it('a change at a version is one statement: the update, its rows and its guard all land, or none of them', async () => {
        const writes = new WriteStatements(store.dialect);
        await store.db.insertInto('settings').values({ key: 'row', value: 'v1' }).execute();
        const guard = (key: string) => ({
          sql: 'select 1 from settings where key = $1 for share',
          params: [key],
          refused: () => new Error('guard refused'),
        });
        const change = (at: string, to: string, rows: string[], guardKey = 'row') =>
          store.db.executeQuery<{ n: number }>(
            writes.changeAt(
              'settings',
              { value: to },
              { key: 'row', value: at },
              { table: 'settings', rows: rows.map((key) => ({ key, value: to })), types: {} },
              guard(guardKey),
            ),
          );
        assert.equal((await change('v1', 'v2', ['a1', 'a2'])).rows[0].n, 1);
        assert.equal(await value(store.db, 'row'), 'v2');
        assert.equal(await value(store.db, 'a1'), 'v2');
        assert.equal(await value(store.db, 'a2'), 'v2');
        // The row moved on: nothing is written, not even the rows that go with it.
        assert.equal((await change('v1', 'v3', ['b1'])).rows[0].n, 0);
        assert.equal(await value(store.db, 'row'), 'v2');
        assert.equal(await value(store.db, 'b1'), undefined);
        // The guard's row is gone: nothing either.
        assert.equal((await change('v2', 'v3', ['c1'], 'no-such-row')).rows[0].n, 0);
        assert.equal(await value(store.db, 'row'), 'v2');
        assert.equal(await value(store.db, 'c1'), undefined);
      });
    }
  });
}

describe('store: a PostgreSQL server that stops answering', () => {
  const sockets: Socket[] = [];
  // Accepts connections and never says a word: a server behind a dead network path.
  const silent = createServer((socket) => sockets.push(socket));
  let url = '';
  before(async () => {
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    url = `postgres://botbridge@127.0.0.1:${(silent.address() as AddressInfo).port}/botbridge`;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });
  /** A coarse liveness bound: without a connect timeout the wait lasts as long as the socket. */
  const within5s = <T>(work: Promise<T>) =>
    Promise.race([
      work,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still waiting after 5 s')), 5000).unref()),
    ]);

  it('costs a query an error after connectTimeoutMs, not a hang', async () => {
    const store = await openStore({ dataDir: '/nonexistent', databaseUrl: url, connectTimeoutMs: 300 });
    try {
      await assert.rejects(within5s(sql`select 1`.execute(store.db)), /timeout/i);
    } finally {
      await store.close();
    }
  });

  it('the change listener’s connection attempt fails after connectTimeoutMs too', async () => {
    const transport = new PostgresTransport({
      connectionString: url,
      connectionName: 'test',
      db: undefined as never,
      log: createLogger('silent'),
      connectTimeoutMs: 300,
    });
    const ignore = () => {};
    try {
      await assert.rejects(
        within5s(transport.listen({ change: ignore, typing: ignore, bot: ignore, resync: ignore })),
        /timeout/i,
      );
    } finally {
      await transport.close();
    }
  });
});
