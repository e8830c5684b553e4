import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
// @ts-expect-error plain JS module shared with the test runner script
import { startPgCluster } from '../../scripts/pg-cluster.mjs';
import { STORES } from '../helpers/stores.js';
import { startProcess, type Proc } from '../helpers/process.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';
import { until } from '../helpers/wait.js';
import { client } from '../helpers/app.js';
import { setupBotOn } from '../helpers/connector.js';
import { timedCall } from '../helpers/timed-http.js';

/**
 * PostgreSQL stopped for several seconds under a running instance (a failover, a maintenance
 * restart, a crashed host), then started again. The instance stays up and says what is wrong;
 * consumers are told 503 at once rather than left hanging; and once the database is back the
 * instance serves again by itself and answers what it had accepted before the outage.
 * The database is this file's own: it is stopped.
 */
const ADMIN = 'outage-admin';

if (STORES.includes('postgres')) {
  describe('the database goes away and comes back (postgres)', () => {
    let cluster: {
      adminUrl: string;
      url(db: string): string;
      stop(): void;
      stopServer(mode: string): Promise<unknown>;
      startServer(): Promise<unknown>;
    };
    let proc: Proc;
    let dataDir = '';
    const bot = new TestBot();
    const acc = 'outage';

    const call = (method: string, path: string, body?: unknown, token = ADMIN, ms = 5_000) =>
      timedCall(proc.url, method, path, { body, token, timeoutMs: ms }).catch((error) => {
        throw new Error(`${method} ${path}: ${String(error)}`);
      });
    const botTexts = async (id: string) =>
      ((await call('GET', `/admin/v1/accounts/${acc}/conversations/${id}`)).body.events as any[])
        .filter((e) => e.originator.role === 'BOT' && e.type === 'TEXT')
        .map((e) => e.text as string);
    const alive = () => proc.child.exitCode === null && proc.child.signalCode === null;

    before(async () => {
      cluster = await startPgCluster({ durable: true });
      const admin = new pg.Client({ connectionString: cluster.adminUrl });
      await admin.connect();
      await admin.query('CREATE DATABASE outage');
      await admin.end();
      await bot.start();
      dataDir = mkdtempSync(join(tmpdir(), 'botbridge-outage-'));
      proc = await startProcess(
        { kind: 'postgres', dataDir, databaseUrl: cluster.url('outage'), dispose: async () => {} },
        { ADMIN_TOKEN: ADMIN, DEMO: '0', LOG_LEVEL: 'warn', INSTANCE_ID: 'only', LEASE_TTL_MS: '3000' },
      );
    });
    after(async () => {
      if (proc && alive()) proc.child.kill('SIGKILL');
      await bot.stop();
      cluster?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('stays up, answers 503 naming the store, serves again by itself, and answers what it accepted before', async () => {
      await setupBotOn(client(proc.url, { token: ADMIN }), bot.url, { acc, vendor: { botId: 'outage' } });
      const opened = await call('POST', `/api/account/${acc}/consumer/conversations`, { skill: 'bot' });
      assert.equal(opened.status, 201);
      const c = { id: opened.body.conversationId as string, token: opened.body.consumerToken as string };
      const say = (message: string, ms?: number) =>
        call('POST', `/api/account/${acc}/consumer/conversations/${c.id}/messages`, { text: message }, c.token, ms);

      // m2's answer is held until the database is down: accepted before the outage, it is owed after.
      let release: () => void = () => {};
      const answerNow = new Promise<void>((resolve) => {
        release = resolve;
      });
      bot.onEvent = async (req) => {
        const message = req.body?.data?.message;
        if (message === 'm2' && bot.events().filter((r) => r.body?.data?.message === 'm2').length === 1)
          await answerNow;
        return reply(text(`echo: ${message}`));
      };
      assert.equal((await say('m1')).status, 201);
      await until('m1 answered', async () => (await botTexts(c.id)).includes('echo: m1'));
      assert.equal((await say('m2')).status, 201);
      await until('m2 at the bot', () => bot.events().some((r) => r.body?.data?.message === 'm2'));

      await cluster.stopServer('fast');
      release();
      try {
        // Down: the probe names the store, a consumer is told so at once, and the process lives on.
        const health = await until('/healthz 503', async () => {
          const r = await call('GET', '/healthz');
          return r.status === 503 && r.body;
        });
        assert.equal(health.status, 'unavailable');
        assert.equal(health.store.ok, false);
        assert.equal(health.store.dialect, 'postgres');
        const refused = await say('m3', 5_000);
        assert.equal(refused.status, 503, JSON.stringify(refused.body));
        assert.equal(refused.body.error.code, 'store-unavailable');
        assert.ok(refused.headers.get('retry-after'), 'told when to try again');
        // Long enough for the instance's work to have failed and backed off more than once.
        await sleep(3_000);
        assert.ok(alive(), `the instance stayed up:\n${proc.stderr().slice(-2000)}`);
      } finally {
        await cluster.startServer();
      }

      // Back: serving again within 15 s with nobody's help; m2, accepted before, is answered.
      await until('/healthz 200', async () => (await call('GET', '/healthz')).status === 200, 15_000);
      await until('m2 answered', async () => (await botTexts(c.id)).includes('echo: m2'), 15_000);
      assert.equal((await say('m4')).status, 201);
      await until('m4 answered', async () => (await botTexts(c.id)).includes('echo: m4'));
      assert.deepEqual(await botTexts(c.id), ['echo: m1', 'echo: m2', 'echo: m4']);
      const m2 = bot.events().filter((r) => r.body?.data?.message === 'm2');
      assert.equal(m2.length, 2, 'm2 sent again after the outage (its answer could not be written), no more');
      assert.equal(m2[0].body.context.lpEvent.sequence, m2[1].body.context.lpEvent.sequence, 'as the same event');
      assert.ok(alive());
    });
  });
}
