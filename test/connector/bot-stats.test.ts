import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { TestBot, reply, text, type Answer, type Received } from '../helpers/test-bot.js';
import { botTexts, exchangesOf, openConversation, setupBot, waitForConversation } from '../helpers/connector.js';
import { until } from '../helpers/wait.js';
import { botStatsOf, frameOf, latencyBucket, percentile } from '../../src/connector/bot-stats.js';

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const tally = (keys: string[]) => {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
};

describe('bot statistics, the arithmetic', () => {
  it('latency buckets by upper bound; percentiles report the bound of the bucket they fall in', () => {
    assert.equal(latencyBucket(0), '10');
    assert.equal(latencyBucket(10), '10');
    assert.equal(latencyBucket(10.5), '25');
    assert.equal(latencyBucket(60_000), '60000');
    assert.equal(latencyBucket(60_001), '+inf');
    const histogram = new Map([
      ['10', 50],
      ['100', 45],
      ['1000', 5],
    ]);
    assert.equal(percentile(histogram, 0.5), 10);
    assert.equal(percentile(histogram, 0.95), 100);
    assert.equal(percentile(histogram, 0.99), 1000);
    assert.equal(percentile(new Map(), 0.5), null);
    assert.equal(percentile(new Map([['+inf', 3]]), 0.5), 60_000, 'past the last bound: the last bound');
  });

  it('windows end with the bucket now falls in, aligned to their bucket size', () => {
    const now = Date.UTC(2024, 4, 1, 10, 7, 30);
    const day = frameOf('day', now);
    assert.equal(day.to, Date.UTC(2024, 4, 1, 10, 15));
    assert.equal(day.to - day.from, 96 * 15 * 60_000);
    const stats = botStatsOf(day, [
      { metric: 'exchange', key: 'PROCESSED', bucket: 95, n: 2 },
      { metric: 'latency', key: '250', bucket: 95, n: 2 },
      { metric: 'open', key: '', bucket: 95, n: 4 },
      { metric: 'started', key: '', bucket: 96, n: 1 },
    ]);
    assert.equal(stats.totals.started, 0, 'a row outside the window is not counted');
    assert.deepEqual(stats.exchangesByOutcome, { PROCESSED: 2, PARTIAL: 0, ESCALATED: 0, FAILED: 0 });
    assert.deepEqual([stats.series.latencyP95[95], stats.series.open[95], stats.series.open[0]], [250, 4, null]);
  });
});

