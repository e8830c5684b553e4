import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, type Running } from '../helpers/app.js';
import { eventually, openConversation, setupBot } from '../helpers/connector.js';
import { TestBot } from '../helpers/test-bot.js';
import type { WebhookReceiver as Receiver } from '../helpers/webhook-receiver.js';
import { alertParts } from './support.js';

/** Fast delivery and retries for the tests. */
const ALERTS = { pollMs: 100, backoffMs: 50, maxBackoffMs: 200, timeoutMs: 2_000, claimMs: 5_000 };

const settle = () => new Promise((r) => setTimeout(r, 600));

/**
 * A bot whose service fails (an exchange answered 500, its state endpoint down) goes into
 * VENDOR_INTERRUPTION; once the service heals the probe brings it back ONLINE. Each change is
 * one alert at each destination.
 */
async function interruptAndHeal(
  running: Running,
  bot: FaultyBot,
  acc: string,
  botId: string,
  receiver: Receiver,
  path: string,
): Promise<void> {
  const admin = client(running.url, { token: ADMIN_TOKEN });
  const conversation = await openConversation(running, acc);
  await conversation.say('broken');
  await eventually(
    () => admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`),
    (r) => r.body.status === 'VENDOR_INTERRUPTION',
    'the interruption',
  );
  await eventually(
    async () => receiver.on(path),
    (got) => got.length >= 1,
    'the interruption’s alert',
  );
  bot.healthy = true;
  await eventually(
    async () => receiver.on(path),
    (got) => got.length >= 2,
    'the return’s alert',
  );
  await settle();
}

class FaultyBot extends TestBot {
  healthy = true;
  constructor() {
    super();
    const echo = this.onEvent;
    const state = this.onState;
    this.onEvent = (req: any) => {
      if (req.body?.data?.message !== 'broken') return echo(req);
      this.healthy = false;
      return { status: 500, text: 'down' };
    };
    this.onState = (req: any) => (this.healthy ? state(req) : { status: 503, text: 'down' });
  }
}

for (const kind of STORES) {
  describe(`alerts (${kind})`, () => {
    const p = alertParts(kind, () => new FaultyBot(), { alerts: ALERTS });

    it('destinations: added, listed without their secret, checked, removed; permissions', async () => {
      const acc = `acc${Math.random().toString(36).slice(2, 8)}`;
      assert.equal((await p.admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      const base = `/admin/v1/accounts/${acc}/alerts/destinations`;
      const made = await p.admin.post(base, { name: 'ops', url: `${p.receiver.url}/secret-path/xyz`, format: 'slack' });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      assert.equal(made.body.url, `${p.receiver.url}/…`);
      const listed = await p.admin.get(base);
      assert.equal(listed.status, 200);
      assert.deepEqual(
        listed.body.map((d: any) => [d.name, d.format, d.url]),
        [['ops', 'slack', `${p.receiver.url}/…`]],
      );
      assert.ok(!JSON.stringify(listed.body).includes('secret-path'));
      for (const url of ['ftp://example.com/x', 'http://user:pw@example.com/hook', 'not a url']) {
        const refused = await p.admin.post(base, { name: 'bad', url, format: 'json' });
        assert.equal(refused.status, 400, url);
        assert.ok(refused.body.error.code, JSON.stringify(refused.body));
      }
      assert.equal((await p.admin.post(base, { name: 'x', url: p.receiver.url, format: 'xml' })).status, 400);
      // A viewer reads them, and cannot change them.
      const token = await p.admin.post(`/admin/v1/accounts/${acc}/api-tokens`, { name: 'v', role: 'viewer' });
      assert.equal(token.status, 201, JSON.stringify(token.body));
      const viewer = client(p.app.url, { token: token.body.token });
      assert.equal((await viewer.get(base)).status, 200);
      assert.equal((await viewer.get(`/admin/v1/accounts/${acc}/alerts/events`)).status, 200);
      assert.equal((await viewer.post(base, { name: 'v', url: p.receiver.url, format: 'json' })).status, 403);
      assert.equal((await viewer.post(`${base}/${made.body.id}/test`)).status, 403);
      assert.equal((await viewer.delete(`${base}/${made.body.id}`)).status, 403);
      assert.equal((await p.admin.delete(`${base}/${made.body.id}`)).status, 204);
      assert.equal((await p.admin.delete(`${base}/${made.body.id}`)).status, 404);
      assert.deepEqual((await p.admin.get(base)).body, []);
      assert.equal((await p.admin.get('/admin/v1/accounts/nosuch/alerts/destinations')).status, 404);
    });

    it('send a test alert: delivered now, or how it failed', async () => {
      const acc = `acc${Math.random().toString(36).slice(2, 8)}`;
      assert.equal((await p.admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      const base = `/admin/v1/accounts/${acc}/alerts/destinations`;
      const teams = await p.admin.post(base, { name: 'teams', url: `${p.receiver.url}/t-${acc}`, format: 'teams' });
      const tested = await p.admin.post(`${base}/${teams.body.id}/test`);
      assert.equal(tested.status, 200, JSON.stringify(tested.body));
      assert.equal(tested.body.ok, true);
      assert.equal(tested.body.status, 200);
      const [card] = p.receiver.on(`/t-${acc}`);
      assert.equal(card.body['@type'], 'MessageCard');
      assert.match(card.body.text, /Test alert/);
      const closed = await p.admin.post(base, { name: 'nobody', url: 'http://127.0.0.1:9/hook', format: 'slack' });
      const failed = await p.admin.post(`${base}/${closed.body.id}/test`);
      assert.equal(failed.status, 200);
      assert.equal(failed.body.ok, false);
      assert.ok(failed.body.error);
      const events = await p.admin.get(`/admin/v1/accounts/${acc}/alerts/events`);
      assert.deepEqual(events.body.map((e: any) => [e.kind, e.state]).sort(), [
        ['test', 'delivered'],
        ['test', 'failed'],
      ]);
      // The webhook's path (its secret) is in no log line.
      assert.ok(!p.app.logs.some((line) => JSON.stringify(line).includes(`/t-${acc}`)));
    });

    it('a bot forced into VENDOR_INTERRUPTION: exactly one alert at each destination, and one when it is back', async () => {
      const { acc, botId } = await setupBot(p.app, p.bot.url);
      const base = `/admin/v1/accounts/${acc}/alerts/destinations`;
      for (const format of ['slack', 'teams', 'json'])
        assert.equal(
          (await p.admin.post(base, { name: format, url: `${p.receiver.url}/${acc}/${format}`, format })).status,
          201,
        );
      await interruptAndHeal(p.app, p.bot, acc, botId, p.receiver, `/${acc}/json`);
      const json = p.receiver.on(`/${acc}/json`).map((g) => g.body);
      assert.deepEqual(
        json.map((e: any) => [e.kind, e.bot.id, e.from, e.to]),
        [
          ['bot-status', botId, 'ONLINE', 'VENDOR_INTERRUPTION'],
          ['bot-status', botId, 'VENDOR_INTERRUPTION', 'ONLINE'],
        ],
      );
      assert.equal(json[0].accountId, acc);
      assert.ok(json[0].lastError.code);
      const slack = p.receiver.on(`/${acc}/slack`).map((g) => g.body);
      assert.equal(slack.length, 2);
      assert.match(slack[0].text, /VENDOR_INTERRUPTION/);
      assert.match(slack[1].text, /back ONLINE/);
      const teams = p.receiver.on(`/${acc}/teams`).map((g) => g.body);
      assert.equal(teams.length, 2);
      assert.equal(teams[0]['@type'], 'MessageCard');
      const events = await p.admin.get(`/admin/v1/accounts/${acc}/alerts/events`);
      assert.equal(events.body.length, 6);
      assert.ok(events.body.every((e: any) => e.state === 'delivered' && e.attempts === 1));
    });

    it('a receiver failing at first gets the alert after retries', async () => {
      const { acc, botId } = await setupBot(p.app, p.bot.url);
      const path = `/${acc}/flaky`;
      assert.equal(
        (
          await p.admin.post(`/admin/v1/accounts/${acc}/alerts/destinations`, {
            name: 'flaky',
            url: `${p.receiver.url}${path}`,
            format: 'json',
          })
        ).status,
        201,
      );
      p.receiver.failFirst = 2;
      await interruptAndHeal(p.app, p.bot, acc, botId, p.receiver, path);
      assert.deepEqual(
        p.receiver.on(path).map((g) => g.body.to),
        ['VENDOR_INTERRUPTION', 'ONLINE'],
      );
      const events = await p.admin.get(`/admin/v1/accounts/${acc}/alerts/events`);
      const down = events.body.find((e: any) => e.event.to === 'VENDOR_INTERRUPTION');
      assert.equal(down.state, 'delivered');
      assert.equal(down.attempts, 3);
    });
  });
}

if (STORES.includes('postgres')) {
  describe('alerts with two instances on one PostgreSQL: still one per change', () => {
    const p = alertParts('postgres', () => new FaultyBot(), { alerts: ALERTS }, 2);

    it('a bot forced into VENDOR_INTERRUPTION and back: exactly one alert each', async () => {
      const { acc, botId } = await setupBot(p.apps[0], p.bot.url);
      const path = `/${acc}/json`;
      const made = await client(p.apps[1].url, { token: ADMIN_TOKEN }).post(
        `/admin/v1/accounts/${acc}/alerts/destinations`,
        {
          name: 'json',
          url: `${p.receiver.url}${path}`,
          format: 'json',
        },
      );
      assert.equal(made.status, 201);
      await interruptAndHeal(p.apps[0], p.bot, acc, botId, p.receiver, path);
      assert.deepEqual(
        p.receiver.on(path).map((g) => [g.body.from, g.body.to]),
        [
          ['ONLINE', 'VENDOR_INTERRUPTION'],
          ['VENDOR_INTERRUPTION', 'ONLINE'],
        ],
      );
    });
  });
}
