import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { client } from '../helpers/app.js';
import { startProcess, type Proc } from '../helpers/process.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';
import { until } from '../helpers/wait.js';

/**
 * Three real server processes on one PostgreSQL, as a cluster behind a load balancer runs: any
 * instance serves anyone, each bot is driven by exactly one of them, and a dead one's bots move on.
 */
const ADMIN = 'cluster-admin';

if (STORES.includes('postgres')) {
  describe('a cluster of three instances on one PostgreSQL', () => {
    let store: TestStore;
    const dirs: string[] = [];
    const procs = new Map<string, Proc>();
    const bot = new TestBot();
    const secretKey = randomBytes(32).toString('base64');
    const acc = 'cluster';
    let botId = '';

    /** An instance of the cluster: its own data dir, the shared database and SECRET_KEY. */
    const launch = async (name: string) => {
      const dataDir = mkdtempSync(join(tmpdir(), `botbridge-${name}-`));
      dirs.push(dataDir);
      const proc = await startProcess(
        { ...store, dataDir },
        { ADMIN_TOKEN: ADMIN, DEMO: '0', LOG_LEVEL: 'warn', INSTANCE_ID: name, SECRET_KEY: secretKey },
      );
      procs.set(name, proc);
      return proc;
    };
    const url = (name: string) => procs.get(name)!.url;
    const admin = (name: string) => client(url(name), { token: ADMIN });
    const view = async (name: string) => (await admin(name).get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body;
    const conversation = async (name: string, id: string) =>
      (await admin(name).get(`/admin/v1/accounts/${acc}/conversations/${id}`)).body;
    const botTexts = (c: any) =>
      c.events.filter((e: any) => e.originator.role === 'BOT' && e.type === 'TEXT').map((e: any) => e.text);
    const open = async (name: string) => {
      const opened = await client(url(name)).post(`/api/account/${acc}/consumer/conversations`, { skill: 'bot' });
      assert.equal(opened.status, 201, JSON.stringify(opened.body));
      return { id: opened.body.conversationId as string, token: opened.body.consumerToken as string };
    };
    const say = async (name: string, c: { id: string; token: string }, message: string) => {
      const r = await client(url(name), { token: c.token }).post(
        `/api/account/${acc}/consumer/conversations/${c.id}/messages`,
        { text: message },
      );
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.sequence as number;
    };

    before(async () => {
      store = await freshStore('postgres');
      await bot.start();
      bot.onEvent = (req) => reply(text(`echo: ${req.body.data.message}`));
      // One first (it migrates the empty database), then the others.
      await launch('A');
      await Promise.all([launch('B'), launch('C')]);
      assert.equal((await admin('A').post('/admin/v1/accounts', { accountId: acc })).status, 201);
      for (const name of ['bot', 'escalation'])
        assert.equal((await admin('B').post(`/admin/v1/accounts/${acc}/skills`, { name })).status, 201);
    });
    after(async () => {
      for (const p of procs.values())
        if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await bot.stop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      await store?.dispose();
    });

    it('a bot configured and started through A answers a conversation opened through B exactly once; a stream on C sees the reply', async () => {
      const app = await admin('A').post(`/admin/v1/accounts/${acc}/apps`, {
        name: 'bot',
        scope: 'thirdpartybots.customendpoint.bot',
      });
      const created = await admin('A').post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'cluster bot',
        conversationType: 'MESSAGING',
        skills: ['bot'],
        vendor: {
          type: 'CUSTOM_ENDPOINT',
          baseUrl: bot.url,
          clientId: app.body.client_id,
          clientSecret: app.body.client_secret,
          botId: 'cluster',
        },
        escalation: { skill: 'escalation', messageToCustomer: 'ESCALATED' },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      botId = created.body.id;
      assert.equal((await admin('A').post(`/admin/v1/accounts/${acc}/bots/${botId}/start`)).status, 200);
      const driver = await until('a driver', async () => (await view('C')).instance);
      assert.ok(['A', 'B', 'C'].includes(driver));
      // Every instance names the same driver.
      for (const name of ['A', 'B'])
        await until(`${name} names the driver`, async () => (await view(name)).instance === driver);

      const c = await open('B');
      const ws = new WebSocket(
        `${url('C').replace(/^http/, 'ws')}/api/account/${acc}/consumer/conversations/${c.id}/stream`,
        { headers: { authorization: `Bearer ${c.token}` } },
      );
      const seen: any[] = [];
      ws.on('message', (data) => seen.push(JSON.parse(String(data))));
      await until('the stream on C', () => seen.some((m) => m.kind === 'ready'));
      await say('B', c, 'hello from B');
      await until('the reply on C’s stream', () =>
        seen.some((m) => m.kind === 'event' && m.event.text === 'echo: hello from B'),
      );
      ws.close();
      await until('the bot idle', async () => botTexts(await conversation('A', c.id)).length === 1);
      assert.deepEqual(botTexts(await conversation('A', c.id)), ['echo: hello from B']);
      assert.equal(bot.events(c.id).length, 1, 'the bot got the message once, from its one driver');
    });

    it('kill -9 of the driver: a message sent meanwhile and those after are answered once, within 15 s, by another instance', async () => {
      const driver: string = (await view('A')).instance;
      const survivors = ['A', 'B', 'C'].filter((n) => n !== driver);
      const c = await open(survivors[0]);
      await say(survivors[1], c, 'before');
      await until('the answer before', async () =>
        botTexts(await conversation(survivors[0], c.id)).includes('echo: before'),
      );

      procs.get(driver)!.child.kill('SIGKILL');
      await procs.get(driver)!.exited;
      const killedAt = Date.now();
      await say(survivors[0], c, 'meanwhile');
      await until(
        'the answer after the failover',
        async () => botTexts(await conversation(survivors[1], c.id)).includes('echo: meanwhile'),
        30_000,
      );
      const failover = Date.now() - killedAt;
      assert.ok(failover < 15_000, `answered ${failover} ms after the kill`);
      const newDriver = await until('the new driver named', async () => {
        const named = (await view(survivors[0])).instance;
        return survivors.includes(named) ? named : undefined;
      });
      assert.ok(survivors.includes(newDriver));
      await say(survivors[1], c, 'after');
      await until('the answer after', async () =>
        botTexts(await conversation(survivors[0], c.id)).includes('echo: after'),
      );
      assert.deepEqual(botTexts(await conversation(survivors[0], c.id)), [
        'echo: before',
        'echo: meanwhile',
        'echo: after',
      ]);
      assert.deepEqual(
        bot.events(c.id).map((r) => r.body.data.message),
        ['before', 'meanwhile', 'after'],
        'each message reached the bot once',
      );
      // The killed instance comes back as an ordinary member.
      await launch(driver);
    });

    it('stop and patch through one instance take effect on the driver', async () => {
      const driver: string = (await view('A')).instance;
      const other = ['A', 'B', 'C'].find((n) => n !== driver)!;
      // Held by the bot before it stops (a stopped bot is given no new conversations).
      const c = await open(other);
      await until('held by the bot', async () => (await conversation(other, c.id)).assignee?.botId === botId);
      assert.equal(
        (
          await admin(other).patch(`/admin/v1/accounts/${acc}/bots/${botId}`, {
            escalation: { messageToCustomer: 'PATCHED ESCALATION' },
          })
        ).status,
        200,
      );
      assert.equal((await admin(other).post(`/admin/v1/accounts/${acc}/bots/${botId}/stop`)).status, 200);
      await until('OFFLINE on the driver', async () => (await view(driver)).status === 'OFFLINE');
      // A message now goes to the stopped bot's escalation, with the patched words, sent by the driver.
      const before = bot.events().length;
      await say(other, c, 'anyone?');
      const escalated = await until('the escalation', async () => {
        const seen = await conversation(driver, c.id);
        return botTexts(seen).includes('PATCHED ESCALATION') ? seen : undefined;
      });
      assert.equal(escalated.skill.name, 'escalation');
      assert.equal(bot.events().length, before, 'a stopped bot is not asked');
      assert.equal((await admin(driver).post(`/admin/v1/accounts/${acc}/bots/${botId}/start`)).status, 200);
      await until('ONLINE everywhere', async () =>
        (await Promise.all(['A', 'B', 'C'].map(view))).every((v) => v.status === 'ONLINE'),
      );
    });

    it('a bot’s cap holds when conversations open at once through every instance', async () => {
      assert.equal((await admin('A').post(`/admin/v1/accounts/${acc}/skills`, { name: 'capped' })).status, 201);
      const app = await admin('B').post(`/admin/v1/accounts/${acc}/apps`, {
        name: 'capped',
        scope: 'thirdpartybots.customendpoint.bot',
      });
      const created = await admin('B').post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'capped bot',
        conversationType: 'MESSAGING',
        skills: ['capped'],
        vendor: {
          type: 'CUSTOM_ENDPOINT',
          baseUrl: bot.url,
          clientId: app.body.client_id,
          clientSecret: app.body.client_secret,
          botId: 'capped',
        },
        escalation: { skill: 'escalation' },
        maxOpenConversations: 3,
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const capped = created.body.id;
      assert.equal((await admin('C').post(`/admin/v1/accounts/${acc}/bots/${capped}/start`)).status, 200);
      await until(
        'a driver for it',
        async () => (await admin('A').get(`/admin/v1/accounts/${acc}/bots/${capped}`)).body.instance,
      );
      const opened = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const r = await client(url(['A', 'B', 'C'][i % 3])).post(`/api/account/${acc}/consumer/conversations`, {
            skill: 'capped',
          });
          assert.equal(r.status, 201, JSON.stringify(r.body));
          return r.body.conversationId as string;
        }),
      );
      await until('every arrival checked', async () => {
        const views = await Promise.all(opened.map((id) => conversation('A', id)));
        return views.filter((v) => v.skill.name === 'escalation').length === 9 || undefined;
      });
      const views = await Promise.all(opened.map((id) => conversation('B', id)));
      assert.equal(
        views.filter((v) => v.skill.name === 'capped').length,
        3,
        JSON.stringify(views.map((v) => [v.skill.name, v.holderLoad])),
      );
      assert.equal((await admin('C').get(`/admin/v1/accounts/${acc}/bots/${capped}`)).body.openConversations, 3);
    });

    it('bots are spread over the instances, not piled on the first one up', async () => {
      const app = await admin('C').post(`/admin/v1/accounts/${acc}/apps`, {
        name: 'more',
        scope: 'thirdpartybots.customendpoint.bot',
      });
      // Two bots exist already (the tests above): four more make six.
      for (let i = 0; i < 4; i++) {
        const created = await admin(['A', 'B', 'C'][i % 3]).post(`/admin/v1/accounts/${acc}/bots`, {
          name: `bot ${i}`,
          conversationType: 'MESSAGING',
          skills: ['bot'],
          vendor: {
            type: 'CUSTOM_ENDPOINT',
            baseUrl: bot.url,
            clientId: app.body.client_id,
            clientSecret: app.body.client_secret,
            botId: `more${i}`,
          },
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
      }
      // Six bots, three instances: two each, once the leases have been shared out.
      const spread = await until('two bots per instance', async () => {
        const bots = (await admin('A').get(`/admin/v1/accounts/${acc}/bots`)).body.bots as {
          instance: string | null;
        }[];
        const counts = new Map<string | null, number>();
        for (const b of bots) counts.set(b.instance, (counts.get(b.instance) ?? 0) + 1);
        return bots.length === 6 && ['A', 'B', 'C'].every((n) => counts.get(n) === 2) ? counts : undefined;
      });
      assert.deepEqual([...spread.keys()].sort(), ['A', 'B', 'C']);
    });
  });
}
