import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { client, startApp, type Running } from '../helpers/app.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';
import {
  botTexts,
  eventually,
  exchangesOf,
  openConversation,
  setupBot,
  waitForConversation,
} from '../helpers/connector.js';
import { openWebSocket } from '../helpers/stream.js';
import { startWebhook, type Webhook } from '../helpers/net.js';

const card = {
  type: 'vertical',
  elements: [
    { type: 'text', text: 'Pick one' },
    { type: 'button', title: 'Yes', click: { actions: [{ type: 'publishText', text: 'yes' }] } },
  ],
};
const quickReplies = {
  quickReplies: {
    type: 'quickReplies',
    itemsPerRow: 2,
    replies: [
      { type: 'button', title: 'Yes', click: { actions: [{ type: 'publishText', text: 'yes' }] } },
      { type: 'button', title: 'No', click: { actions: [{ type: 'publishText', text: 'no' }] } },
    ],
  },
  message: 'Do you like bots?',
};

/** The bot answers per utterance: the test scripts each case by the consumer's words. */
function scriptedBot(bot: TestBot, script: Record<string, () => unknown>) {
  bot.onEvent = (req) => {
    const key = req.body?.type === 'TEXT' ? req.body.data.message : req.body?.type;
    const make = script[key];
    return make ? { json: make() } : reply(text(`echo: ${key}`));
  };
}

