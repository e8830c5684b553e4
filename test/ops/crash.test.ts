import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { client } from '../helpers/app.js';
import { startProcess, type Proc } from '../helpers/process.js';
import { TestBot, reply, text, type Received } from '../helpers/test-bot.js';
import { crashUnderLoad } from '../helpers/crash-load.js';
import { until } from '../helpers/wait.js';

/**
 * kill -9 of the real server process, restarted on the same store: every consumer message
 * answered 2xx is answered by the bot exactly once, in order, and nothing newer overtakes what
 * the bot still owed. Conditions, not durations, decide when to kill.
 */
const ADMIN = 'crash-admin';
const env = { ADMIN_TOKEN: ADMIN, DEMO: '0', LOG_LEVEL: 'warn' };

/** An account with a started Custom Endpoint bot on skill `bot`, through the admin API. */
async function setup(proc: Proc, botUrl: string): Promise<string> {
  const admin = client(proc.url, { token: ADMIN });
  const acc = `acc${Math.random().toString(36).slice(2, 8)}`;
  assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
  for (const name of ['bot', 'escalation'])
    assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name })).status, 201);
  const app = await admin.post(`/admin/v1/accounts/${acc}/apps`, {
    name: 'bot',
    scope: 'thirdpartybots.customendpoint.bot',
  });
  const bot = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
    name: 'slow bot',
    conversationType: 'MESSAGING',
    skills: ['bot'],
    vendor: {
      type: 'CUSTOM_ENDPOINT',
      baseUrl: botUrl,
      clientId: app.body.client_id,
      clientSecret: app.body.client_secret,
      botId: 'slow',
    },
    escalation: { skill: 'escalation', messageToCustomer: 'ESCALATED' },
  });
  assert.equal(bot.status, 201, JSON.stringify(bot.body));
  assert.equal((await admin.post(`/admin/v1/accounts/${acc}/bots/${bot.body.id}/start`)).status, 200);
  return acc;
}

const messagesOf = (bot: TestBot, conversationId: string) =>
  bot.events(conversationId).map((r) => [r.body.context.lpEvent.sequence, r.body.data.message]);

