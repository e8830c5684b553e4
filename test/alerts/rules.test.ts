import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { eventually, openConversation, setupBot } from '../helpers/connector.js';
import { TestBot } from '../helpers/test-bot.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';
import { alertParts } from './support.js';
import * as publicApi from '../public-api/support.js';

/** Fast delivery and checks for the tests. */
const ALERTS = { pollMs: 100, backoffMs: 50, maxBackoffMs: 200, timeoutMs: 2_000, claimMs: 5_000 };
const WATCH = { evaluateMs: 100 };
const options = { alerts: ALERTS, alertWatch: WATCH };

/** Several rounds of every instance's checks: long enough for a second alert to show if there were one. */
const settle = () => new Promise((r) => setTimeout(r, 800));

/** A bot service answering `garbage` with an answer that breaks the contract: an escalation, the bot stays ONLINE. */
class GarbageBot extends TestBot {
  constructor() {
    super();
    const echo = this.onEvent;
    this.onEvent = (req: any) =>
      req.body?.data?.message === 'garbage' ? { json: { response: 'not a list' } } : echo(req);
  }
}

const ofKind = (receiver: WebhookReceiver, path: string, kind: string) =>
  receiver.on(path).filter((g) => g.body.kind === kind);

async function addDestination(admin: Client, acc: string, receiver: WebhookReceiver, path: string) {
  const made = await admin.post(`/admin/v1/accounts/${acc}/alerts/destinations`, {
    name: 'json',
    url: `${receiver.url}${path}`,
    format: 'json',
  });
  assert.equal(made.status, 201, JSON.stringify(made.body));
}

async function addRule(admin: Client, acc: string, rule: Record<string, unknown>): Promise<any> {
  const made = await admin.post(`/admin/v1/accounts/${acc}/alerts/rules`, rule);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  return made.body;
}

/** Two conversations each answered with garbage: both escalated, two of the bot's exchanges failed. */
async function twoBadConversations(running: Running, acc: string): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const conversation = await openConversation(running, acc);
    await conversation.say('garbage');
  }
}

