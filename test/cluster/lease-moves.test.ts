import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { startApp, type Running } from '../helpers/app.js';
import { TestBot } from '../helpers/test-bot.js';
import { botTexts, openConversation, setupBot, waitForConversation } from '../helpers/connector.js';
import { until } from '../helpers/wait.js';

/**
 * A bot's lease moves away from an instance while a conversation's work is queued there, then
 * comes back. What the instance took on under its earlier lease vouches for nothing under the
 * new one: every message the bot owes is answered, in order, none skipped. Another instance
 * taking the lease is played by writing its row, as another instance's takeover would.
 */
if (STORES.includes('postgres')) {
  describe('a lease that moves away and back (postgres)', () => {
    let store: TestStore | undefined;
    let running: Running | undefined;
    const bot = new TestBot();
    after(async () => {
      await running?.close();
      await bot.stop();
      await store?.dispose();
    });

    it('a recovery cut short by the lease moving away leaves nothing that skips a message once the lease returns', async () => {
      store = await freshStore('postgres');
      running = await startApp(store, {}, { leases: { ttlMs: 3_000, renewMs: 200 } });
      await bot.start();
      const { acc, admin, botId } = await setupBot(running, bot.url);
      const db = running.app.store.db;
      const here = running.app.config.instanceId;
      const driver = async () => (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body.instance;
      const away = async () => {
        await sql`update bot_leases set owner = 'elsewhere', holder = 'elsewhere', epoch = epoch + 1,
          expires_at = (extract(epoch from clock_timestamp()) * 1000)::bigint + 60000 where bot_id = ${botId}`.execute(
          db,
        );
        await until('the lease seen elsewhere', async () => (await driver()) === 'elsewhere');
      };
      const back = async () => {
        await sql`update bot_leases set expires_at = 0 where bot_id = ${botId}`.execute(db);
        await until('the lease back here', async () => (await driver()) === here);
      };
      await until('the bot driven here', async () => (await driver()) === here);

      const c = await openConversation(running, acc);
      await c.say('m1');
      await waitForConversation(admin, acc, c.id, (v) => botTexts(v).includes('echo: m1'), 'the answer to m1');
      // m2 arrives while another instance drives the bot: it is owed, and nothing here answers it.
      await away();
      await c.say('m2');

      // The lease returns and the recovery of the conversation starts, but its read of the log
      // waits (the test holds the log's table) until the lease has moved away again.
      const blocker = await db.connection().execute(async (conn) => {
        await sql`begin`.execute(conn);
        await sql`lock table conversation_events in access exclusive mode`.execute(conn);
        const waiting = () =>
          sql<{
            n: number;
          }>`select count(*)::int as n from pg_locks where relation = 'conversation_events'::regclass and not granted`.execute(
            db,
          );
        await back();
        await until('the recovery waiting for the log', async () => (await waiting()).rows[0].n > 0);
        await away();
        await sql`commit`.execute(conn);
      });
      assert.equal(blocker, undefined);

      // Back once more, its test connection slow, so m3 arrives before this tenure's recovery.
      bot.onState = () => ({ json: { state: 'online', version: '1' }, delayMs: 1_000 });
      await back();
      await c.say('m3');
      const done = await waitForConversation(
        admin,
        acc,
        c.id,
        (v) => botTexts(v).includes('echo: m3'),
        'the answer to m3',
      );
      // m2 may still be on its way (answered in order, before m3): a few seconds at most, then judge.
      await until(
        'every answer',
        async () => {
          const view = (await admin.get(`/admin/v1/accounts/${acc}/conversations/${c.id}`)).body;
          return botTexts(view).length >= 3 || undefined;
        },
        5_000,
      ).catch(() => undefined);
      const final = (await admin.get(`/admin/v1/accounts/${acc}/conversations/${c.id}`)).body;
      assert.deepEqual(
        botTexts(final),
        ['echo: m1', 'echo: m2', 'echo: m3'],
        `nothing skipped, in order: ${botTexts(done)}`,
      );
      const asked = bot.events(c.id).map((r) => r.body.data.message);
      assert.equal(asked.filter((m: string) => m === 'm3').length, 1, `m3 asked once: ${asked}`);
    });
  });
}
