import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { eventually, openConversation, setupBot, waitForConversation } from '../helpers/connector.js';
import { TestBot, reply, text } from '../helpers/test-bot.js';
import { openStore, type Store } from '../../src/store/index.js';

/**
 * SQLite's word index is written behind the log, in batches (src/store/word-index.ts): the
 * server keeps it up by itself, and a search first indexes whatever it has not reached yet.
 * PostgreSQL indexes with each message (a GIN index), so there is nothing of this to test there.
 */
describe('word index written in batches behind the log (sqlite)', { skip: !STORES.includes('sqlite') }, () => {
  let scratch: TestStore;
  let running: Running | undefined;
  let bot: TestBot;
  let acc: string;
  let conversationId: string;
  /** The log entries whose words hold `word`, read from the index itself (no catching up first). */
  const indexed = async (store: Store, word: string) =>
    (
      await sql<{
        rowid: number;
      }>`select rowid from conversation_words where conversation_words match ${`"${word}"`}`.execute(store.db)
    ).rows.length;
  /** A store beside the server's, as a tool opens it (not claimed: it does not keep the index up). */
  const beside = () => openStore({ dataDir: scratch.dataDir });

  before(async () => {
    scratch = await freshStore('sqlite');
    running = await startApp(scratch);
    bot = await new TestBot().start();
    bot.onEvent = (req: any) => reply(text(`echo: ${req.body?.data?.message ?? req.body?.type}`));
    ({ acc } = await setupBot(running, bot.url));
    const conversation = await openConversation(running, acc);
    conversationId = conversation.id;
    await conversation.say('a zebra crossing');
    await waitForConversation(
      client(running.url, { token: ADMIN_TOKEN }),
      acc,
      conversationId,
      (c) => c.events.some((e: any) => e.text === 'echo: a zebra crossing'),
      'the bot to answer',
    );
  });
  after(async () => {
    await running?.close();
    await bot.stop();
    await scratch.dispose();
  });

  it('the server indexes new messages by itself, the consumer’s and the bot’s, with no search asking', async () => {
    const store = await beside();
    try {
      await eventually(
        () => indexed(store, 'zebra'),
        (n) => n === 2,
        'both messages with "zebra" in the word index',
      );
    } finally {
      await store.close();
    }
  });

  it('a search first indexes what the batches have not reached: a message committed is a message found', async () => {
    await running?.close();
    running = undefined;
    const store = await beside();
    try {
      // Written behind a stopped server: nothing keeps the index up now.
      await sql`
        insert into conversation_events (conversation_id, seq, server_ts, type, originator_role, originator_user_id, audience, body)
        select conversation_id, seq + 1000, server_ts, type, originator_role, originator_user_id, audience, ${JSON.stringify({ text: 'a quokka smiles' })}
        from conversation_events where conversation_id = ${conversationId} and type = 'TEXT' order by seq limit 1`.execute(
        store.db,
      );
      assert.equal(await indexed(store, 'quokka'), 0, 'not indexed until something catches up');
      await store.wordsIndexed();
      assert.equal(await indexed(store, 'quokka'), 1);
      // Caught up, the cursor is at the log's end: indexing again adds nothing twice.
      await store.wordsIndexed();
      assert.equal(await indexed(store, 'zebra'), 2);
      const { rows } = await sql<{ behind: number }>`
        select (select max(rowid) from conversation_events) - last as behind from conversation_words_cursor`.execute(
        store.db,
      );
      assert.equal(rows[0].behind, 0);
    } finally {
      await store.close();
    }
  });
});
