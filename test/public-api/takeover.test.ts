import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN } from '../helpers/app.js';
import { startProcess, type Proc } from '../helpers/process.js';
import { conversationOf, login, openConversation, publicApi, setUpAccount } from './support.js';
import { until } from '../helpers/wait.js';
import { openStore, tablesOf } from '../../src/store/index.js';
import type { PublicApiTables } from '../../src/public-api/jobs.js';

/**
 * A Public API job whose server is killed (kill -9) part-way is finished by another instance on
 * the same PostgreSQL database, or by the restart on the same SQLite data dir: every message
 * exactly once, in order, and the conversation's later jobs after it. Conditions, not durations,
 * decide when to kill.
 */
const env = { ADMIN_TOKEN, DEMO: '0', LOG_LEVEL: 'warn' };
const acc = 'acme';

/** The conversation's texts and a job's status read straight from the store, whoever runs. */
async function stored(store: TestStore, conversationId: string, jobId: string) {
  const opened = await openStore({ dataDir: store.dataDir, databaseUrl: store.databaseUrl });
  try {
    const rows = await opened.db
      .selectFrom('conversation_events')
      .select(['type', 'body'])
      .where('conversation_id', '=', conversationId)
      .orderBy('seq')
      .execute();
    const job = await tablesOf<PublicApiTables>(opened.db)
      .selectFrom('public_api_jobs')
      .select('status')
      .where('id', '=', jobId)
      .executeTakeFirstOrThrow();
    const texts = rows.filter((r) => r.type === 'TEXT').map((r) => (JSON.parse(r.body) as { text: string }).text);
    return { texts, jobStatus: job.status };
  } finally {
    await opened.close();
  }
}

const texts = async (url: string, conversationId: string): Promise<string[]> =>
  (await conversationOf(url, acc, conversationId)).events.filter((e: any) => e.type === 'TEXT').map((e: any) => e.text);

for (const kind of STORES) {
  describe(`Public API v1: a job whose server dies is finished once (${kind})`, () => {
    const stores: TestStore[] = [];
    const procs: Proc[] = [];
    after(async () => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await Promise.all(procs.map((p) => p.exited));
      for (const s of stores) await s.dispose();
    });
    const start = async (store: TestStore) => {
      const proc = await startProcess(store, env);
      procs.push(proc);
      return proc;
    };

    it(
      kind === 'postgres'
        ? 'killed in a pause on one instance, the job is taken over by the other; the job queued behind it runs after it'
        : 'killed in a pause, the job is resumed by the restart; the job queued behind it runs after it',
      async () => {
        const store = await freshStore(kind);
        stores.push(store);
        const one = await start(store);
        // On PostgreSQL the other instance is up throughout; on SQLite it is the restart.
        const other = kind === 'postgres' ? await start(store) : undefined;
        await setUpAccount(one.url, { acc, skills: ['sales'], users: ['api'] });
        const bearer = await login(one.url, acc, 'api');
        const viaOne = publicApi(one.url, acc, bearer);
        const { conversationId } = await openConversation(one.url, acc, { skill: 'sales' });

        // The shortest ttl: the takeover comes after it, and a started job is finished regardless.
        const cut = await viaOne.send(
          'messages',
          conversationId,
          { messages: ['a', { delay: 5, typing: true }, 'b', 'c'] },
          { ttl: '10' },
        );
        assert.equal(cut.status, 200);
        // Accepted by the instance that dies, never started by it.
        const behind = await viaOne.send('messages', conversationId, { messages: ['d'] }, { ttl: '120' });
        assert.equal(behind.status, 200);
        await until("'a' in the log", async () => (await texts(one.url, conversationId)).includes('a'));
        one.child.kill('SIGKILL');
        await one.exited;

        // Read from the store before the restart or the takeover (which may come at once on a slow
        // machine): the dead instance wrote 'a' and never started the job behind.
        const atTheKill = await stored(store, conversationId, behind.body.jobId);
        assert.deepEqual(atTheKill, { texts: ['a'], jobStatus: 'queued' }, 'the kill came during the pause');
        const survivor = other ?? (await start(store));
        const viaSurvivor = publicApi(survivor.url, acc, bearer);

        assert.deepEqual(await viaSurvivor.settled(cut.body.jobId), {
          jobId: cut.body.jobId,
          action: 'messages',
          conversationId,
          status: 'done',
        });
        assert.equal((await viaSurvivor.settled(behind.body.jobId)).status, 'done');
        assert.deepEqual(await texts(survivor.url, conversationId), ['a', 'b', 'c', 'd']);
        assert.match(survivor.stdout(), /public api job of a stopped worker taken over/);
      },
    );

    if (kind === 'postgres') {
      it('an instance only frozen, not dead, whose job was taken over meanwhile writes nothing more of it when it wakes', async () => {
        const store = await freshStore(kind);
        stores.push(store);
        const one = await start(store);
        const two = await start(store);
        await setUpAccount(one.url, { acc, skills: ['sales'], users: ['api'] });
        const bearer = await login(one.url, acc, 'api');
        const { conversationId } = await openConversation(one.url, acc, { skill: 'sales' });
        const job = await publicApi(one.url, acc, bearer).send('messages', conversationId, {
          messages: ['a', { delay: 2, typing: false }, 'b'],
        });
        assert.equal(job.status, 200);
        await until("'a' in the log", async () => (await texts(two.url, conversationId)).includes('a'));
        // Its heartbeat stops with it, so the other instance takes it for gone.
        one.child.kill('SIGSTOP');
        try {
          assert.equal((await publicApi(two.url, acc, bearer).settled(job.body.jobId)).status, 'done');
        } finally {
          one.child.kill('SIGCONT');
        }
        // Its pause long over, the frozen instance goes on with the job, and is refused.
        await one.waitForOutput(
          /public api job taken over by another worker/,
          'the woken instance hears the job is no longer its',
        );
        assert.deepEqual(await texts(one.url, conversationId), ['a', 'b']);
      });
    }
  });
}