for (const kind of STORES) {
  describe(`Custom Endpoint responses and actions (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let bot: TestBot;
    let fn: Webhook;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      bot = await new TestBot().start();
      fn = await startWebhook();
    });
    after(async () => {
      await bot?.stop();
      fn?.close();
      await running?.close();
      await store?.dispose();
    });

    it('every item type reaches the conversation in order, with audience and metadata', async () => {
      const { acc, admin } = await setupBot(running, bot.url);
      scriptedBot(bot, {
        all: () => ({
          response: [
            text('public', { metadata: [{ type: 'ExternalId', id: 'm-1' }], encodedMetadata: 'SGVsbG8=' }),
            text('for agents only', { messageAudience: 'AGENTS_AND_MANAGERS' }),
            {
              type: 'STRUCTURED_CONTENT',
              data: { structuredContent: card, metadata: [{ type: 'ExternalId', id: 'sc' }] },
            },
            { type: 'STRUCTURED_CONTENT', data: { structuredContent: quickReplies } },
          ],
          analytics: { intents: [{ id: 'all-items', description: 'everything', confidenceScore: 0.9 }] },
        }),
      });
      const conversation = await openConversation(running, acc);
      await conversation.say('all');
      const conv = await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => c.events.some((e: any) => e.quickReplies),
        'all items',
      );
      const fromBot = conv.events.filter((e: any) => e.originator.role === 'BOT');
      assert.deepEqual(
        fromBot.map((e: any) => [e.type, e.audience]),
        [
          ['TEXT', 'ALL'],
          ['TEXT', 'AGENTS_AND_MANAGERS'],
          ['RICH_CONTENT', 'ALL'],
          ['TEXT', 'ALL'],
        ],
      );
      assert.deepEqual(fromBot[0].metadata, [{ type: 'ExternalId', id: 'm-1' }]);
      assert.equal(fromBot[0].encodedMetadata, 'SGVsbG8=');
      assert.deepEqual(fromBot[2].content, card);
      assert.deepEqual(fromBot[2].metadata, [{ type: 'ExternalId', id: 'sc' }]);
      assert.equal(fromBot[3].text, 'Do you like bots?');
      assert.deepEqual(fromBot[3].quickReplies, quickReplies.quickReplies);
      // The consumer never sees the private text.
      const seen = await conversation.consumer.get(
        `/api/account/${acc}/consumer/conversations/${conversation.id}/events`,
      );
      assert.ok(!JSON.stringify(seen.body).includes('for agents only'));
      // Intents are kept with the exchange.
      const bots = (await admin.get(`/admin/v1/accounts/${acc}/bots`)).body.bots;
      const [log] = await exchangesOf(admin, acc, bots[0].id);
      assert.equal(log.outcome, 'PROCESSED');
      assert.deepEqual(log.parsed.intents, [{ id: 'all-items', description: 'everything', confidenceScore: 0.9 }]);
    });

    it('a DELAY holds the next item back, shows typing, and blocks no other conversation', async () => {
      const { acc, admin } = await setupBot(running, bot.url);
      scriptedBot(bot, {
        slow: () => ({
          response: [text('first'), { type: 'DELAY', data: { seconds: 2, typing: true } }, text('second')],
          analytics: { intents: [] },
        }),
        fast: () => ({ response: [text('quick answer')], analytics: { intents: [] } }),
      });
      const a = await openConversation(running, acc);
      const b = await openConversation(running, acc);
      const stream = await openWebSocket(
        `${running.url}/api/account/${acc}/consumer/conversations/${a.id}/stream`,
        a.token,
      );
      await a.say('slow');
      await waitForConversation(admin, acc, a.id, (c) => botTexts(c).includes('first'), 'first item');
      await b.say('fast');
      await waitForConversation(
        admin,
        acc,
        b.id,
        (c) => botTexts(c).includes('quick answer'),
        'other conversation answered',
      );
      const meanwhile = (await admin.get(`/admin/v1/accounts/${acc}/conversations/${a.id}`)).body;
      assert.deepEqual(botTexts(meanwhile), ['first'], 'second item still held back by the delay');
      await stream.waitFor((m) => m.kind === 'typing' && m.typing === true, 'typing on');
      const done = await waitForConversation(admin, acc, a.id, (c) => botTexts(c).includes('second'), 'second item');
      assert.deepEqual(botTexts(done), ['first', 'second']);
      const typing = stream.messages.filter((m) => m.kind === 'typing').map((m) => m.typing);
      assert.deepEqual(typing, [true, false]);
      stream.close();
    });

    it('each action takes effect: transfer, transfer to agent, close, TTR, invoke function', async () => {
      const { acc, admin } = await setupBot(running, bot.url);
      const agent = await admin.post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'ann',
        password: 'password1',
        userType: 'HUMAN',
        skills: ['human'],
      });
      await client(running.url).post(`/api/account/${acc}/agent/login`, { username: 'ann', password: 'password1' });
      const ok = await admin.post(`/admin/v1/accounts/${acc}/functions`, { url: `${fn.url}/ok`, name: 'crm' });
      const failing = await admin.post(`/admin/v1/accounts/${acc}/functions`, { url: `${fn.url}/fail` });
      const action = (name: string, parameters: unknown) => () => ({
        response: [text(`doing ${name}`), { type: 'ACTION', data: { name, parameters } }],
        analytics: { intents: [] },
      });
      scriptedBot(bot, {
        transfer: action('TRANSFER', { skillName: 'human' }),
        'to ann': action('TRANSFER', { skillName: 'human', agentId: agent.body.id }),
        close: action('CLOSE_CONVERSATION', { withoutPcs: true }),
        urgent: action('CHANGE_TTR', { ttrType: 'URGENT' }),
        custom: action('CHANGE_TTR', { ttrType: 'CUSTOM', value: '120' }),
        crm: action('INVOKE_FUNCTION', { lambdaUuid: ok.body.lambdaUuid, payload: { order: 42 } }),
        'crm strict': action('INVOKE_FUNCTION', {
          lambdaUuid: failing.body.lambdaUuid,
          payload: {},
          failOnError: true,
        }),
        'crm lax': action('INVOKE_FUNCTION', { lambdaUuid: failing.body.lambdaUuid, payload: {}, failOnError: false }),
      });

      const t = await openConversation(running, acc);
      await t.say('transfer');
      let conv = await waitForConversation(admin, acc, t.id, (c) => c.skill.name === 'human', 'transfer to skill');
      assert.equal(conv.assignee, null);

      const p = await openConversation(running, acc);
      await p.say('to ann');
      conv = await waitForConversation(
        admin,
        acc,
        p.id,
        (c) => c.assignee?.userId === agent.body.id,
        'transfer to agent',
      );
      assert.equal(conv.skill.name, 'human');

      const c = await openConversation(running, acc);
      await c.say('urgent');
      conv = await waitForConversation(admin, acc, c.id, (x) => x.ttr.ttrType === 'URGENT', 'TTR urgent');
      await c.say('custom');
      conv = await waitForConversation(admin, acc, c.id, (x) => x.ttr.ttrType === 'CUSTOM', 'TTR custom');
      assert.deepEqual(conv.ttr, { ttrType: 'CUSTOM', value: 120 });

      await c.say('crm');
      await eventually(
        async () => fn.calls,
        (calls) => calls.length === 1,
        'function called',
      );
      assert.deepEqual(fn.calls[0].body, { order: 42 });
      await c.say('crm lax');
      await eventually(
        async () => fn.calls,
        (calls) => calls.length === 2,
        'failing function called',
      );
      await c.say('close');
      conv = await waitForConversation(admin, acc, c.id, (x) => x.status === 'CLOSED', 'closed by bot');
      assert.equal(conv.closeReason, 'BOT');
      assert.equal(conv.closedWithoutPcs, true);
      assert.equal(conv.skill.name, 'bot', 'a failOnError=false failure does not escalate');

      const s = await openConversation(running, acc);
      await s.say('crm strict');
      conv = await waitForConversation(admin, acc, s.id, (x) => x.skill.name === 'escalation', 'failOnError escalates');
      assert.ok(botTexts(conv).includes('Let me find a human for you.'));
    });

    it('an invalid item produces its error code while valid siblings go out', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url);
      scriptedBot(bot, {
        mixed: () => ({
          response: [
            text('before'),
            { type: 'DELAY', data: { seconds: 0 } },
            { type: 'TEXT', data: { message: '' } },
            {
              type: 'STRUCTURED_CONTENT',
              data: { structuredContent: { type: 'vertical', elements: [{ type: 'nonsense' }] } },
            },
            text('bad metadata', { encodedMetadata: 'not base64 !!!' }),
            text('after'),
          ],
          analytics: { intents: [] },
        }),
      });
      const conversation = await openConversation(running, acc);
      await conversation.say('mixed');
      const conv = await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => botTexts(c).includes('after'),
        'valid siblings',
      );
      assert.deepEqual(botTexts(conv), ['before', 'after']);
      assert.equal(conv.skill.name, 'bot', 'no escalation while something valid went out');
      const [log] = await exchangesOf(admin, acc, botId, conversation.id);
      assert.equal(log.outcome, 'PARTIAL');
      const codes = log.errors.map((e: any) => e.code);
      assert.ok(codes.includes('common-invalid-structured-content-body'), codes.join());
      assert.ok(
        codes.some((c: string) => /delay/i.test(c)),
        codes.join(),
      );
      assert.ok(
        codes.some((c: string) => /text/i.test(c)),
        codes.join(),
      );
      assert.ok(
        codes.some((c: string) => /encoded/i.test(c)),
        codes.join(),
      );
      assert.ok(log.errors.every((e: any) => typeof e.path === 'string' && e.path.startsWith('/response/')));
    });

    it('an empty response is common-invalid-parsed-response and escalates', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url);
      scriptedBot(bot, { nothing: () => ({ response: [], analytics: { intents: [] } }) });
      const conversation = await openConversation(running, acc);
      await conversation.say('nothing');
      await waitForConversation(admin, acc, conversation.id, (c) => c.skill.name === 'escalation', 'escalation');
      const [log] = await exchangesOf(admin, acc, botId, conversation.id);
      assert.equal(log.outcome, 'ESCALATED');
      assert.ok(log.errors.some((e: any) => e.code === 'common-invalid-parsed-response'));
    });

    it('quick replies are refused for a CHAT bot', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url, { settings: { conversationType: 'CHAT' } });
      scriptedBot(bot, {
        qr: () => ({
          response: [text('choose:'), { type: 'STRUCTURED_CONTENT', data: { structuredContent: quickReplies } }],
          analytics: { intents: [] },
        }),
      });
      const conversation = await openConversation(running, acc, { skill: 'bot', type: 'CHAT' });
      await conversation.say('qr');
      const conv = await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => botTexts(c).includes('choose:'),
        'text',
      );
      const [log] = await exchangesOf(admin, acc, botId, conversation.id);
      assert.ok(log.errors.some((e: any) => e.code === 'common-no-quick-replies-support-chat'));
      assert.ok(!conv.events.some((e: any) => e.quickReplies));
    });

    it('welcome event with lastConsumerMessage after a transfer to the bot', async () => {
      const { acc, admin } = await setupBot(running, bot.url, { settings: { welcomeEvent: true } });
      await admin.post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'bob',
        password: 'password1',
        userType: 'HUMAN',
        skills: ['human'],
      });
      const login = await client(running.url).post(`/api/account/${acc}/agent/login`, {
        username: 'bob',
        password: 'password1',
      });
      const agent = client(running.url, { token: login.body.token });
      // biome-ignore lint/correctness/noComponentHookFactories: START is an event type, not a component
      scriptedBot(bot, { START: () => ({ response: [text('welcome!')], analytics: { intents: [] } }) });
      // A new conversation on the bot skill: START without lastConsumerMessage.
      const fresh = await openConversation(running, acc);
      await waitForConversation(admin, acc, fresh.id, (c) => botTexts(c).includes('welcome!'), 'welcome');
      const [first] = bot.events(fresh.id);
      assert.equal(first.body.type, 'START');
      assert.equal(first.body.source, 'CONVERSATION');
      assert.equal(first.body.context.lpEvent.lastConsumerMessage, undefined);
      // Consumer talks to a human first, who transfers to the bot.
      const human = await openConversation(running, acc, { skill: 'human' });
      await human.say('my router is broken');
      await agent.post(`/api/account/${acc}/agent/conversations/${human.id}/accept`);
      await agent.post(`/api/account/${acc}/agent/conversations/${human.id}/transfer`, { skill: 'bot' });
      await waitForConversation(
        admin,
        acc,
        human.id,
        (c) => botTexts(c).includes('welcome!'),
        'welcome after transfer',
      );
      const [start] = bot.events(human.id);
      assert.equal(start.body.type, 'START');
      assert.equal(start.body.context.lpEvent.lastConsumerMessage, 'my router is broken');
    });

    it('combine messages merges three quick messages into one event', async () => {
      const { acc, admin } = await setupBot(running, bot.url, {
        settings: {
          combineMessages: { enabled: true, maxMessages: 3, timeFrameSeconds: 5, timeFrameAfterTypingSeconds: 5 },
        },
      });
      bot.onEvent = (req) => reply(text(`got: ${req.body.data.message}`));
      const conversation = await openConversation(running, acc);
      await conversation.say('one');
      await conversation.say('two');
      await conversation.say('three');
      const conv = await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => botTexts(c).length > 0,
        'combined answer',
      );
      assert.deepEqual(botTexts(conv), ['got: one\ntwo\nthree']);
      assert.equal(bot.events(conversation.id).length, 1);
    });

    it('beyond maxOpenConversations new conversations are escalated', async () => {
      // The welcome event shows each arrival was checked: the capacity check runs when the bot
      // gets a conversation, in the background, and on PostgreSQL's pool a check may otherwise
      // still be running when the next conversation is opened, and count it too.
      const { acc, admin, botId } = await setupBot(running, bot.url, {
        settings: { maxOpenConversations: 2, welcomeEvent: true },
      });
      bot.onEvent = () => reply(text('welcome'));
      const one = await openConversation(running, acc);
      await eventually(
        async () => bot.events(one.id),
        (events) => events.length === 1,
        'the first welcome event',
      );
      const two = await openConversation(running, acc);
      await eventually(
        async () => bot.events(two.id),
        (events) => events.length === 1,
        'the second welcome event',
      );
      const three = await openConversation(running, acc);
      const conv = await waitForConversation(
        admin,
        acc,
        three.id,
        (c) => c.skill.name === 'escalation',
        'third escalated',
      );
      assert.ok(botTexts(conv).includes('Let me find a human for you.'));
      for (const kept of [one, two]) {
        assert.equal((await admin.get(`/admin/v1/accounts/${acc}/conversations/${kept.id}`)).body.skill.name, 'bot');
      }
      const view = (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`)).body;
      assert.equal(view.openConversations, 2);
      const [log] = await exchangesOf(admin, acc, botId, three.id);
      assert.equal(log.errors[0].code, 'bot-capacity-reached');
    });

    it('conversations opened all at once: exactly maxOpenConversations stay, the rest are escalated', async () => {
      const { acc, admin, botId } = await setupBot(running, bot.url, { settings: { maxOpenConversations: 3 } });
      const opened = await Promise.all(Array.from({ length: 10 }, () => openConversation(running, acc)));
      const views = await Promise.all(
        opened.map((c) =>
          waitForConversation(
            admin,
            acc,
            c.id,
            (v) => v.skill.name === 'escalation' || (v.assignee?.botId === botId && v.holderLoad !== undefined),
            'routed',
          ),
        ),
      );
      // Each arrival is checked in the background: wait until every one over the cap has left.
      await eventually(
        () => admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`),
        (r) => r.body.openConversations <= 3,
        'the escalations',
      );
      const settled = await Promise.all(
        opened.map(async (c) => (await admin.get(`/admin/v1/accounts/${acc}/conversations/${c.id}`)).body),
      );
      assert.equal(
        settled.filter((v) => v.skill.name === 'bot').length,
        3,
        JSON.stringify(settled.map((v) => [v.skill.name, v.holderLoad])),
      );
      assert.equal(settled.filter((v) => v.skill.name === 'escalation').length, 7);
      assert.equal(views.length, 10);
    });

    it('after a restart the bot is ONLINE again and answers', async () => {
      const { acc, botId } = await setupBot(running, bot.url);
      bot.onEvent = (req) => reply(text(`again: ${req.body.data.message}`));
      await running.close();
      running = await startApp(store);
      const admin = client(running.url, { token: 'test-admin-token' });
      await eventually(
        () => admin.get(`/admin/v1/accounts/${acc}/bots/${botId}`),
        (r) => r.body.status === 'ONLINE',
        'ONLINE after restart',
      );
      const conversation = await openConversation(running, acc);
      await conversation.say('still alive?');
      await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => botTexts(c).includes('again: still alive?'),
        'answer after restart',
      );
    });
  });
}
