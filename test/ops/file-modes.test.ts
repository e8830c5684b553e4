import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { client, startApp } from '../helpers/app.js';

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

for (const kind of STORES) {
  describe(`data dir and its files are private to the server's user (${kind})`, () => {
    const stores: TestStore[] = [];
    after(async () => {
      for (const store of stores) await store.dispose();
    });

    it('first start: the dir is 0700; admin token, secret key and the SQLite files 0600', async () => {
      const store = await freshStore(kind);
      stores.push(store);
      // Not yet there: the server makes it.
      const dataDir = join(store.dataDir, 'data');
      const running = await startApp({ ...store, dataDir }, { adminToken: undefined });
      try {
        assert.equal((await client(running.url).get('/healthz')).status, 200);
        assert.equal(modeOf(dataDir), '700');
        const files = ['admin-token', 'secret.key'];
        // The WAL and shared-memory files exist from the first write (the migrations) until the close.
        if (kind === 'sqlite') files.push('botbridge.sqlite', 'botbridge.sqlite-wal', 'botbridge.sqlite-shm');
        for (const file of files) {
          assert.ok(existsSync(join(dataDir, file)), `${file} exists`);
          assert.equal(modeOf(join(dataDir, file)), '600', file);
        }
      } finally {
        await running.close();
      }
    });

    it('a data dir an earlier version left 0755 with 0644 files is tightened at start', async () => {
      const store = await freshStore(kind);
      stores.push(store);
      const dataDir = store.dataDir;
      const first = await startApp(store, { adminToken: undefined });
      await first.close();

      // As the previous version left it: a world-readable dir and files.
      const files = ['admin-token', 'secret.key'];
      let held: BetterSqlite3.Database | undefined;
      if (kind === 'sqlite') {
        files.push('botbridge.sqlite');
        // A connection of its own keeps a WAL and a shared-memory file in place, as a crash would leave them.
        held = new BetterSqlite3(join(dataDir, 'botbridge.sqlite'));
        held.pragma('journal_mode = WAL');
        held
          .prepare('INSERT INTO settings (key, value) VALUES (?, ?)')
          .run(`probe-${randomBytes(4).toString('hex')}`, 'x');
        files.push('botbridge.sqlite-wal', 'botbridge.sqlite-shm');
      }
      chmodSync(dataDir, 0o755);
      for (const file of files) chmodSync(join(dataDir, file), 0o644);
      for (const file of files) assert.equal(modeOf(join(dataDir, file)), '644');

      const second = await startApp(store, { adminToken: undefined });
      try {
        assert.equal((await client(second.url).get('/healthz')).status, 200);
        assert.equal(modeOf(dataDir), '700');
        for (const file of files) assert.equal(modeOf(join(dataDir, file)), '600', file);
      } finally {
        held?.close();
        await second.close();
      }
    });

    if (kind === 'sqlite') {
      it('a database file made by someone else (0644) in a fresh dir: tightened before its WAL exists', async () => {
        const store = await freshStore(kind);
        stores.push(store);
        const dataDir = join(store.dataDir, 'nested', 'data');
        mkdirSync(dataDir, { recursive: true, mode: 0o755 });
        writeFileSync(join(dataDir, 'botbridge.sqlite'), '', { mode: 0o644 });
        const running = await startApp({ ...store, dataDir });
        try {
          for (const file of ['botbridge.sqlite', 'botbridge.sqlite-wal', 'botbridge.sqlite-shm'])
            assert.equal(modeOf(join(dataDir, file)), '600', file);
          assert.equal(modeOf(dataDir), '700');
        } finally {
          await running.close();
        }
      });
    }
  });
}