for (const kind of STORES) {
  describe(`alert rules (${kind})`, () => {
    const p = alertParts(kind, () => new GarbageBot(), options);

    it('rules: added with their defaults, checked, listed, removed; permissions', async () => {
      const { acc, botId } = await setupBot(p.app, p.bot.url);
      const base = `/admin/v1/accounts/${acc}/alerts/rules`;
      const rate = await addRule(p.admin, acc, { kind: 'error-rate', threshold: 20 });
      assert.deepEqual(
        [rate.kind, rate.threshold, rate.windowMinutes, rate.minCount, rate.botId, rate.firing],
        ['error-rate', 20, 10, 10, undefined, []],
      );
      const one = await addRule(p.admin, acc, { kind: 'escalation-rate', threshold: 5.5, windowMinutes: 60, botId });
      assert.equal(one.botId, botId);
      const backlog = await addRule(p.admin, acc, { kind: 'public-api-backlog', threshold: 100 });
      assert.equal(backlog.windowMinutes, 0);
      for (const [body, code] of [
        [{ kind: 'error-rate', threshold: 0 }, undefined],
        [{ kind: 'error-rate', threshold: 150 }, 'invalid-threshold'],
        [{ kind: 'public-api-backlog', threshold: 2.5 }, 'invalid-threshold'],
        [{ kind: 'public-api-backlog', threshold: 5, botId }, 'invalid-rule'],
        [{ kind: 'error-rate', threshold: 5, botId: 'nosuch' }, 'unknown-bot'],
        [{ kind: 'error-rate', threshold: 5, windowMinutes: 0 }, undefined],
        [{ kind: 'latency', threshold: 5 }, undefined],
        [{ threshold: 5 }, undefined],
      ] as const) {
        const refused = await p.admin.post(base, body);
        assert.equal(refused.status, 400, JSON.stringify(body));
        assert.ok(refused.body.error.code, JSON.stringify(refused.body));
        if (code) assert.equal(refused.body.error.code, code);
      }
      assert.deepEqual(
        (await p.admin.get(base)).body.map((r: any) => r.kind),
        ['error-rate', 'escalation-rate', 'public-api-backlog'],
      );
      const token = await p.admin.post(`/admin/v1/accounts/${acc}/api-tokens`, { name: 'v', role: 'viewer' });
      const viewer = client(p.app.url, { token: token.body.token });
      assert.equal((await viewer.get(base)).status, 200);
      assert.equal((await viewer.post(base, { kind: 'error-rate', threshold: 5 })).status, 403);
      assert.equal((await viewer.delete(`${base}/${rate.id}`)).status, 403);
      assert.equal((await p.admin.delete(`${base}/${rate.id}`)).status, 204);
      assert.equal((await p.admin.delete(`${base}/${rate.id}`)).status, 404);
      assert.equal((await p.admin.get(base)).body.length, 2);
      assert.equal((await p.admin.get('/admin/v1/accounts/nosuch/alerts/rules')).status, 404);
    });

    it('an error rate and an escalation rate over their thresholds: one alert each, and one when the error rate is down again', async () => {
      const { acc, botId } = await setupBot(p.app, p.bot.url);
      const path = `/${acc}/json`;
      await addDestination(p.admin, acc, p.receiver, path);
      const errors = await addRule(p.admin, acc, { kind: 'error-rate', threshold: 30, windowMinutes: 5, minCount: 2 });
      await addRule(p.admin, acc, { kind: 'escalation-rate', threshold: 50, minCount: 2 });
      // Under the minimum count nothing is said, whatever the rate.
      const first = await openConversation(p.app, acc);
      await first.say('garbage');
      await settle();
      assert.deepEqual(p.receiver.on(path), []);

      await twoBadConversations(p.app, acc);
      await eventually(
        async () => p.receiver.on(path),
        (got) => got.some((g) => g.body.kind === 'error-rate') && got.some((g) => g.body.kind === 'escalation-rate'),
        'both rates’ alerts',
      );
      await settle();
      const [fired] = ofKind(p.receiver, path, 'error-rate').map((g) => g.body);
      assert.equal(ofKind(p.receiver, path, 'error-rate').length, 1);
      assert.equal(ofKind(p.receiver, path, 'escalation-rate').length, 1);
      assert.deepEqual(
        [fired.state, fired.bot.id, fired.rule.id, fired.rule.threshold],
        ['firing', botId, errors.id, 30],
      );
      assert.ok(fired.value >= 30, JSON.stringify(fired));
      assert.match(fired.text, /exchanges that went wrong/);
      const listed = (await p.admin.get(`/admin/v1/accounts/${acc}/alerts/rules`)).body;
      assert.deepEqual(
        listed.map((r: any) => r.firing.map((f: any) => f.subject)),
        [[botId], [botId]],
      );
      // A bad answer cost conversations an escalation, never the bot its status.
      assert.equal((await p.admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body.status, 'ONLINE');

      // Good answers bring the error rate under its threshold: resolved, once.
      const good = await openConversation(p.app, acc);
      for (let i = 0; i < 12; i++) await good.say(`hello ${i}`);
      await eventually(
        async () => ofKind(p.receiver, path, 'error-rate'),
        (got) => got.length >= 2,
        'the error rate’s resolution',
      );
      await settle();
      assert.deepEqual(
        ofKind(p.receiver, path, 'error-rate').map((g) => g.body.state),
        ['firing', 'resolved'],
      );
      assert.equal(ofKind(p.receiver, path, 'escalation-rate').length, 1);
      const events = (await p.admin.get(`/admin/v1/accounts/${acc}/alerts/events`)).body;
      assert.ok(events.every((e: any) => e.state === 'delivered'));

      // The bot removed while its escalation rate fires: the condition ends with nothing to say.
      assert.equal((await p.admin.delete(`/admin/v1/accounts/${acc}/bots/${botId}`)).status, 204);
      await eventually(
        async () => (await p.admin.get(`/admin/v1/accounts/${acc}/alerts/rules`)).body,
        (rules: any[]) => rules.every((r) => r.firing.length === 0),
        'no rule firing for the removed bot',
      );
      await settle();
      assert.equal(p.receiver.on(path).length, 3);
    });

    it('a Public API backlog over its threshold: one alert, and one when it has drained', async () => {
      const acc = `acc${Math.random().toString(36).slice(2, 8)}`;
      await publicApi.setUpAccount(p.app.url, { acc, skills: ['sales'], users: ['api'] });
      const api = publicApi.publicApi(p.app.url, acc, await publicApi.login(p.app.url, acc, 'api'));
      const path = `/${acc}/json`;
      await addDestination(p.admin, acc, p.receiver, path);
      await addRule(p.admin, acc, { kind: 'public-api-backlog', threshold: 3 });
      const { conversationId } = await publicApi.openConversation(p.app.url, acc, { skill: 'sales' });
      // A pause holds the conversation: the jobs after it wait their turn.
      const pause = await api.send('messages', conversationId, { messages: [{ delay: 2 }, 'after the pause'] });
      assert.equal(pause.status, 200);
      while ((await api.job(pause.body.jobId)).body.status !== 'running') await new Promise((r) => setTimeout(r, 20));
      for (const text of ['one', 'two', 'three'])
        assert.equal((await api.send('messages', conversationId, { messages: [text] })).status, 200);
      await eventually(
        async () => p.receiver.on(path),
        (got) => got.some((g) => g.body.state === 'resolved'),
        'the backlog’s alert and its resolution',
      );
      await settle();
      const got = p.receiver.on(path).map((g) => g.body);
      assert.deepEqual(
        got.map((e) => [e.kind, e.state]),
        [
          ['public-api-backlog', 'firing'],
          ['public-api-backlog', 'resolved'],
        ],
      );
      assert.equal(got[0].value, 3);
      assert.equal(got[0].bot, undefined);
      assert.match(got[0].text, /3 Public API jobs waiting/);
    });
  });
}

for (const kind of STORES) {
  describe(`alerts kept for a while, then pruned (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let receiver: WebhookReceiver;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(
        store,
        { logLevel: 'warn' },
        { alerts: ALERTS, alertWatch: { evaluateMs: 100, pruneEveryMs: 100, keptMs: 1_500 } },
      );
      receiver = await new WebhookReceiver().start();
    });
    after(async () => {
      await running?.close();
      await receiver?.stop();
      await store?.dispose();
    });

    it('a delivered alert is listed, and gone once older than it is kept', async () => {
      const admin = client(running.url, { token: ADMIN_TOKEN });
      const acc = `acc${Math.random().toString(36).slice(2, 8)}`;
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      const made = await admin.post(`/admin/v1/accounts/${acc}/alerts/destinations`, {
        name: 'json',
        url: `${receiver.url}/${acc}`,
        format: 'json',
      });
      assert.equal(
        (await admin.post(`/admin/v1/accounts/${acc}/alerts/destinations/${made.body.id}/test`)).body.ok,
        true,
      );
      assert.equal((await admin.get(`/admin/v1/accounts/${acc}/alerts/events`)).body.length, 1);
      await eventually(
        async () => (await admin.get(`/admin/v1/accounts/${acc}/alerts/events`)).body,
        (events) => events.length === 0,
        'the old alert pruned',
      );
    });
  });
}

if (STORES.includes('postgres')) {
  describe('alert rules with two instances on one PostgreSQL: one alert per change', () => {
    const p = alertParts('postgres', () => new GarbageBot(), options, 2);

    it('an error rate over its threshold, seen by both instances: exactly one alert', async () => {
      const { acc, botId } = await setupBot(p.apps[0], p.bot.url);
      const admin = client(p.apps[1].url, { token: ADMIN_TOKEN });
      const path = `/${acc}/json`;
      await addDestination(admin, acc, p.receiver, path);
      await addRule(admin, acc, { kind: 'error-rate', threshold: 30, minCount: 2 });
      await twoBadConversations(p.apps[0], acc);
      await eventually(
        async () => p.receiver.on(path),
        (got) => got.length >= 1,
        'the alert',
      );
      await settle();
      assert.deepEqual(
        p.receiver.on(path).map((g) => [g.body.kind, g.body.state, g.body.bot.id]),
        [['error-rate', 'firing', botId]],
      );
    });
  });
}
