import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { openStore, WriteStatements } from '../../src/store/index.js';
import { JobLost, JobStore } from '../../src/public-api/jobs.js';
import { publicApiMigrations } from '../../src/public-api/index.js';
import { conversationOf, login, openConversation, publicApi, setUpAccount, type PublicApi } from './support.js';

for (const kind of STORES) {
  describe(`Public API v1: the job queue (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let api: PublicApi;
    let bearer: string;
    let apiUserId: string;
    const acc = 'acme';

    const texts = async (conversationId: string) =>
      (await conversationOf(running.url, acc, conversationId)).events
        .filter((e: any) => e.type === 'TEXT')
        .map((e: any) => e.text);

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      ({ api: apiUserId } = await setUpAccount(running.url, {
        acc,
        skills: ['sales', 'human_skill', 'bots'],
        users: ['api'],
      }));
      bearer = await login(running.url, acc, 'api');
      api = publicApi(running.url, acc, bearer);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('a job whose conversation stays busy past its ttl expires and does nothing; other conversations do not wait', async () => {
      const busy = await openConversation(running.url, acc, { skill: 'sales' });
      const free = await openConversation(running.url, acc, { skill: 'sales' });
      const pause = await api.send('messages', busy.conversationId, {
        messages: [{ delay: 12, typing: true }, 'after the pause'],
      });
      assert.equal(pause.status, 200);
      // Started before anything else is asked: the worker takes conversations side by side, so
      // that it starts this one before the free conversation's job is done is not promised.
      while ((await api.job(pause.body.jobId)).body.status !== 'running') await new Promise((r) => setTimeout(r, 20));
      const transfer = await api.send('transfer', busy.conversationId, { skill: 'human_skill' }, { ttl: '10' });
      assert.equal(transfer.status, 200);
      assert.equal((await api.job(transfer.body.jobId)).body.status, 'queued');

      // Another conversation's job is carried out while the first one still pauses.
      assert.equal((await api.run('messages', free.conversationId, { messages: ['not held up'] })).status, 'done');
      assert.equal((await api.job(pause.body.jobId)).body.status, 'running');
      assert.deepEqual(await texts(free.conversationId), ['not held up']);

      const expired = await api.settled(transfer.body.jobId);
      assert.deepEqual(expired, {
        jobId: transfer.body.jobId,
        action: 'transfer',
        conversationId: busy.conversationId,
        status: 'expired',
      });
      assert.equal((await api.settled(pause.body.jobId)).status, 'done');
      const conversation = await conversationOf(running.url, acc, busy.conversationId);
      assert.equal(conversation.skill.name, 'sales');
      assert.ok(!conversation.events.some((e: any) => e.type === 'TRANSFER'));
      assert.deepEqual(await texts(busy.conversationId), ['after the pause']);
      // Expired stays expired once the conversation is free again.
      assert.equal((await api.job(transfer.body.jobId)).body.status, 'expired');
    });

    it('one conversation’s jobs run in the order they were accepted, whatever their action', async () => {
      const { conversationId } = await openConversation(running.url, acc, { skill: 'sales' });
      const jobIds: string[] = [];
      const send = async (action: string, body: unknown, method: 'PUT' | 'POST' = 'POST') => {
        const res = await api.send(action, conversationId, body, { method });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        jobIds.push(res.body.jobId);
      };
      await send('messages', { messages: ['one', { delay: 1, typing: false }, 'two'] });
      await send('ttr', { ttrType: 'PRIORITIZED' }, 'PUT');
      await send('messages', { messages: ['three'] });
      await send(
        'sdes',
        { sdes: [{ type: 'personal', personal: { firstname: 'Ada' } }], sharkVisitorId: 'v', sharkSessionId: 's' },
        'PUT',
      );
      await send('messages', { messages: ['four'] }, 'PUT');
      await send('transfer', { skill: 'human_skill' });
      for (const id of jobIds) assert.equal((await api.settled(id)).status, 'done');

      const { events } = await conversationOf(running.url, acc, conversationId);
      const log = events
        .filter((e: any) => ['TEXT', 'TTR', 'SDES', 'TRANSFER'].includes(e.type))
        .map((e: any) => (e.type === 'TEXT' ? e.text : e.type));
      assert.deepEqual(log, ['one', 'two', 'TTR', 'three', 'SDES', 'four', 'TRANSFER']);

      // Prometheus counts them and times them from accepted to done, by action.
      const metrics = await (await fetch(`${running.url}/metrics`)).text();
      const count = (name: string, action: string) =>
        Number(new RegExp(`^${name}\\{action="${action}",status="done"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
      assert.ok(count('botbridge_public_api_jobs_total', 'messages') >= 3);
      assert.ok(count('botbridge_public_api_job_duration_seconds_count', 'messages') >= 3);
      assert.ok(count('botbridge_public_api_job_duration_seconds_count', 'transfer') >= 1);
    });

    it('a conversation closed while jobs wait: they fail with the reason, nothing crashes', async () => {
      const { conversationId, consumerToken } = await openConversation(running.url, acc, { skill: 'sales' });
      const paused = await api.send('messages', conversationId, { messages: [{ delay: 3, typing: true }, 'too late'] });
      const queued = await api.send('ttr', conversationId, { ttrType: 'URGENT' });
      assert.equal(paused.status, 200);
      assert.equal(queued.status, 200);
      const consumer = client(running.url, { token: consumerToken });
      assert.equal(
        (await consumer.post(`/api/account/${acc}/consumer/conversations/${conversationId}/close`)).status,
        200,
      );

      const first = await api.settled(paused.body.jobId);
      assert.equal(first.status, 'failed');
      assert.equal(first.error, 'conversation is closed');
      const second = await api.settled(queued.body.jobId);
      assert.equal(second.status, 'failed');
      assert.equal(second.error, 'conversation is closed');
      const conversation = await conversationOf(running.url, acc, conversationId);
      assert.equal(conversation.closeReason, 'CONSUMER');
      assert.deepEqual(await texts(conversationId), []);
      assert.deepEqual(conversation.ttr, { ttrType: 'NORMAL' });
      // The queue goes on serving.
      const next = await openConversation(running.url, acc, { skill: 'sales' });
      assert.equal((await api.run('messages', next.conversationId, { messages: ['still serving'] })).status, 'done');
    });

    it('with a bot holding the conversation, the Public API speaks as that bot', async () => {
      const admin = client(running.url, { token: ADMIN_TOKEN });
      const bot = await admin.post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'helper-bot',
        userType: 'BOT',
        skills: ['bots'],
      });
      assert.equal(bot.status, 201);
      await running.app.directory.setUserState(bot.body.id, 'ONLINE');
      const { conversationId } = await openConversation(running.url, acc, { skill: 'bots' });
      assert.deepEqual((await conversationOf(running.url, acc, conversationId)).assignee?.userId, bot.body.id);

      assert.equal((await api.run('messages', conversationId, { messages: ['from the bot'] })).status, 'done');
      assert.equal((await api.run('transfer', conversationId, { skill: 'human_skill' })).status, 'done');
      assert.equal((await api.run('messages', conversationId, { messages: ['from the API user'] })).status, 'done');
      const { events } = await conversationOf(running.url, acc, conversationId);
      const byText = (text: string) => events.find((e: any) => e.text === text);
      assert.deepEqual(byText('from the bot').originator, { role: 'BOT', userId: bot.body.id });
      assert.deepEqual(events.find((e: any) => e.type === 'TRANSFER').originator, { role: 'BOT', userId: bot.body.id });
      // Queued on a human skill now: no bot holds it, the API user speaks as an agent.
      assert.deepEqual(byText('from the API user').originator, { role: 'AGENT', userId: apiUserId });
      await running.app.directory.setUserState(bot.body.id, 'OFFLINE');
    });

    it('finished jobs and silent workers are forgotten after their retention; waiting jobs never', async () => {
      // On a store of its own, so no worker takes the hand-made jobs.
      const scratch = await freshStore(kind);
      const direct = await openStore({ dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl });
      try {
        await direct.migrate(publicApiMigrations(direct.dialect));
        const eightDaysAgo = Date.now() - 8 * 86_400_000;
        const old = new JobStore(direct, () => eightDaysAgo);
        const now = new JobStore(direct);
        const input = (conversationId: string) => ({
          accountId: acc,
          conversationId,
          action: 'close' as const,
          payload: {},
          actorUserId: apiUserId,
          ttlSeconds: 30,
        });
        const worker = { self: 'a-worker', aliveSince: 0 };
        const finishedLongAgo = await old.add(input('c-1'));
        assert.equal((await old.next('c-1', worker)).kind, 'started');
        await old.finish(finishedLongAgo.id, worker.self, { status: 'done' });
        const waitingLongAgo = await old.add(input('c-2'));
        const finishedRecently = await now.add(input('c-3'));
        assert.equal((await now.next('c-3', worker)).kind, 'started');
        await now.finish(finishedRecently.id, worker.self, { status: 'done' });

        assert.equal(await now.prune(Date.now() - 7 * 86_400_000), 1);
        assert.equal(await now.get(acc, finishedLongAgo.id), undefined);
        assert.equal((await now.get(acc, finishedRecently.id))?.status, 'done');
        // Still there (and, read now, expired: its ttl ran out long ago).
        assert.equal((await now.get(acc, waitingLongAgo.id))?.status, 'expired');

        // A worker that crashed long ago (it never retired) is forgotten; one beating now is kept,
        // and the job the crashed one left running is still taken over.
        await old.heartbeat('crashed-worker');
        await now.heartbeat('live-worker');
        const leftRunning = await now.add(input('c-4'));
        assert.equal((await now.next('c-4', { self: 'crashed-worker', aliveSince: 0 })).kind, 'started');
        assert.equal(await now.forgetWorkers(Date.now() - 7 * 86_400_000), 1);
        const live = { self: 'live-worker', aliveSince: Date.now() - 60_000 };
        assert.deepEqual(await now.abandoned(live), ['c-4']);
        const takeover = await now.next('c-4', live);
        assert.equal(takeover.kind === 'resumed' && takeover.job.id, leftRunning.id);
        assert.equal(await now.forgetWorkers(Date.now() - 7 * 86_400_000), 0, 'the live worker stays');
      } finally {
        await direct.close();
        await scratch.dispose();
      }
    });

    it('a job is taken over only from a worker that is gone, from its committed progress, ttl or not; the old worker can write no more of it', async () => {
      // On a store of its own, so no worker of the app takes the hand-made jobs.
      const scratch = await freshStore(kind);
      const direct = await openStore({ dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl });
      try {
        await direct.migrate(publicApiMigrations(direct.dialect));
        const jobs = new JobStore(direct);
        // A job's progress moves with a conversation change's transaction; here, a transaction of its own.
        const statements = new WriteStatements(direct.dialect);
        const payload = { messages: ['one', { delay: 1 }, 'two'] };
        const job = await jobs.add({
          accountId: acc,
          conversationId: 'c-1',
          action: 'messages',
          payload,
          actorUserId: apiUserId,
          ttlSeconds: 10,
        });
        const behind = await jobs.add({
          accountId: acc,
          conversationId: 'c-1',
          action: 'close',
          payload: {},
          actorUserId: apiUserId,
          ttlSeconds: 120,
        });
        const first = { self: 'first', aliveSince: Date.now() - 60_000 };
        const second = { self: 'second', aliveSince: Date.now() - 60_000 };
        await jobs.heartbeat(first.self);
        const started = await jobs.next('c-1', first);
        assert.equal(started.kind, 'started');
        const resumeAt = Date.now() + 1000;
        await direct.transact((tx) =>
          statements.enforce(tx, jobs.progressGuard(job.id, first.self, { items: 0 }, { items: 2, resumeAt })),
        );

        // Beating: its job is left alone, and so is the one behind it.
        assert.equal((await jobs.next('c-1', second)).kind, 'busy');
        assert.deepEqual(await jobs.abandoned(second), []);

        // Gone (its last beat before aliveSince), past the job's ttl: taken over, not expired.
        const later = new JobStore(direct, () => Date.now() + 60_000);
        const afterItsTtl = { self: 'second', aliveSince: Date.now() + 1 };
        assert.deepEqual(await later.abandoned(afterItsTtl), ['c-1']);
        const resumed = await later.next('c-1', afterItsTtl);
        assert.ok(resumed.kind === 'resumed', resumed.kind);
        assert.equal(resumed.from, first.self);
        assert.deepEqual(
          [resumed.job.id, resumed.job.status, resumed.job.progress],
          [job.id, 'running', { items: 2, resumeAt }],
        );

        // The first worker, back, may commit nothing more of it: its write throws and rolls back.
        await assert.rejects(
          direct.transact((tx) =>
            statements.enforce(tx, jobs.progressGuard(job.id, first.self, { items: 2, resumeAt }, 'done')),
          ),
          JobLost,
        );
        // Nor may the new one from anywhere but where the job stands.
        await assert.rejects(
          direct.transact((tx) =>
            statements.enforce(tx, jobs.progressGuard(job.id, second.self, { items: 0 }, 'done')),
          ),
          JobLost,
        );
        await direct.transact((tx) =>
          statements.enforce(tx, jobs.progressGuard(job.id, second.self, { items: 2, resumeAt }, 'done')),
        );
        assert.equal((await jobs.get(acc, job.id))?.status, 'done');
        const next = await jobs.next('c-1', second);
        assert.deepEqual([next.kind, next.kind === 'started' && next.job.id], ['started', behind.id]);
      } finally {
        await direct.close();
        await scratch.dispose();
      }
    });

    it('workers racing for the same conversations start each job once, a conversation’s jobs one at a time and in order', async () => {
      const scratch = await freshStore(kind);
      const direct = await openStore({ dataDir: scratch.dataDir, databaseUrl: scratch.databaseUrl });
      try {
        await direct.migrate(publicApiMigrations(direct.dialect));
        const jobs = new JobStore(direct);
        const statements = new WriteStatements(direct.dialect);
        const conversations = Array.from({ length: 8 }, (_, i) => `race-${i}`);
        const accepted = new Map<string, string[]>();
        for (const conversationId of conversations)
          for (let n = 0; n < 4; n++) {
            const job = await jobs.add({
              accountId: acc,
              conversationId,
              action: 'close',
              payload: {},
              actorUserId: apiUserId,
              ttlSeconds: 60,
            });
            accepted.set(conversationId, [...(accepted.get(conversationId) ?? []), job.id]);
          }
        const ran = new Map<string, string[]>();
        const running = new Set<string>();
        // Each worker drains every conversation as its own worker would; they meet on every queue.
        const worker = async (self: string) => {
          await jobs.heartbeat(self);
          const claimant = { self, aliveSince: Date.now() - 60_000 };
          await Promise.all(
            conversations.map(async (conversationId) => {
              for (;;) {
                const step = await jobs.next(conversationId, claimant);
                if (step.kind === 'idle') return;
                if (step.kind === 'busy') {
                  await new Promise((resolve) => setTimeout(resolve, 5));
                  continue;
                }
                assert.equal(step.kind, 'started', `${self} ${step.kind}`);
                assert.ok(!running.has(conversationId), `two jobs of ${conversationId} at once`);
                running.add(conversationId);
                ran.set(conversationId, [...(ran.get(conversationId) ?? []), step.job.id]);
                await new Promise((resolve) => setTimeout(resolve, 1));
                running.delete(conversationId);
                await direct.transact((tx) =>
                  statements.enforce(tx, jobs.progressGuard(step.job.id, self, step.job.progress, 'done')),
                );
              }
            }),
          );
        };
        await Promise.all([worker('one'), worker('two')]);
        assert.deepEqual(Object.fromEntries(ran), Object.fromEntries(accepted));
      } finally {
        await direct.close();
        await scratch.dispose();
      }
    });

    it('a restart keeps waiting jobs and runs them; a job cut short by the shutdown or a crash is finished once from where it stopped', async () => {
      const { conversationId } = await openConversation(running.url, acc, { skill: 'sales' });
      const crashedConversation = await openConversation(running.url, acc, { skill: 'sales' });
      const cut = await api.send('messages', conversationId, {
        messages: ['before', { delay: 2, typing: true }, 'after the pause'],
      });
      const waiting = await api.send(
        'messages',
        conversationId,
        { messages: ['sent after the restart'] },
        { ttl: '120' },
      );
      assert.equal(cut.status, 200);
      assert.equal(waiting.status, 200);
      while (!(await texts(conversationId)).includes('before')) await new Promise((r) => setTimeout(r, 20));
      await running.close();

      // What a crash would leave behind: a job running on a server that is gone, one behind it,
      // and one whose ttl ran out while no server was there.
      const direct = await openStore({ dataDir: store.dataDir, databaseUrl: store.databaseUrl });
      const jobs = new JobStore(direct);
      const job = (conversation: string, text: string, ttlSeconds = 60) => ({
        accountId: acc,
        conversationId: conversation,
        action: 'messages' as const,
        payload: { messages: [text] },
        actorUserId: apiUserId,
        ttlSeconds,
      });
      const crashed = await jobs.add(job(crashedConversation.conversationId, 'crashed'));
      assert.equal(
        (await jobs.next(crashedConversation.conversationId, { self: 'a-server-that-crashed', aliveSince: 0 })).kind,
        'started',
      );
      const behindCrashed = await jobs.add(job(crashedConversation.conversationId, 'after the crash'));
      const stale = await new JobStore(direct, () => Date.now() - 60_000).add(job(conversationId, 'stale', 10));
      await direct.close();

      running = await startApp(store);
      // The bearer from before the restart still works: its signing secret lives in the store.
      api = publicApi(running.url, acc, bearer);
      assert.equal((await api.settled(cut.body.jobId)).status, 'done');
      assert.equal((await api.settled(waiting.body.jobId)).status, 'done');
      assert.equal((await api.settled(stale.id)).status, 'expired');
      assert.deepEqual(await texts(conversationId), ['before', 'after the pause', 'sent after the restart']);

      assert.equal((await api.settled(crashed.id)).status, 'done');
      assert.equal((await api.settled(behindCrashed.id)).status, 'done');
      assert.deepEqual(await texts(crashedConversation.conversationId), ['crashed', 'after the crash']);
    });
  });

  if (kind === 'postgres') {
    describe('Public API v1: jobs with two instances on one PostgreSQL database', () => {
      let store: TestStore;
      let one: Running;
      let two: Running;
      const acc = 'acme';

      before(async () => {
        store = await freshStore('postgres');
        [one, two] = await Promise.all([startApp(store), startApp(store)]);
        await setUpAccount(one.url, { acc, skills: ['sales'], users: ['api'] });
      });
      after(async () => {
        await one?.close();
        await two?.close();
        await store?.dispose();
      });

      it('a conversation’s jobs keep their order whichever instance accepted them; a starting instance leaves running jobs alone', async () => {
        const bearer = await login(one.url, acc, 'api');
        const viaOne = publicApi(one.url, acc, bearer);
        const viaTwo = publicApi(two.url, acc, bearer);
        const { conversationId } = await openConversation(two.url, acc, { skill: 'sales' });
        const first = await viaOne.send('messages', conversationId, {
          messages: [{ delay: 3, typing: false }, 'first'],
        });
        assert.equal(first.status, 200);
        while ((await viaOne.job(first.body.jobId)).body.status !== 'running')
          await new Promise((r) => setTimeout(r, 20));
        const second = await viaTwo.send('messages', conversationId, { messages: ['second'] });
        assert.equal(second.status, 200);

        // A third instance starting now must not take the first job for abandoned.
        const three = await startApp(store);
        try {
          assert.equal((await viaTwo.job(first.body.jobId)).body.status, 'running');
          assert.equal((await viaTwo.settled(first.body.jobId)).status, 'done');
          assert.equal((await viaOne.settled(second.body.jobId)).status, 'done');
        } finally {
          await three.close();
        }
        const { events } = await conversationOf(one.url, acc, conversationId);
        assert.deepEqual(
          events.filter((e: any) => e.type === 'TEXT').map((e: any) => e.text),
          ['first', 'second'],
        );
      });
    });
  }

  if (kind === 'postgres') {
    describe('Public API v1: one lock order for a job’s change on PostgreSQL', () => {
      let store: TestStore;
      let running: Running;
      const acc = 'acme';

      before(async () => {
        store = await freshStore('postgres');
        running = await startApp(store);
        await setUpAccount(running.url, { acc, skills: ['bots'], users: ['api'] });
      });
      after(async () => {
        await running?.close();
        await store?.dispose();
      });

      it('the job’s row is locked before the conversation’s, as in the one-statement path', async () => {
        // A bot holds the conversation: closing it moves the bot's load, which takes the transaction path.
        const admin = client(running.url, { token: ADMIN_TOKEN });
        const bot = await admin.post(`/admin/v1/accounts/${acc}/users`, {
          loginName: 'holding-bot',
          userType: 'BOT',
          skills: ['bots'],
        });
        assert.equal(bot.status, 201);
        await running.app.directory.setUserState(bot.body.id, 'ONLINE');
        const { conversationId } = await openConversation(running.url, acc, { skill: 'bots' });
        assert.equal((await conversationOf(running.url, acc, conversationId)).assignee?.userId, bot.body.id);

        const holder = new pg.Client({ connectionString: store.databaseUrl });
        const prober = new pg.Client({ connectionString: store.databaseUrl });
        await holder.connect();
        await prober.connect();
        try {
          // Another writer holds the conversation's row.
          await holder.query('begin');
          await holder.query('select id from conversations where id = $1 for update', [conversationId]);
          const api = publicApi(running.url, acc, await login(running.url, acc, 'api'));
          const close = await api.send('close', conversationId);
          assert.equal(close.status, 200);
          // Until the worker's change waits for that row (a condition, polled)…
          for (;;) {
            const { rows } = await prober.query(
              `select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%from "conversations"%for update%'`,
            );
            if (rows.length) break;
            await new Promise((r) => setTimeout(r, 20));
          }
          // …by which time it already holds the job's row.
          await assert.rejects(
            prober.query('select id from public_api_jobs where id = $1 for update nowait', [close.body.jobId]),
            (error: { code?: string }) => error.code === '55P03',
          );
          await holder.query('rollback');
          assert.equal((await api.settled(close.body.jobId)).status, 'done');
          assert.equal((await conversationOf(running.url, acc, conversationId)).status, 'CLOSED');
        } finally {
          await holder.end();
          await prober.end();
          await running.app.directory.setUserState(bot.body.id, 'OFFLINE');
        }
      });
    });
  }

  describe(`Public API v1: login rate limiting (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    const acc = 'acme';

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      await setUpAccount(running.url, { acc, skills: [], users: ['alice', 'bob', 'carol', 'dave'] });
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    const attempt = (username: string, password: string) =>
      client(running.url).post(`/api/account/${acc}/login?v=1.3`, { username, password });

    it('repeated failures for one user: 429 with Retry-After, even with the right password; other users unaffected', async () => {
      for (let i = 0; i < 5; i++) assert.equal((await attempt('alice', `guess ${i}`)).status, 401);
      for (const password of ['guess again', 'correct horse battery']) {
        const limited = await attempt('alice', password);
        assert.equal(limited.status, 429);
        assert.equal(limited.body.error.code, 'too-many-attempts');
        const retryAfter = Number(limited.headers.get('retry-after'));
        assert.ok(
          Number.isInteger(retryAfter) && retryAfter > 0,
          `Retry-After is whole seconds: ${limited.headers.get('retry-after')}`,
        );
      }
      assert.equal((await attempt('bob', 'correct horse battery')).status, 200);
    });

    it('a successful login clears the user’s failures', async () => {
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 4; i++) assert.equal((await attempt('dave', `guess ${i}`)).status, 401);
        assert.equal((await attempt('dave', 'correct horse battery')).status, 200);
      }
    });

    it('repeated failures from one address, spread over many names: the address is limited', async () => {
      // 5 (alice) + 8 (dave) failures so far from this address; a spread of unknown names adds the rest.
      let status = 401;
      for (let i = 0; i < 20 && status === 401; i++) status = (await attempt(`nobody-${i}`, 'guess')).status;
      assert.equal(status, 429);
      const carol = await attempt('carol', 'correct horse battery');
      assert.equal(carol.status, 429);
      assert.ok(Number(carol.headers.get('retry-after')) > 0);
    });
  });
}
