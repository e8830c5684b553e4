import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { WriteStatements, openStore, type Store } from '../../src/store/index.js';

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
      await store.db.executeQuery(writes.update('settings', { value: 'uno' }, 'key', 'w1'));
      // The same shape again comes from the statement cache and still binds this call's values.
      await store.db.executeQuery(writes.update('settings', { value: 'dos' }, 'key', 'w2'));
      assert.equal(await value(store.db, 'w1'), 'uno');
      assert.equal(await value(store.db, 'w2'), 'dos');
    });
  });
}
