import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { startApp, type Running } from '../helpers/app.js';
import { eventually, exchangesOf, openConversation, setupBot, waitForConversation } from '../helpers/connector.js';
import { createContractValidator } from '../../src/contract/index.js';
import { DEMO_BOT_ID, DEMO_BOT_PREFIX } from '../../src/demo-bot/index.js';
import { seedDemoAccount } from '../../src/demo-account.js';

/**
 * The built-in demo bot, driven by the real connector over HTTP: the same contract checks as
 * any Custom Endpoint service — test connection, every request body and every answer valid,
 * every response type and action taking effect.
 */
for (const kind of STORES) {
  describe(`demo bot through the connector (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    const contract = createContractValidator();

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('passes test connection, and every exchange is valid against the contract', async () => {
      const { acc, admin, botId } = await setupBot(running, `${running.url}${DEMO_BOT_PREFIX}`, {
        vendor: { botId: DEMO_BOT_ID },
        settings: { welcomeEvent: true, engagementAttributes: true, escalation: { skill: 'escalation' } },
      });
      const test = await admin.post(`/admin/v1/accounts/${acc}/bots/${botId}/test-connection`);
      assert.equal(test.body.ok, true);
      assert.equal(test.body.state, 'online');
      const envs = await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}/environments`);
      assert.ok(envs.body.environments.includes('draft'));

      const conversation = await openConversation(running, acc);
      await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => c.events.some((e: any) => e.originator.role === 'BOT'),
        'welcome',
      );
      const utterances = [
        'hi',
        'private',
        'metadata',
        'card',
        'carousel',
        'quick replies',
        'delay',
        'urgent',
        'ttr 600',
      ];
      for (const words of utterances) {
        const seq = await conversation.say(words);
        await waitForConversation(
          admin,
          acc,
          conversation.id,
          (c) => c.events.some((e: any) => e.sequence > seq && e.originator.role === 'BOT'),
          `answer to ${words}`,
        );
      }
      // Rich content from the consumer is echoed.
      const rich = await conversation.consumer.post(
        `/api/account/${acc}/consumer/conversations/${conversation.id}/messages`,
        {
          content: { type: 'vertical', elements: [{ type: 'text', text: 'a card from the consumer' }] },
        },
      );
      assert.equal(rich.status, 201);
      const conv = await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => c.ttr.ttrType === 'CUSTOM' && c.events.some((e: any) => /rich content/i.test(e.text ?? '')),
        'everything answered',
      );
      const fromBot = conv.events.filter((e: any) => e.originator.role === 'BOT');
      assert.ok(
        fromBot.some((e: any) => e.audience === 'AGENTS_AND_MANAGERS'),
        'private text',
      );
      assert.ok(
        fromBot.some((e: any) => e.encodedMetadata && e.metadata),
        'metadata',
      );
      assert.ok(fromBot.filter((e: any) => e.type === 'RICH_CONTENT').length >= 2, 'card and carousel');
      assert.ok(
        fromBot.some((e: any) => e.quickReplies),
        'quick replies',
      );
      assert.deepEqual(conv.ttr, { ttrType: 'CUSTOM', value: 600 });

      // START, one per utterance, and the rich-content echo.
      const exchanges = await exchangesOf(admin, acc, botId, conversation.id, utterances.length + 2);
      assert.ok(exchanges.length >= utterances.length + 2);
      for (const exchange of exchanges) {
        assert.equal(exchange.outcome, 'PROCESSED', `${exchange.eventType}: ${JSON.stringify(exchange.errors)}`);
        assert.equal(
          contract.validate('ConversationChange', exchange.request.body).ok,
          true,
          JSON.stringify(exchange.request.body),
        );
        const answer = contract.validate('PostEventResponse', exchange.response.body);
        assert.equal(answer.ok, true, answer.errors.join('; '));
      }
      assert.ok(exchanges.some((e: any) => e.eventType === 'START'));
      assert.ok(exchanges.some((e: any) => e.eventType === 'RICH_CONTENT'));
    });

    it('its invalid and empty answers show the connector’s error codes', async () => {
      const { acc, admin, botId } = await setupBot(running, `${running.url}${DEMO_BOT_PREFIX}`, {
        vendor: { botId: DEMO_BOT_ID },
      });
      const conversation = await openConversation(running, acc);
      await conversation.say('invalid');
      await eventually(
        async () => await exchangesOf(admin, acc, botId, conversation.id),
        (x: any[]) => x.length === 1,
        'invalid exchange',
      );
      const [invalid] = await exchangesOf(admin, acc, botId, conversation.id);
      assert.equal(invalid.outcome, 'PARTIAL');
      assert.equal(invalid.errors[0].code, 'common-invalid-delay-body');
      await conversation.say('empty');
      await waitForConversation(admin, acc, conversation.id, (c) => c.skill.name === 'escalation', 'escalated');
    });

    it('without a Public API login for the account, later says it cannot', async () => {
      const { acc, admin } = await setupBot(running, `${running.url}${DEMO_BOT_PREFIX}`, {
        vendor: { botId: DEMO_BOT_ID },
      });
      const conversation = await openConversation(running, acc);
      const seq = await conversation.say('later please');
      await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => c.events.some((e: any) => e.sequence > seq && /no Public API login/.test(e.text ?? '')),
        'the reason it cannot answer later',
      );
    });

    it('transfer and close act on the conversation', async () => {
      const { acc, admin } = await setupBot(running, `${running.url}${DEMO_BOT_PREFIX}`, {
        vendor: { botId: DEMO_BOT_ID },
      });
      const t = await openConversation(running, acc);
      await t.say('transfer');
      await waitForConversation(admin, acc, t.id, (c) => c.skill.name === 'human', 'transferred to human');
      const c = await openConversation(running, acc);
      await c.say('close without survey');
      const closed = await waitForConversation(admin, acc, c.id, (x) => x.status === 'CLOSED', 'closed');
      assert.equal(closed.closedWithoutPcs, true);
    });

    it('the demo account on a first start has the demo bot ONLINE', async () => {
      const own = await freshStore(kind);
      const app = await startApp(own);
      try {
        const demo = await seedDemoAccount(app.app);
        assert.ok(demo);
        assert.equal(demo.bot.status, 'ONLINE');
        const admin = (await import('../helpers/app.js')).client(app.url, { token: 'test-admin-token' });
        const conversation = await openConversation(app, demo.accountId, { skill: 'demo-bot' });
        await waitForConversation(
          admin,
          demo.accountId,
          conversation.id,
          (x) => x.events.some((e: any) => /Welcome/.test(e.text ?? '')),
          'welcome from demo bot',
        );
        // "later": the holding text at once, then the real reply through the Public API, as the bot, in order.
        const seq = await conversation.say('later where is my order?');
        const answered = await waitForConversation(
          admin,
          demo.accountId,
          conversation.id,
          (x) => x.events.some((e: any) => e.sequence > seq && /Back with your answer/.test(e.text ?? '')),
          'the later reply through the Public API',
        );
        assert.ok(answered.events.length > 0);
        // What the consumer's own view of the conversation shows.
        const seen = await conversation.consumer.get(
          `/api/account/${demo.accountId}/consumer/conversations/${conversation.id}/events?after=${seq}`,
        );
        assert.equal(seen.status, 200);
        const after = seen.body.events
          .filter((e: any) => e.type === 'TEXT')
          .map((e: any) => `${e.originator.role}: ${e.text.slice(0, 30)}`);
        assert.deepEqual(after, [
          'BOT: Let me look into that — I’ll c',
          'BOT: Back with your answer about “w',
          'BOT: A bot service answers like thi',
        ]);
        assert.ok(
          app.logs.some((line) => line.includes('later reply queued through the Public API')),
          'the demo bot logs the job it queued',
        );
        assert.equal(await seedDemoAccount(app.app), undefined, 'seeded only once');
      } finally {
        await app.close();
        await own.dispose();
      }
    });
  });
}