for (const kind of STORES) {
  describe(`kill -9 and restart (${kind})`, () => {
    const stores: TestStore[] = [];
    const procs: Proc[] = [];
    const bots: TestBot[] = [];
    after(async () => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      for (const b of bots) await b.stop();
      for (const s of stores) await s.dispose();
    });

    it('m1 answered, m2 with the bot when the process dies: after the restart m2 is answered once, before m3', async () => {
      const store = await freshStore(kind);
      stores.push(store);
      const bot = await new TestBot().start();
      bots.push(bot);
      // m2's answer is held until the test has killed the server that asked for it.
      let releaseM2!: () => void;
      const m2Held = new Promise<void>((resolve) => (releaseM2 = resolve));
      let firstM2 = true;
      bot.onEvent = async (req: Received) => {
        const message = req.body.data.message;
        if (message === 'm2' && firstM2) {
          firstM2 = false;
          await m2Held;
        }
        return reply(text(`echo: ${message}`));
      };

      let proc = await startProcess(store, env);
      procs.push(proc);
      const acc = await setup(proc, bot.url);
      const opened = await client(proc.url).post(`/api/account/${acc}/consumer/conversations`, { skill: 'bot' });
      const { conversationId, consumerToken } = opened.body;
      const say = async (message: string) => {
        const r = await client(proc.url, { token: consumerToken }).post(
          `/api/account/${acc}/consumer/conversations/${conversationId}/messages`,
          { text: message },
        );
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return r.body.sequence as number;
      };
      const view = async () =>
        (await client(proc.url, { token: ADMIN }).get(`/admin/v1/accounts/${acc}/conversations/${conversationId}`))
          .body;
      const botTexts = async () =>
        (await view()).events
          .filter((e: any) => e.originator.role === 'BOT' && e.type === 'TEXT')
          .map((e: any) => e.text);

      const m1 = await say('m1');
      const m2 = await say('m2');
      await until('echo: m1 in the log', async () => (await botTexts()).includes('echo: m1'));
      await until('m2 at the bot', () => bot.events(conversationId).some((r) => r.body.data.message === 'm2'));
      proc.child.kill('SIGKILL');
      await proc.exited;
      releaseM2();

      proc = await startProcess(store, env);
      procs.push(proc);
      // Sent at once: it must wait behind the m2 the bot still owes.
      const m3 = await say('m3');
      await until('three answers', async () => ((await botTexts()).length >= 3 ? true : undefined));
      // Nothing more arrives once the bot has caught up.
      await until('the bot idle', () => bot.events(conversationId).length === 4);
      assert.deepEqual(await botTexts(), ['echo: m1', 'echo: m2', 'echo: m3']);
      // m2 reached the bot twice — before the crash and after — with the same identity; m1 and m3 once.
      assert.deepEqual(messagesOf(bot, conversationId), [
        [m1, 'm1'],
        [m2, 'm2'],
        [m2, 'm2'],
        [m3, 'm3'],
      ]);
      const events = (await view()).events;
      const seqOf = (t: string) => events.find((e: any) => e.text === t).sequence;
      assert.ok(seqOf('echo: m2') < seqOf('echo: m3'), 'm3 is answered after m2');
    });

    it('an answer cut in two by a DELAY: the rest is delivered once after the restart, the bot is not asked again', async () => {
      const store = await freshStore(kind);
      stores.push(store);
      const bot = await new TestBot().start();
      bots.push(bot);
      bot.onEvent = (req) =>
        reply(
          text(`first: ${req.body.data.message}`),
          { type: 'DELAY', data: { seconds: 3 } },
          text(`second: ${req.body.data.message}`),
        );
      let proc = await startProcess(store, env);
      procs.push(proc);
      const acc = await setup(proc, bot.url);
      const opened = await client(proc.url).post(`/api/account/${acc}/consumer/conversations`, { skill: 'bot' });
      const { conversationId, consumerToken } = opened.body;
      const botTexts = async () =>
        (
          await client(proc.url, { token: ADMIN }).get(`/admin/v1/accounts/${acc}/conversations/${conversationId}`)
        ).body.events
          .filter((e: any) => e.originator.role === 'BOT' && e.type === 'TEXT')
          .map((e: any) => e.text);
      const r = await client(proc.url, { token: consumerToken }).post(
        `/api/account/${acc}/consumer/conversations/${conversationId}/messages`,
        { text: 'hi' },
      );
      assert.equal(r.status, 201);
      await until('the first part', async () => (await botTexts()).includes('first: hi'));
      proc.child.kill('SIGKILL');
      await proc.exited;

      proc = await startProcess(store, env);
      procs.push(proc);
      await until('the second part', async () => (await botTexts()).includes('second: hi'));
      assert.deepEqual(await botTexts(), ['first: hi', 'second: hi']);
      assert.equal(
        bot.events(conversationId).length,
        1,
        'the bot answered once; its answer was resumed, not asked for again',
      );
    });

    it('under load with kills: every accepted message answered exactly once, in order', async () => {
      const store = await freshStore(kind);
      stores.push(store);
      const report = await crashUnderLoad(store, {
        conversations: 30,
        messagesPerConversation: 6,
        kills: 2,
        seed: 10,
        maxThinkMs: 300,
        delayEvery: 5,
      });
      // Requests cut off by a kill have no answer, so no promise either way; the rest were accepted.
      assert.equal(report.accepted + report.unknown, 180, JSON.stringify(report));
      assert.ok(report.accepted >= 90, `most messages accepted: ${JSON.stringify(report)}`);
      assert.deepEqual(
        {
          lost: report.lost,
          neverAnswered: report.neverAnswered,
          duplicated: report.duplicated,
          outOfOrder: report.outOfOrder,
          escalated: report.escalated,
          identityBroken: report.identityBroken,
          botOutOfOrder: report.botOutOfOrder,
        },
        { lost: 0, neverAnswered: 0, duplicated: 0, outOfOrder: 0, escalated: 0, identityBroken: 0, botOutOfOrder: 0 },
        JSON.stringify(report),
      );
    });
  });
}
