import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { startApp, type Running } from '../helpers/app.js';
import { TestBot, reply, text, type Answer, type Received } from '../helpers/test-bot.js';
import {
  botTexts,
  eventually,
  exchangesOf,
  openConversation,
  setupBot,
  waitForConversation,
  type BotSetup,
} from '../helpers/connector.js';

/**
 * One bot service, every class of fault it can commit. A fault of one answer (not JSON, too
 * large, too deep, too many items, too long a DELAY) costs that conversation an escalation (or
 * the offending item) and nothing else: the bot stays ONLINE and its other conversations carry
 * on. A fault of the endpoint (refused, reset, timeout, 5xx, 429) escalates and puts the bot in
 * VENDOR_INTERRUPTION until its state endpoint answers online again.
 */
type Fault = (req: Received) => Answer | Promise<Answer>;

const nested = (depth: number, leaf: unknown): unknown => {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = { type: 'vertical', elements: [value] };
  return value;
};
const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

for (const kind of STORES) {
  describe(`fault injection, one class at a time (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let bot: TestBot;
    /** Conversations whose events the bot answers with a fault, and which fault. */
    const faulty = new Map<string, Fault>();

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      bot = await new TestBot().start();
      bot.onEvent = (req) => {
        const conversationId = /conversations\/([^/]+)\/events/.exec(req.path)![1];
        const fault = faulty.get(conversationId);
        return fault ? fault(req) : reply(text(`echo: ${req.body.data.message}`));
      };
    });
    after(async () => {
      await bot?.stop();
      await running?.close();
      await store?.dispose();
    });

    const statusOf = async (setup: BotSetup) =>
      (await setup.admin.get(`/admin/v1/accounts/${setup.acc}/bots/${setup.botId}`)).body;

    /** A faulty conversation beside a healthy one on the same bot; returns the faulty one's exchange. */
    async function inject(
      fault: Fault,
      options: { settings?: Record<string, unknown>; vendor?: Record<string, unknown> } = {},
    ) {
      const setup = await setupBot(running, bot.url, options);
      const healthy = await openConversation(running, setup.acc);
      const victim = await openConversation(running, setup.acc);
      faulty.set(victim.id, fault);
      await healthy.say('before');
      await waitForConversation(
        setup.admin,
        setup.acc,
        healthy.id,
        (c) => botTexts(c).includes('echo: before'),
        'the healthy conversation answered',
      );
      await victim.say('poison');
      const [exchange] = await exchangesOf(setup.admin, setup.acc, setup.botId, victim.id);
      return { setup, healthy, victim, exchange };
    }

    /** The fault cost its own conversation an escalation and nothing else. */
    async function onlyItsConversation(
      setup: BotSetup,
      healthy: { id: string; say(t: string): Promise<number> },
      victim: { id: string },
    ) {
      const conversation = await waitForConversation(
        setup.admin,
        setup.acc,
        victim.id,
        (c) => c.skill.name === 'escalation',
        'the escalation',
      );
      assert.ok(botTexts(conversation).includes('Let me find a human for you.'), 'the customer is told');
      const status = await statusOf(setup);
      assert.equal(status.status, 'ONLINE', 'one bad answer does not change the bot’s status');
      assert.equal(status.lastError, null);
      await healthy.say('after');
      const other = await waitForConversation(
        setup.admin,
        setup.acc,
        healthy.id,
        (c) => botTexts(c).includes('echo: after'),
        'the healthy conversation answered again',
      );
      assert.equal(other.skill.name, 'bot', 'the other conversation stays with the bot');
    }

    it('not JSON (an HTML page): vendor-malformed-response, named as what it is', async () => {
      const { setup, healthy, victim, exchange } = await inject(() => ({
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        text: '<html><body>Bad gateway</body></html>',
      }));
      assert.equal(exchange.outcome, 'ESCALATED');
      assert.equal(exchange.errors[0].code, 'vendor-malformed-response');
      assert.match(
        exchange.errors[0].message,
        /37 characters of text\/html that are not JSON, starting "<html><body>Bad gateway/,
      );
      assert.doesNotMatch(exchange.errors[0].message, /empty/);
      await onlyItsConversation(setup, healthy, victim);
    });

    it('larger than the bot’s limit: vendor-response-too-large, read no further', async () => {
      const big = JSON.stringify({ response: [text('x'.repeat(20_000))] });
      const { setup, healthy, victim, exchange } = await inject(
        () => ({ text: big, headers: { 'content-type': 'application/json' } }),
        { settings: { limits: { maxResponseBytes: 4096 } } },
      );
      assert.equal(exchange.errors[0].code, 'vendor-response-too-large');
      assert.match(exchange.errors[0].message, /more than 4096 bytes/);
      await onlyItsConversation(setup, healthy, victim);
    });

    it('10 MB of text against the default limit (2 MiB): vendor-response-too-large, not "empty"', async () => {
      const huge = 'a'.repeat(10 * 1024 * 1024);
      const { setup, healthy, victim, exchange } = await inject(() => ({ text: huge }));
      assert.equal(exchange.errors[0].code, 'vendor-response-too-large');
      assert.match(exchange.errors[0].message, /more than 2097152 bytes/);
      await onlyItsConversation(setup, healthy, victim);
    });

    it('structured content nested 25 templates deep: over its own depth limit, common-invalid-structured-content-body', async () => {
      const { setup, healthy, victim, exchange } = await inject(() =>
        reply({ type: 'STRUCTURED_CONTENT', data: { structuredContent: nested(25, { type: 'text', text: 'x' }) } }),
      );
      assert.equal(exchange.outcome, 'ESCALATED');
      assert.ok(
        exchange.errors.some((e: any) => e.code === 'common-invalid-structured-content-body'),
        JSON.stringify(exchange.errors).slice(0, 500),
      );
      await onlyItsConversation(setup, healthy, victim);
    });

    it('structured content nested 2,000 deep (it used to overflow the stack and take the bot down): refused whole', async () => {
      const { setup, healthy, victim, exchange } = await inject(() =>
        reply({ type: 'STRUCTURED_CONTENT', data: { structuredContent: nested(2000, { type: 'text', text: 'x' }) } }),
      );
      assert.equal(exchange.outcome, 'ESCALATED');
      assert.equal(exchange.errors[0].code, 'vendor-response-too-deep');
      assert.match(
        exchange.errors[0].message,
        /^the answer nests deeper than 64 levels \(at \/response\/0\/data\/structuredContent\/elements\/0/,
      );
      assert.equal(typeof exchange.response.body, 'string', 'logged as text, not walked');
      await onlyItsConversation(setup, healthy, victim);
    });

    it('a body nested 10,000 deep: refused whole', async () => {
      const { setup, healthy, victim, exchange } = await inject(() => ({
        text: `{"response": ${deepArray(10_000)}}`,
        headers: { 'content-type': 'application/json' },
      }));
      assert.equal(exchange.outcome, 'ESCALATED');
      assert.equal(exchange.errors[0].code, 'vendor-response-too-deep');
      await onlyItsConversation(setup, healthy, victim);
    });

    it('1,000 items: common-too-many-items, nothing sent', async () => {
      const { setup, healthy, victim, exchange } = await inject(() =>
        reply(...Array.from({ length: 1000 }, (_, i) => text(`item ${i}`))),
      );
      assert.equal(exchange.errors[0].code, 'common-too-many-items');
      await onlyItsConversation(setup, healthy, victim);
      const conversation = (await setup.admin.get(`/admin/v1/accounts/${setup.acc}/conversations/${victim.id}`)).body;
      assert.ok(!botTexts(conversation).some((t: string) => t.startsWith('item ')), 'none of the thousand went out');
    });

    it('a DELAY of an hour: that item dropped (common-delay-too-long), the messages go out at once, no escalation', async () => {
      const { setup, victim, exchange } = await inject(() =>
        reply(text('one'), { type: 'DELAY', data: { seconds: 3600 } }, text('two')),
      );
      assert.equal(exchange.outcome, 'PARTIAL');
      assert.deepEqual(
        exchange.errors.map((e: any) => [e.code, e.path]),
        [['common-delay-too-long', '/response/1/data/seconds']],
      );
      const conversation = await waitForConversation(
        setup.admin,
        setup.acc,
        victim.id,
        (c) => botTexts(c).includes('two'),
        'both texts',
      );
      assert.deepEqual(botTexts(conversation), ['one', 'two']);
      assert.equal(conversation.skill.name, 'bot');
      assert.equal((await statusOf(setup)).status, 'ONLINE');
    });

    it('a TRANSFER to a skill name with a NUL (PostgreSQL refuses it as a query value): transfer-failed, escalation only', async () => {
      const { setup, healthy, victim, exchange } = await inject(() =>
        reply(text('moving you'), {
          type: 'ACTION',
          data: { name: 'TRANSFER', parameters: { skillName: 'human\u0000' } },
        }),
      );
      assert.equal(exchange.outcome, 'ESCALATED');
      assert.equal(exchange.errors[0].code, 'transfer-failed');
      await onlyItsConversation(setup, healthy, victim);
    });

    it('the store refuses one reply (an injected trigger) while it works: that conversation is escalated, the bot stays ONLINE', async () => {
      const db = running.app.store.db;
      // A real failure of the store for exactly one reply; everything else it does still works.
      if (kind === 'postgres') {
        await sql`create function refuse_poison() returns trigger language plpgsql as $$ begin raise exception 'injected: refusing this reply'; end $$`.execute(
          db,
        );
        await sql`create trigger refuse_poison before insert on conversation_events for each row when (new.body like '%poisoned reply%') execute function refuse_poison()`.execute(
          db,
        );
      } else {
        await sql`create trigger refuse_poison before insert on conversation_events when new.body like '%poisoned reply%' begin select raise(abort, 'injected: refusing this reply'); end`.execute(
          db,
        );
      }
      try {
        const { setup, healthy, victim, exchange } = await inject(() => reply(text('poisoned reply')));
        assert.equal(exchange.outcome, 'ESCALATED');
        assert.equal(exchange.errors[0].code, 'platform-error');
        assert.match(exchange.errors[0].message, /injected: refusing this reply/);
        await onlyItsConversation(setup, healthy, victim);
      } finally {
        await sql`drop trigger refuse_poison${sql.raw(kind === 'postgres' ? ' on conversation_events' : '')}`.execute(
          db,
        );
        if (kind === 'postgres') await sql`drop function refuse_poison()`.execute(db);
      }
    });

    /** An endpoint fault: escalation with the code, VENDOR_INTERRUPTION, then back to ONLINE once healed. */
    async function endpointFault(
      fault: Fault,
      code: string,
      options: { vendor?: Record<string, unknown>; attempts?: number } = {},
    ) {
      const brokenState = () => ({ status: 503, text: 'down' });
      const { setup, healthy, victim, exchange } = await inject(async (req) => {
        // While the fault lasts the state endpoint is down too, so the probe cannot heal the bot before we look.
        bot.onState = brokenState;
        return fault(req);
      }, options);
      try {
        assert.equal(exchange.outcome, 'ESCALATED');
        assert.equal(exchange.errors[0].code, code);
        assert.equal(exchange.attempts, options.attempts ?? 3);
        await waitForConversation(
          setup.admin,
          setup.acc,
          victim.id,
          (c) => c.skill.name === 'escalation',
          'the escalation',
        );
        const status = await statusOf(setup);
        assert.equal(status.status, 'VENDOR_INTERRUPTION');
        assert.equal(status.lastError.code, code);
      } finally {
        faulty.delete(victim.id);
        bot.onState = () => ({ json: { state: 'online', version: '1.2.3' } });
      }
      await eventually(
        () => statusOf(setup),
        (s) => s.status === 'ONLINE',
        'back ONLINE once the state endpoint answers',
      );
      await healthy.say('after');
      await waitForConversation(
        setup.admin,
        setup.acc,
        healthy.id,
        (c) => botTexts(c).includes('echo: after'),
        'answered again',
      );
    }

    it('connection refused: vendor-unreachable, then back ONLINE', async () => {
      const setup = await setupBot(running, bot.url);
      const other = await new TestBot().start();
      const port = Number(new URL(other.url).port);
      other.onEvent = (req) => reply(text(`echo: ${req.body.data.message}`));
      await setup.admin.patch(`/admin/v1/accounts/${setup.acc}/bots/${setup.botId}`, {
        vendor: { baseUrl: other.url },
      });
      await other.stop();
      const conversation = await openConversation(running, setup.acc);
      await conversation.say('anyone?');
      const [exchange] = await exchangesOf(setup.admin, setup.acc, setup.botId, conversation.id);
      assert.equal(exchange.errors[0].code, 'vendor-unreachable');
      assert.equal(exchange.attempts, 3);
      await waitForConversation(
        setup.admin,
        setup.acc,
        conversation.id,
        (c) => c.skill.name === 'escalation',
        'the escalation',
      );
      assert.equal((await statusOf(setup)).status, 'VENDOR_INTERRUPTION');
      await other.start(port);
      try {
        await eventually(
          () => statusOf(setup),
          (s) => s.status === 'ONLINE',
          'back ONLINE once the service listens again',
        );
        const next = await openConversation(running, setup.acc);
        await next.say('now?');
        await waitForConversation(
          setup.admin,
          setup.acc,
          next.id,
          (c) => botTexts(c).includes('echo: now?'),
          'answered',
        );
      } finally {
        await other.stop();
      }
    });

    it('connection reset: vendor-unreachable', () => endpointFault(() => ({ reset: true }), 'vendor-unreachable'));

    it('timeout: vendor-timeout after three attempts', () =>
      endpointFault(() => ({ delayMs: 2500, ...reply(text('too late')) }), 'vendor-timeout', {
        vendor: { timeoutSeconds: 1 },
      }));

    it('HTTP 500: vendor-http-error after three attempts', () =>
      endpointFault(() => ({ status: 500, text: 'boom' }), 'vendor-http-error'));

    it('HTTP 429 without Retry-After: vendor-http-error after three attempts', () =>
      endpointFault(() => ({ status: 429, text: 'slow down' }), 'vendor-http-error'));

    it('HTTP 429 with Retry-After once: waited out and answered, no escalation', async () => {
      let refusedOnce = false;
      const { setup, victim, exchange } = await inject((req) => {
        if (refusedOnce) return reply(text(`echo: ${req.body.data.message}`));
        refusedOnce = true;
        return { status: 429, headers: { 'retry-after': '1' }, text: 'slow down' };
      });
      assert.equal(exchange.outcome, 'PROCESSED');
      assert.equal(exchange.attempts, 2);
      const conversation = await waitForConversation(
        setup.admin,
        setup.acc,
        victim.id,
        (c) => botTexts(c).includes('echo: poison'),
        'the answer',
      );
      assert.equal(conversation.skill.name, 'bot');
      assert.equal((await statusOf(setup)).status, 'ONLINE');
    });
  });
}