for (const kind of STORES) {
  describe(`bot statistics (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let bot: TestBot;
    /** Conversations whose next events the bot answers otherwise than with an echo. */
    const scripted = new Map<string, (req: Received) => Answer>();

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      bot = await new TestBot().start();
      bot.onEvent = (req) => {
        const conversationId = /conversations\/([^/]+)\/events/.exec(req.path)![1];
        return scripted.get(conversationId)?.(req) ?? reply(text(`echo: ${req.body.data.message}`));
      };
    });
    after(async () => {
      await bot?.stop();
      await running?.close();
      await store?.dispose();
    });

    it('counts real traffic: conversations, exchanges, errors, latency; series sum to totals; kept across a restart', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url);
      const answered = (id: string, line: string) =>
        waitForConversation(admin, acc, id, (c) => botTexts(c).includes(line), `"${line}" answered`);

      const kept = await openConversation(running, acc);
      const failing = await openConversation(running, acc);
      const closing = await openConversation(running, acc);
      await kept.say('hello');
      await answered(kept.id, 'echo: hello');
      // One good item beside one the parser refuses: delivered in part, with an error code.
      scripted.set(kept.id, () => reply(text('partly'), { type: 'NO_SUCH_TYPE' }));
      await kept.say('odd');
      await answered(kept.id, 'partly');
      await closing.say('hi');
      await answered(closing.id, 'echo: hi');
      const closed = await closing.consumer.post(`/api/account/${acc}/consumer/conversations/${closing.id}/close`);
      assert.equal(closed.status, 200);
      // The bot service fails: the conversation is escalated, the bot interrupted until its probe passes.
      scripted.set(failing.id, () => ({ status: 500, json: { error: 'down' } }));
      await failing.say('break');
      await waitForConversation(admin, acc, failing.id, (c) => c.skill.name === 'escalation', 'the escalation');
      await until('the bot back online', async () => {
        const view = (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body;
        return view.status === 'ONLINE';
      });

      // What the exchange log says happened is what the statistics must count.
      const logged = await exchangesOf(admin, acc, botId, undefined, 4);
      assert.equal(logged.length, 4, JSON.stringify(logged.map((e) => e.outcome)));
      const escalation = logged.find((e) => e.outcome === 'ESCALATED');
      assert.ok(escalation, 'the failure escalated');
      const reason = escalation.errors[0].code;
      const codes = logged.flatMap((e) => e.errors.map((error: { code: string }) => error.code));
      assert.ok(codes.includes('common-unknown-response-type'), JSON.stringify(codes));

      const path = `/admin/v1/accounts/${acc}/bots/${botId}/stats`;
      const stats = await until('every count written', async () => {
        const r = await admin.get(path);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const { totals } = r.body;
        return totals.started === 3 && totals.closed === 1 && totals.escalated === 1 && totals.exchanges === 4
          ? r.body
          : false;
      });
      assert.equal(stats.window, 'day', 'the default window');
      assert.equal(stats.bucketMs, 15 * 60_000);
      assert.equal(stats.to - stats.from, 96 * stats.bucketMs);
      assert.deepEqual(stats.totals, { started: 3, escalated: 1, closed: 1, exchanges: 4, errors: codes.length });
      assert.deepEqual(stats.escalationsByReason, { [reason]: 1 });
      assert.deepEqual(stats.exchangesByOutcome, {
        PROCESSED: 0,
        PARTIAL: 0,
        ESCALATED: 0,
        FAILED: 0,
        ...tally(logged.map((e) => e.outcome)),
      });
      assert.deepEqual(stats.exchangesByOutcome.PARTIAL, 1);
      assert.deepEqual(stats.errorsByCode, tally(codes));
      const { p50, p95 } = stats.latencyMs;
      assert.ok(typeof p50 === 'number' && typeof p95 === 'number' && p50 <= p95, JSON.stringify(stats.latencyMs));
      assertSeriesAddUp(stats, 96);
      assert.ok(stats.series.latencyP95.some((v: number | null) => v !== null));

      for (const [window, buckets] of [
        ['hour', 60],
        ['week', 168],
      ] as const) {
        const other = (await admin.get(`${path}?window=${window}`)).body;
        assert.equal(other.window, window);
        assert.deepEqual(other.totals, stats.totals, `${window}: the same traffic`);
        assertSeriesAddUp(other, buckets);
      }

      // A restart on the same store: the counts were in the store, not in this process.
      await running.close();
      running = await startApp(store);
      const again = client(running.url, { token: ADMIN_TOKEN });
      const restarted = (await again.get(path)).body;
      for (const part of ['totals', 'escalationsByReason', 'exchangesByOutcome', 'errorsByCode', 'latencyMs'])
        assert.deepEqual(restarted[part], stats[part], `${part} after the restart`);
      // The bot's new driver samples its open conversations: the one kept (one escalated, one closed).
      const open = await until('the open conversations sampled after the restart', async () => {
        const samples = (await again.get(`${path}?window=hour`)).body.series.open.filter(
          (v: number | null) => v !== null,
        );
        return samples.at(-1) === 1 ? samples : false;
      });
      assert.ok(open.length >= 1);
      assert.equal((await again.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body.openConversations, 1);
    });

    it('refuses an unknown window (400) and an unknown bot (404)', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url, { start: false });
      for (const path of [`/admin/v1/accounts/${acc}/bots/${botId}/stats`, `/admin/v1/accounts/${acc}/bot-stats`]) {
        for (const window of ['month', '', 'HOUR']) {
          const r = await admin.get(`${path}?window=${window}`);
          assert.equal(r.status, 400, `${path}?window=${window}: ${JSON.stringify(r.body)}`);
          assert.equal(typeof r.body.error.code, 'string');
          assert.equal(typeof r.body.error.message, 'string');
        }
      }
      const unknown = await admin.get(`/admin/v1/accounts/${acc}/bots/no-such-bot/stats`);
      assert.equal(unknown.status, 404);
      assert.equal(typeof unknown.body.error.code, 'string');
      const other = await setupBot(running, bot.url, { start: false });
      assert.equal(
        (await admin.get(`/admin/v1/accounts/${other.acc}/bots/${botId}/stats`)).status,
        404,
        'another account’s bot',
      );
      assert.equal((await admin.get('/admin/v1/accounts/nosuchaccount/bot-stats')).status, 404);
      assert.equal((await client(running.url).get(`/admin/v1/accounts/${acc}/bot-stats`)).status, 401);
    });

    it('the account overview lists every bot of the account, each with its own counts', async () => {
      const first = await setupBot(running, bot.url);
      const { acc, admin } = first;
      const second = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'quiet bot',
        conversationType: 'MESSAGING',
        skills: ['human'],
        vendor: {
          type: 'CUSTOM_ENDPOINT',
          baseUrl: bot.url,
          clientId: first.app.client_id,
          clientSecret: first.app.client_secret,
          botId: 'bot-2',
        },
      });
      assert.equal(second.status, 201, JSON.stringify(second.body));
      const talk = await openConversation(running, acc);
      await talk.say('one');
      await waitForConversation(admin, acc, talk.id, (c) => botTexts(c).includes('echo: one'), 'the answer');

      const overview = await until('the exchange counted', async () => {
        const r = await admin.get(`/admin/v1/accounts/${acc}/bot-stats?window=hour`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.bots.find((b: any) => b.botId === first.botId)?.totals.exchanges === 1 ? r.body : false;
      });
      assert.equal(overview.window, 'hour');
      assert.equal(overview.bucketMs, 60_000);
      assert.deepEqual(overview.bots.map((b: any) => b.botId).sort(), [first.botId, second.body.id].sort());
      const busy = overview.bots.find((b: any) => b.botId === first.botId);
      const quiet = overview.bots.find((b: any) => b.botId === second.body.id);
      assert.deepEqual([busy.name, busy.status], ['test bot', 'ONLINE']);
      assert.deepEqual([quiet.name, quiet.status], ['quiet bot', 'OFFLINE']);
      assert.deepEqual(busy.totals, { started: 1, escalated: 0, closed: 0, exchanges: 1, errors: 0 });
      assert.deepEqual(quiet.totals, { started: 0, escalated: 0, closed: 0, exchanges: 0, errors: 0 });
      for (const { series } of overview.bots) {
        assert.equal(series.t.length, 60);
        assert.equal(series.t[0], overview.from);
        assert.equal(series.exchanges.length, 60);
        assert.equal(series.errors.length, 60);
      }
      assert.equal(sum(busy.series.exchanges), 1);
      const single = (await admin.get(`/admin/v1/accounts/${acc}/bots/${first.botId}/stats?window=hour`)).body;
      assert.deepEqual(single.totals, busy.totals, 'the overview agrees with the bot’s own statistics');
      assert.deepEqual(single.series.exchanges, busy.series.exchanges);
    });
  });
}

/** Every count series has a bucket per step of the window, starting at `from`, and adds up to its total. */
function assertSeriesAddUp(stats: any, buckets: number): void {
  const { series, totals } = stats;
  assert.equal(series.t.length, buckets);
  assert.equal(series.t[0], stats.from);
  assert.equal(series.t[buckets - 1] + stats.bucketMs, stats.to);
  for (const name of ['started', 'escalated', 'closed', 'exchanges', 'errors', 'latencyP50', 'latencyP95', 'open'])
    assert.equal(series[name].length, buckets, name);
  for (const name of ['started', 'escalated', 'closed', 'exchanges', 'errors'] as const)
    assert.equal(sum(series[name]), totals[name], `${stats.window}: ${name} series adds up`);
  assert.equal(sum(Object.values(stats.escalationsByReason) as number[]), totals.escalated);
  assert.equal(sum(Object.values(stats.exchangesByOutcome) as number[]), totals.exchanges);
  assert.equal(sum(Object.values(stats.errorsByCode) as number[]), totals.errors);
}
