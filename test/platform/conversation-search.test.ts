import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { eventually, openConversation, setupBot, waitForConversation } from '../helpers/connector.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';
import { fts5Query, searchTerms, tsQuery } from '../../src/platform/conversation-search.js';

describe('search terms (pure)', () => {
  it('keeps letters and digits only, lower case, at most eight distinct', () => {
    assert.deepEqual(searchTerms('Parcel "never" OR (arrived*) -x NEAR/2 ü2'), [
      'parcel',
      'never',
      'or',
      'arrived',
      'x',
      'near',
      '2',
      'u2',
    ]);
    assert.deepEqual(searchTerms('a a b c d e f g h i j'), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    assert.deepEqual(searchTerms('"*()'), []);
  });
  it('matches three letters and more as word starts, shorter terms as whole words', () => {
    assert.equal(fts5Query(['parcel', 'no']), '"parcel"* "no"');
    assert.equal(tsQuery(['parcel', 'no']), 'parcel:* & no');
  });
});

for (const kind of STORES) {
  describe(`conversations page: list and search (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let bot: TestBot;
    let acc: string;
    let botId: string;
    /** Conversation ids by what they are about. */
    const ids: Record<string, string> = {};
    const search = async (query: string) => {
      const r = await admin.get(`/admin/v1/accounts/${acc}/conversations${query ? `?${query}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as { conversations: any[]; next?: string };
    };
    const found = async (query: string) => (await search(query)).conversations.map((c) => c.conversationId);

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      bot = await new TestBot().start();
      bot.onEvent = (req: any) =>
        req.body?.data?.message === 'show me a card'
          ? reply({
              type: 'STRUCTURED_CONTENT',
              data: {
                structuredContent: { type: 'vertical', elements: [{ type: 'text', text: 'Your wardrobe delivery' }] },
              },
            })
          : reply(text(`echo: ${req.body?.data?.message ?? req.body?.type}`));
      ({ acc, botId } = await setupBot(running, bot.url));

      // Oldest first, so newest first is the reverse of this order.
      const parcel = await openConversation(running, acc);
      await parcel.say('my parcel never arrived');
      ids.parcel = parcel.id;
      const card = await openConversation(running, acc);
      await card.say('show me a card');
      ids.card = card.id;
      const blender = await openConversation(running, acc);
      await blender.say('a refund for the Ünïcode blender please');
      ids.blender = blender.id;
      const human = await openConversation(running, acc, { skill: 'human' });
      await human.say('parcel tracking for order 12');
      ids.human = human.id;
      for (const id of [ids.parcel, ids.card, ids.blender])
        await waitForConversation(
          admin,
          acc,
          id,
          (c) => c.events.some((e: any) => e.originator.role === 'BOT' && e.type !== 'ASSIGN'),
          'the bot answered',
        );
      const closed = await parcel.consumer.post(`/api/account/${acc}/consumer/conversations/${ids.parcel}/close`);
      assert.equal(closed.status, 200, JSON.stringify(closed.body));

      // Another account's conversation with the same words never shows.
      const other = await setupBot(running, bot.url);
      const elsewhere = await openConversation(running, other.acc);
      await elsewhere.say('parcel never arrived either');
    });
    after(async () => {
      await running?.close();
      await bot?.stop();
      await store?.dispose();
    });

    it('lists every conversation of the account newest first, each with its last message', async () => {
      const page = await search('');
      assert.deepEqual(
        page.conversations.map((c) => c.conversationId),
        [ids.human, ids.blender, ids.card, ids.parcel],
      );
      assert.equal(page.next, undefined);
      const human = page.conversations[0];
      assert.equal(human.skill.name, 'human');
      assert.deepEqual(
        human.events.map((e: any) => e.text),
        ['parcel tracking for order 12'],
      );
      const parcel = page.conversations[3];
      assert.equal(parcel.status, 'CLOSED');
      assert.equal(typeof parcel.closedAt, 'number');
      assert.deepEqual(
        parcel.events.map((e: any) => e.text),
        ['echo: my parcel never arrived'],
      );
    });

    it('finds conversations by words of their messages, all of them in one message, as word starts', async () => {
      assert.deepEqual(await found('words=parcel'), [ids.human, ids.parcel]);
      assert.deepEqual(await found('words=PARC'), [ids.human, ids.parcel]);
      assert.deepEqual(await found('words=parcel%20arrived'), [ids.parcel]);
      // Accents and case are ignored; the blender is found by its word's start.
      assert.deepEqual(await found('words=unicode%20blend'), [ids.blender]);
      // Structured content's text elements are words of the message.
      assert.deepEqual(await found('words=wardrobe'), [ids.card]);
      assert.deepEqual(await found('words=nothing%20like%20this'), []);
      const hit = (await search('words=arrived')).conversations[0];
      assert.deepEqual(
        hit.events.map((e: any) => e.text),
        ['my parcel never arrived', 'echo: my parcel never arrived'],
      );
    });

    it('takes any text as words: query syntax of either index is never reached', async () => {
      for (const words of ['"', '*', 'parcel OR', '(x', 'NEAR/2', '-parcel', 'a:*', "it's & | !", '\\'])
        await search(`words=${encodeURIComponent(words)}`);
    });

    it('narrows by bot, skill, status and when it started', async () => {
      assert.deepEqual(await found(`bot=${botId}`), [ids.blender, ids.card, ids.parcel]);
      assert.deepEqual(await found('bot=no-such-bot'), []);
      assert.deepEqual(await found('skill=human'), [ids.human]);
      assert.deepEqual(await found('status=CLOSED'), [ids.parcel]);
      assert.deepEqual(await found(`status=OPEN&bot=${botId}&words=card`), [ids.card]);
      const all = (await search('')).conversations;
      const cardStarted = all.find((c) => c.conversationId === ids.card).createdAt;
      const blenderStarted = all.find((c) => c.conversationId === ids.blender).createdAt;
      assert.deepEqual(await found(`from=${cardStarted}&to=${blenderStarted + 1}`), [ids.blender, ids.card]);
    });

    it('pages newest first with a cursor, each conversation once', async () => {
      const seen: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 10; pages++) {
        const page = await search(`limit=1${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.conversations.map((c) => c.conversationId));
        cursor = page.next;
        if (!cursor) break;
      }
      assert.deepEqual(seen, [ids.human, ids.blender, ids.card, ids.parcel]);
    });

    it("shows a conversation's exchanges with its bots beside it, and none for one no bot took part in", async () => {
      const exchanges = await eventually(
        async () => (await admin.get(`/admin/v1/accounts/${acc}/conversations/${ids.card}/exchanges`)).body.exchanges,
        (list: any[]) => list.some((x) => x.eventType === 'TEXT'),
        'the card conversation’s exchanges',
      );
      assert.ok(exchanges.every((x: any) => x.conversationId === ids.card && x.botId === botId));
      const human = await admin.get(`/admin/v1/accounts/${acc}/conversations/${ids.human}/exchanges`);
      assert.equal(human.status, 200);
      assert.deepEqual(human.body.exchanges, []);
      const unknown = await admin.get(`/admin/v1/accounts/${acc}/conversations/nope/exchanges`);
      assert.equal(unknown.status, 404);
    });

    it('takes a message with text no index can hold (a NUL, a lone surrogate), found by its other words', async () => {
      const odd = await openConversation(running, acc, { skill: 'human' });
      await odd.say('nul\u0000here and a lone \ud800 surrogate, quixotic');
      assert.deepEqual(await found('words=quixotic'), [odd.id]);
      const hit = (await search('words=quixotic')).conversations[0];
      assert.equal(hit.events[0].text, 'nul\u0000here and a lone \ud800 surrogate, quixotic');
    });

    it('refuses what it cannot take, with a clear error', async () => {
      const bad = async (query: string, status: number, code: string) => {
        const r = await admin.get(`/admin/v1/accounts/${acc}/conversations?${query}`);
        assert.equal(r.status, status, `${query}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.error.code, code, query);
      };
      await bad('skill=nope', 404, 'not-found');
      await bad('cursor=bm90IG91cnM', 400, 'bad-request');
      await bad('status=MAYBE', 400, 'invalid-request');
      await bad('limit=1000', 400, 'invalid-request');
      await bad(`words=${'x'.repeat(201)}`, 400, 'invalid-request');
      const missing = await admin.get('/admin/v1/accounts/nobody/conversations');
      assert.equal(missing.status, 404);
    });
  });
}
