import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { startProcess, type Proc } from '../helpers/process.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';
import { until } from '../helpers/wait.js';
import { client } from '../helpers/app.js';
import { setupBotOn } from '../helpers/connector.js';
import { timedCall } from '../helpers/timed-http.js';

/**
 * The bot's driver frozen (SIGSTOP, as a long GC pause, a VM migration or a debugger does) on two
 * real server processes sharing one PostgreSQL. A frozen process does nothing, but its database
 * session is still there, with whatever transaction it had open: the other instance must not wait
 * on it, and the frozen one, woken, must send the bot nothing its lease no longer covers.
 */
const ADMIN = 'frozen-admin';
const LEASE_TTL_MS = 3_000;
/** The bounds: taken over within the lease + 6 s; healthy instances accept within 3 s. */
const TAKEOVER_MS = LEASE_TTL_MS + 6_000;
const ACCEPT_MS = 3_000;

if (STORES.includes('postgres')) {
  describe('a frozen driver (two instances on one PostgreSQL)', () => {
    let store: TestStore;
    let db: pg.Client;
    const dirs: string[] = [];
    const procs = new Map<string, Proc>();
    const bot = new TestBot();
    const secretKey = randomBytes(32).toString('base64');
    const acc = 'frozen';
    let botId = '';

    const launch = async (name: string) => {
      const dataDir = mkdtempSync(join(tmpdir(), `botbridge-${name}-`));
      dirs.push(dataDir);
      const proc = await startProcess(
        { ...store, dataDir },
        {
          ADMIN_TOKEN: ADMIN,
          DEMO: '0',
          LOG_LEVEL: 'warn',
          INSTANCE_ID: name,
          SECRET_KEY: secretKey,
          LEASE_TTL_MS: String(LEASE_TTL_MS),
          LEASE_RENEW_MS: '750',
        },
      );
      procs.set(name, proc);
    };
    /** One request, given up after `ms`: a frozen holder's locks show up as a hang here. */
    const call = (name: string, method: string, path: string, body?: unknown, token = ADMIN, ms = 5_000) =>
      timedCall(procs.get(name)!.url, method, path, { body, token, timeoutMs: ms }).catch((error) => {
        throw new Error(`${method} ${path} on ${name}: ${String(error)}`);
      });
    const driverSeenBy = async (name: string) =>
      (await call(name, 'GET', `/admin/v1/accounts/${acc}/bots/${botId}`)).body.instance as string | null;
    const events = async (id: string, name: string) =>
      (await call(name, 'GET', `/admin/v1/accounts/${acc}/conversations/${id}`)).body.events as any[];
    const open = async (name: string) => {
      const r = await call(name, 'POST', `/api/account/${acc}/consumer/conversations`, { skill: 'bot' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return { id: r.body.conversationId as string, token: r.body.consumerToken as string };
    };
    const say = (name: string, c: { id: string; token: string }, message: string, ms?: number) =>
      call(name, 'POST', `/api/account/${acc}/consumer/conversations/${c.id}/messages`, { text: message }, c.token, ms);
    const deliveries = (message: string) => bot.events().filter((r) => r.body?.data?.message === message).length;
    const alive = (name: string) => {
      const child = procs.get(name)!.child;
      return child.exitCode === null && child.signalCode === null;
    };

    before(async () => {
      store = await freshStore('postgres');
      db = new pg.Client({ connectionString: store.databaseUrl });
      await db.connect();
      await bot.start();
      await launch('A');
      await launch('B');
      ({ botId } = await setupBotOn(client(procs.get('A')!.url, { token: ADMIN }), bot.url, {
        acc,
        vendor: { botId: 'frozen' },
      }));
      await until('a driver', async () => await driverSeenBy('B'));
    });
    after(async () => {
      for (const p of procs.values()) {
        p.child.kill('SIGCONT');
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      }
      await db?.end();
      await bot.stop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      await store?.dispose();
    });

    it('frozen inside a transaction that holds the lease and the conversation: the other instance takes over and accepts meanwhile', async () => {
      const frozen = (await driverSeenBy('A'))!;
      const healthy = frozen === 'A' ? 'B' : 'A';
      const c = await open(healthy);

      // The answer is a transfer, which commits in a transaction: the lease's row (for share),
      // the conversation's row, then its log. The test holds the log's table while the driver
      // commits, so the driver is frozen with the first two locks taken and the transaction open.
      let holding = false;
      bot.onEvent = async (req) => {
        if (!holding && req.body?.data?.message === 'm1') {
          holding = true;
          await db.query('begin');
          await db.query('lock table conversation_events in access exclusive mode');
        }
        return reply(text('moving you'), {
          type: 'ACTION',
          data: { name: 'TRANSFER', parameters: { skillName: 'human' } },
        });
      };
      assert.equal((await say(healthy, c, 'm1')).status, 201);
      const waiting = async () =>
        (
          await db.query(
            `select count(*)::int as n from pg_locks where relation = 'conversation_events'::regclass and not granted`,
          )
        ).rows[0].n > 0;
      await until('the driver’s commit waiting for the log', waiting, 10_000);
      procs.get(frozen)!.child.kill('SIGSTOP');
      await db.query('commit');
      const stopped = Date.now();

      try {
        // The frozen session's locks must not hold anyone up: its lease is taken over …
        await until(
          'the other instance driving the bot',
          async () => (await driverSeenBy(healthy)) === healthy,
          TAKEOVER_MS,
        );
        assert.ok(Date.now() - stopped <= TAKEOVER_MS + 1_000, 'taken over within the lease + 6 s');
        // … and the conversation whose row it had locked takes a consumer message at once.
        const later = await say(healthy, c, 'm2', ACCEPT_MS);
        assert.equal(later.status, 201, JSON.stringify(later.body));
        // The new driver sends the answer in flight again (the same event), and it commits once.
        await until(
          'the transfer committed',
          async () => (await events(c.id, healthy)).some((e) => e.type === 'TRANSFER'),
          TAKEOVER_MS,
        );
      } finally {
        procs.get(frozen)!.child.kill('SIGCONT');
      }
      const log = await events(c.id, healthy);
      const answers = log.filter((e) => e.originator.role === 'BOT' && e.type === 'TEXT' && e.text === 'moving you');
      assert.equal(answers.length, 1, `answered once: ${JSON.stringify(log)}`);
      assert.equal(log.filter((e) => e.type === 'TRANSFER').length, 1, 'transferred once');
      // Woken, the instance that was frozen lives on and serves.
      await until('the woken instance serving', async () => (await call(frozen, 'GET', '/healthz')).status === 200);
      assert.ok(alive(frozen), 'the woken instance did not exit');
    });

    it('woken with a retry to the bot due, after its lease moved on, the ex-driver sends the bot nothing', async () => {
      const frozen = (await until('a driver', () => driverSeenBy('A'))) as string;
      const healthy = frozen === 'A' ? 'B' : 'A';
      const c = await open(healthy);
      let release: () => void = () => {};
      const answerNow = new Promise<void>((resolve) => {
        release = resolve;
      });
      // The driver's first request for n1 is answered 503 (retry after 1 s) only once it is
      // frozen: woken, it has a retry due. Later requests (the new driver's) are answered.
      bot.onEvent = async (req) => {
        const message = req.body?.data?.message;
        if (message === 'n1' && deliveries('n1') === 1) {
          await answerNow;
          return { status: 503, json: { error: 'busy' }, headers: { 'retry-after': '1' } };
        }
        return reply(text(`echo: ${message}`));
      };

      assert.equal((await say(healthy, c, 'n1')).status, 201);
      await until('n1 at the bot', () => deliveries('n1') === 1);
      procs.get(frozen)!.child.kill('SIGSTOP');
      release();
      try {
        // Generous: this test is about what the woken one sends, not how soon it is replaced.
        await until('the other instance driving the bot', async () => (await driverSeenBy(healthy)) === healthy);
        await until('n1 answered by the new driver', async () =>
          (await events(c.id, healthy)).some((e) => e.originator.role === 'BOT' && e.text === 'echo: n1'),
        );
      } finally {
        procs.get(frozen)!.child.kill('SIGCONT');
      }
      await until('the woken instance serving', async () => (await call(frozen, 'GET', '/healthz')).status === 200);
      // A message through the woken instance: it takes it, and the driver answers it.
      assert.equal((await say(frozen, c, 'n2')).status, 201);
      await until('n2 answered', async () =>
        (await events(c.id, healthy)).some((e) => e.originator.role === 'BOT' && e.text === 'echo: n2'),
      );
      // Not a bound on anything: time for the retry the woken instance had due (1 s after the
      // 503 it read on waking) to have been sent, were it sent.
      await sleep(2_000);
      const n1 = bot.events().filter((r) => r.body?.data?.message === 'n1');
      assert.equal(n1.length, 2, 'n1 sent twice: once before the freeze (in flight), once by the new driver');
      assert.equal(n1[0].body.context.lpEvent.sequence, n1[1].body.context.lpEvent.sequence, 'the same event');
      assert.equal(deliveries('n2'), 1);
      const texts = (await events(c.id, healthy)).filter((e) => e.originator.role === 'BOT').map((e) => e.text);
      assert.deepEqual(texts, ['echo: n1', 'echo: n2']);
      assert.ok(alive(frozen), 'the woken instance did not exit');
    });
  });
}
