import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { BotMetrics } from '../../src/connector/bot-metrics.js';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { eventually, openConversation, setupBot, waitForConversation } from '../helpers/connector.js';
import { TestBot } from '../helpers/test-bot.js';

/** The value of one series of the Prometheus text (0 when absent). */
function series(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    const pairs = Object.fromEntries([...inside.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => pairs[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

/**
 * `/metrics` says what the bot's dashboard says: after a conversation answered and one escalated
 * (the service failing), the bot's exchanges by outcome, errors by code, escalations and vendor
 * latency series equal the dashboard's figures, labelled by account and bot.
 */
for (const kind of STORES) {
  describe(`per-bot Prometheus series (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let bot: TestBot;
    let acc: string;
    let botId: string;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, { logLevel: 'warn' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      bot = await new TestBot().start();
      const echo = bot.onEvent;
      bot.onEvent = (req: any) => (req.body?.data?.message === 'broken' ? { status: 500, text: 'down' } : echo(req));
      ({ acc, botId } = await setupBot(running, bot.url));
      const answered = await openConversation(running, acc);
      await answered.say('hello');
      await waitForConversation(
        admin,
        acc,
        answered.id,
        (c) => c.events.some((e: any) => e.text === 'echo: hello'),
        'the bot answered',
      );
      const escalated = await openConversation(running, acc);
      await escalated.say('broken');
      await waitForConversation(admin, acc, escalated.id, (c) => c.skill.name === 'escalation', 'escalated');
    });
    after(async () => {
      await running?.close();
      await bot?.stop();
      await store?.dispose();
    });

    it('holds the bot’s exchanges, errors, escalations and vendor latency, equal to its dashboard', async () => {
      const dashboard = await eventually(
        async () => (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}/stats?window=hour`)).body,
        (s: any) => s.totals.escalated === 1 && s.totals.exchanges >= 2,
        'the dashboard has both conversations',
      );
      // The failed call put the bot into VENDOR_INTERRUPTION and its probe brings it back: the
      // status is read once it has settled, or it could change between the scrape and the read.
      const view = await eventually(
        async () => (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body,
        (b: any) => b.status === 'ONLINE',
        'the bot back ONLINE',
      );
      const text = await (await fetch(`${running.url}/metrics`)).text();
      const of = { account: acc, bot_id: botId };
      for (const [outcome, n] of Object.entries<number>(dashboard.exchangesByOutcome))
        assert.equal(series(text, 'botbridge_bot_exchanges_total', { ...of, outcome }), n, `exchanges ${outcome}`);
      assert.ok(series(text, 'botbridge_bot_exchanges_total', { ...of, outcome: 'ESCALATED' }) >= 1);
      for (const [code, n] of Object.entries<number>(dashboard.errorsByCode))
        assert.equal(series(text, 'botbridge_bot_errors_total', { ...of, code }), n, `errors ${code}`);
      assert.ok(series(text, 'botbridge_bot_errors_total', { ...of, code: 'vendor-http-error' }) >= 1);
      // A conversation routed to the bot before this instance's lease on it was taken (PostgreSQL)
      // is picked up by the takeover, which counts no start: the dashboard says the same.
      const started = series(text, 'botbridge_bot_conversations_total', { ...of, event: 'started' });
      assert.equal(started, dashboard.totals.started);
      assert.ok(started >= 1 && started <= 2, `started: ${started}`);
      assert.equal(series(text, 'botbridge_bot_conversations_total', { ...of, event: 'escalated' }), 1);
      const latencyCount = series(text, 'botbridge_bot_vendor_latency_seconds_count', of);
      assert.ok(latencyCount >= 2, `vendor latency observations: ${latencyCount}`);
      // The status gauge: 1 for the status it is in, 0 for the rest.
      assert.equal(series(text, 'botbridge_bot_status', { ...of, status: view.status }), 1);
      const statuses = ['ONLINE', 'OFFLINE', 'VENDOR_INTERRUPTION', 'SERVICE_INTERRUPTION'];
      assert.equal(
        statuses.reduce((sum, status) => sum + series(text, 'botbridge_bot_status', { ...of, status }), 0),
        1,
      );
      assert.equal(series(text, 'botbridge_bot_open_conversations', of), dashboard.openNow);
      // This process drives every bot: its lease epoch is there.
      assert.ok(text.includes(`botbridge_bot_lease_epoch{account="${acc}",bot_id="${botId}"}`));
      // No conversation id in any label.
      assert.ok(!/conversation_id=/.test(text));
    });
  });
}

/**
 * A bot's series are resolved once and kept while it is tracked; once it is no longer (deleted),
 * what still reports for it (an exchange that was under way) adds to no series, as before the
 * series were kept.
 */
describe('per-bot series of a bot no longer tracked', () => {
  it('count nothing once the bot is forgotten, and again once it is tracked again', async () => {
    const registry = new Registry();
    const tracked = new Map([['bot-1', 'acme']]);
    const metrics = new BotMetrics(registry, (id) => tracked.get(id), {
      bots: () => [],
      openConversations: async () => new Map(),
    });
    const started = async () =>
      series(await registry.metrics(), 'botbridge_bot_conversations_total', { bot_id: 'bot-1', event: 'started' });
    metrics.counted('bot-1', 'started', '');
    assert.equal(await started(), 1);
    tracked.delete('bot-1');
    metrics.forget('bot-1');
    metrics.counted('bot-1', 'started', '');
    assert.equal(await started(), 1);
    tracked.set('bot-1', 'acme');
    metrics.counted('bot-1', 'started', '');
    assert.equal(await started(), 2);
  });
});
