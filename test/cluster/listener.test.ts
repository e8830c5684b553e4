import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import WebSocket from 'ws';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { client, startApp, type Running } from '../helpers/app.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';
import { botTexts, eventually, setupBot, waitForConversation } from '../helpers/connector.js';

/**
 * The change listener of an instance is cut off (its PostgreSQL connections terminated) while
 * another instance writes: once it is back, nothing is missed — streams resume from their own
 * last sequence without a gap or a repeat, and a bot it drives answers what arrived meanwhile.
 */
if (STORES.includes('postgres')) {
  describe('an instance whose change listener was cut off catches up', () => {
    let store: TestStore;
    let one: Running;
    let two: Running;
    const bot = new TestBot();

    before(async () => {
      store = await freshStore('postgres');
      one = await startApp(store, { instanceId: 'listen-one' });
      two = await startApp(store, { instanceId: 'listen-two' });
      await bot.start();
      bot.onEvent = (req) => reply(text(`echo: ${req.body.data.message}`));
    });
    after(async () => {
      await one?.close();
      await two?.close();
      await bot.stop();
      await store?.dispose();
    });

    /** Terminates every connection of the instance, its listener's included. */
    const cutOff = async (instance: string) => {
      const superuser = new pg.Client({ connectionString: store.databaseUrl!.replace(/\/[^/]*$/, '/postgres') });
      await superuser.connect();
      try {
        const { rowCount } = await superuser.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1`,
          [`% ${instance}`],
        );
        assert.ok((rowCount ?? 0) > 0, `${instance} had connections`);
      } finally {
        await superuser.end();
      }
    };

    it('a stream resumes from its last sequence, and the driven bot answers what it missed', async () => {
      const setup = await setupBot(one, bot.url);
      const view = async () => (await setup.admin.get(`/admin/v1/accounts/${setup.acc}/bots/${setup.botId}`)).body;
      const driver = await eventually(
        view,
        (v) => v.instance === 'listen-one' || v.instance === 'listen-two',
        'a driver',
      );
      const [driving, other] = driver.instance === 'listen-one' ? [one, two] : [two, one];
      const drivingName = driver.instance as string;

      const opened = await client(other.url).post(`/api/account/${setup.acc}/consumer/conversations`, { skill: 'bot' });
      const { conversationId, consumerToken } = opened.body;
      const path = `/api/account/${setup.acc}/consumer/conversations/${conversationId}`;
      const say = (via: Running, message: string) =>
        client(via.url, { token: consumerToken }).post(`${path}/messages`, { text: message });
      assert.equal((await say(other, 'first')).status, 201);
      await waitForConversation(
        setup.admin,
        setup.acc,
        conversationId,
        (c) => botTexts(c).includes('echo: first'),
        'the first answer',
      );

      // A stream on the driving instance, then its listener is cut off while the other one writes.
      const received: any[] = [];
      const ws = new WebSocket(`${driving.url.replace(/^http/, 'ws')}${path}/stream`, {
        headers: { authorization: `Bearer ${consumerToken}` },
      });
      ws.on('message', (data) => received.push(JSON.parse(String(data))));
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      await eventually(
        async () => received,
        (r) => r.some((m) => m.kind === 'ready'),
        'the stream ready',
      );
      await cutOff(drivingName);
      assert.equal((await say(other, 'while cut off')).status, 201);
      // The listener is back: the driving instance answers what it missed, once.
      await waitForConversation(
        setup.admin,
        setup.acc,
        conversationId,
        (c) => botTexts(c).includes('echo: while cut off'),
        'the answer to what was missed',
      );
      // Its streams were ended, so clients resume from their last sequence.
      await closed;
      const seen = received.filter((m) => m.kind === 'event').map((m) => m.event.sequence as number);
      const last = Math.max(0, ...seen);
      const resumed = await client(driving.url, { token: consumerToken }).get(`${path}/events?after=${last}`);
      const all = [...seen, ...resumed.body.events.map((e: any) => e.sequence as number)];
      const log = (
        await setup.admin.get(`/admin/v1/accounts/${setup.acc}/conversations/${conversationId}`)
      ).body.events.filter((e: any) => e.audience === 'ALL');
      const firstSeen = Math.min(...all);
      assert.deepEqual(
        all,
        log.map((e: any) => e.sequence).filter((s: number) => s >= firstSeen),
        'no gap, no repeat',
      );
      assert.deepEqual(
        bot.events(conversationId).map((r) => r.body.data.message),
        ['first', 'while cut off'],
        'each message reached the bot once',
      );
      await eventually(
        () => client(driving.url).get('/healthz'),
        (r) => r.status === 200,
        'healthy again',
      );
    });
  });
}
