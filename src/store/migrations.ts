import { sql, type Kysely, type Migration, type CreateTableBuilder } from 'kysely';
import { sqliteMessageWords } from './word-index.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * What a migration works on: the schema as it stood when the migration was written, which no
 * current type describes (Kysely's own advice), so it is untyped here and only here.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type MigrationDb = Kysely<any>;

/**
 * Versioned migrations, applied in name order at start. Each takes the dialect because the two
 * stores spell auto-increment keys differently; everything else is portable SQL.
 * Never edit a migration that has shipped: add a new one.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const withSerialId = <T extends string>(t: CreateTableBuilder<T, string>) =>
    dialect === 'postgres'
      ? t.addColumn('id', 'serial', (c) => c.primaryKey())
      : t.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());

  return {
    '0001_foundation': {
      async up(db: MigrationDb) {
        await db.schema
          .createTable('settings')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('accounts')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();

        await withSerialId(db.schema.createTable('skills'))
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('skills_account_name', ['account_id', 'name'])
          .execute();

        await withSerialId(db.schema.createTable('users'))
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('login_name', 'text', (c) => c.notNull())
          .addColumn('user_type', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text')
          .addColumn('max_conversations', 'integer')
          .addColumn('state', 'text', (c) => c.notNull().defaultTo('OFFLINE'))
          .addColumn('bot_id', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addUniqueConstraint('users_account_login', ['account_id', 'login_name'])
          .execute();

        await db.schema
          .createTable('user_skills')
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('skill_id', 'integer', (c) => c.notNull().references('skills.id'))
          .addPrimaryKeyConstraint('user_skills_pk', ['user_id', 'skill_id'])
          .execute();
        await db.schema.createIndex('user_skills_skill').on('user_skills').column('skill_id').execute();

        await db.schema
          .createTable('conversations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('status', 'text', (c) => c.notNull())
          .addColumn('skill_id', 'integer', (c) => c.notNull().references('skills.id'))
          .addColumn('assignee_user_id', 'integer')
          .addColumn('ttr_type', 'text', (c) => c.notNull())
          .addColumn('ttr_value', 'integer')
          .addColumn('sdes', 'text', (c) => c.notNull())
          .addColumn('visitor', 'text', (c) => c.notNull())
          .addColumn('engagement_id', 'bigint')
          .addColumn('campaign_id', 'bigint')
          .addColumn('close_reason', 'text')
          .addColumn('closed_without_pcs', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_seq', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addColumn('queued_at', 'bigint')
          .addColumn('closed_at', 'bigint')
          .execute();
        await db.schema
          .createIndex('conversations_queue')
          .on('conversations')
          .columns(['account_id', 'status', 'skill_id', 'queued_at'])
          .execute();
        await db.schema
          .createIndex('conversations_assignee')
          .on('conversations')
          .columns(['assignee_user_id', 'status'])
          .execute();

        await db.schema
          .createTable('conversation_events')
          .addColumn('conversation_id', 'text', (c) => c.notNull().references('conversations.id'))
          .addColumn('seq', 'integer', (c) => c.notNull())
          .addColumn('server_ts', 'bigint', (c) => c.notNull())
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('originator_role', 'text', (c) => c.notNull())
          .addColumn('originator_user_id', 'integer')
          .addColumn('audience', 'text', (c) => c.notNull())
          .addColumn('body', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('conversation_events_pk', ['conversation_id', 'seq'])
          .execute();

        await db.schema
          .createTable('apps')
          .addColumn('client_id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('scope', 'text', (c) => c.notNull())
          .addColumn('secret_hash', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();

        await db.schema
          .createTable('signing_keys')
          .addColumn('kid', 'text', (c) => c.primaryKey())
          .addColumn('private_jwk', 'text', (c) => c.notNull())
          .addColumn('public_jwk', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('retired_at', 'bigint')
          .execute();

        await db.schema
          .createTable('functions')
          .addColumn('lambda_uuid', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
          .addColumn('name', 'text')
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
      },
    },
    '0002_conversation_answers': {
      /**
       * What the holder of a conversation has answered, committed with its answer: a restart
       * sends the bot exactly the consumer messages it never answered. Existing conversations
       * count as answered, so an upgrade replays nothing.
       */
      async up(db: MigrationDb) {
        await db.schema
          .alterTable('conversations')
          .addColumn('answered_seq', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .alterTable('conversations')
          .addColumn('inbound_seq', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema.alterTable('conversations').addColumn('pending_answer', 'text').execute();
        await db
          .updateTable('conversations')
          .set((eb) => ({ answered_seq: eb.ref('last_seq'), inbound_seq: eb.ref('last_seq') }))
          .execute();
      },
    },
    '0003_conversation_holder_load': {
      /** How many open conversations its holder had when it got this one: a bot's cap is judged by it. */
      async up(db: MigrationDb) {
        await db.schema.alterTable('conversations').addColumn('holder_load', 'integer').execute();
      },
    },
    '0004_conversation_notices': {
      /**
       * PostgreSQL: every committed change of a conversation tells the other instances sharing the
       * database (LISTEN/NOTIFY; delivered on commit, in commit order, never for a rollback). The
       * trigger costs no round trip of its own. `application_name` names the writing instance, so
       * each one skips its own. SQLite is one process: nobody else to tell.
       */
      async up(db: MigrationDb) {
        if (dialect !== 'postgres') return;
        await conversationNoticeFunction({ withTime: false }).execute(db);
        await sql`
          create trigger botbridge_conversation_notice after insert or update on conversations
          for each row execute function botbridge_conversation_notice()`.execute(db);
      },
    },
    '0005_conversation_version': {
      /**
       * Counts the changes of a conversation's row. A change starts from the state this instance
       * last committed instead of reading the row again, and its write lands only while the row is
       * still at that version; another writer's change in between sends it back to read the row.
       */
      async up(db: MigrationDb) {
        await db.schema
          .alterTable('conversations')
          .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
      },
    },
    '0006_user_open_conversations': {
      /**
       * How many open conversations each user holds, kept by the changes that assign and close
       * them (in their transaction): routing reads it instead of counting the user's conversations
       * on every arrival, which grew with every conversation open.
       */
      async up(db: MigrationDb) {
        await db.schema
          .alterTable('users')
          .addColumn('open_conversations', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await sql`
          update users set open_conversations = (
            select count(*) from conversations
            where conversations.assignee_user_id = users.id and conversations.status = 'OPEN'
          )`.execute(db);
      },
    },
    '0007_test_conversations': {
      /**
       * A tester's conversation is a test until it ends: open while its tester keeps it
       * (`test_until`, renewed as the page stays), closed by whichever instance sweeps after that.
       */
      async up(db: MigrationDb) {
        await db.schema.alterTable('conversations').addColumn('test_until', 'bigint').execute();
        // Only tests are in it: the sweep reads a handful of rows, not every open conversation.
        await sql`create index conversations_tests on conversations (test_until) where test_until is not null`.execute(
          db,
        );
      },
    },
    '0008_conversation_search': {
      /**
       * The console's Conversations page: an account's conversations newest first, and the words of
       * their messages indexed where each store indexes text — FTS5 on SQLite, full-text search
       * (a GIN index over a tsvector) on PostgreSQL. A message's words are the string values of its
       * "text" keys at any depth: a text's own, and the text elements of structured content and
       * quick replies. Indexed as each message is written, in its transaction, so a message found
       * is a message committed and one committed is found.
       */
      async up(db: MigrationDb) {
        await sql`create index conversations_recent on conversations (account_id, created_at)`.execute(db);
        if (dialect === 'postgres') {
          // Immutable as declared (every function it calls is), which an index expression needs.
          // Accents go as FTS5's remove_diacritics takes them, for the Latin letters that have
          // them: the unaccent extension is not in every PostgreSQL, nor immutable.
          // A body is JSON.stringify's output, which jsonb takes but for two escapes: \u0000 and a
          // lone surrogate (JSON.stringify escapes only lone ones). Those become spaces first, or a
          // message holding one could not be written at all.
          const { accented, plain } = latinAccents();
          await sql`
            create function botbridge_message_words(body text) returns tsvector
            language sql immutable parallel safe as $$
              select to_tsvector('simple'::regconfig, translate(
                jsonb_path_query_array(
                  regexp_replace(body, ${sql.lit(UNSTORABLE_ESCAPES)}, '\\1 ', 'gi')::jsonb,
                  'lax $.**.text', '{}', true)::text,
                ${sql.lit(accented)}, ${sql.lit(plain)}))
            $$`.execute(db);
          await sql`
            create index conversation_events_words on conversation_events
            using gin (botbridge_message_words(body)) where type in ('TEXT', 'RICH_CONTENT')`.execute(db);
          return;
        }
        // Contentless: the words are in conversation_events already; the index keeps only their
        // positions, keyed by the entry's rowid. Entries are never deleted, so it never needs to.
        await sql`
          create virtual table conversation_words using fts5(
            words, content = '', tokenize = 'unicode61 remove_diacritics 2')`.execute(db);
        const words = sqliteMessageWords;
        await sql`
          create trigger conversation_words_add after insert on conversation_events
          when new.type in ('TEXT', 'RICH_CONTENT')
          begin
            insert into conversation_words (rowid, words) values (new.rowid, ${words('new')});
          end`.execute(db);
        await sql`
          insert into conversation_words (rowid, words)
          select rowid, ${words('e')} from conversation_events e where type in ('TEXT', 'RICH_CONTENT')`.execute(db);
      },
    },
    '0009_conversation_notice_time': {
      /**
       * A change notice says when its change was made (PostgreSQL's clock, epoch ms): another
       * instance hearing it measures how late its notices arrive (botbridge_change_notice_lag_seconds).
       */
      async up(db: MigrationDb) {
        if (dialect !== 'postgres') return;
        await conversationNoticeFunction({ withTime: true }).execute(db);
      },
    },
    '0010_conversation_words_in_batches': {
      /**
       * SQLite: the word index is written in batches behind the log (store/word-index.ts), up to
       * a cursor moved with it, instead of by 0008's trigger with each message. Everything
       * written so far was indexed by that trigger, so the cursor starts at the log's end.
       */
      async up(db: MigrationDb) {
        if (dialect !== 'sqlite') return;
        await sql`drop trigger conversation_words_add`.execute(db);
        await sql`create table conversation_words_cursor (last integer not null)`.execute(db);
        await sql`
          insert into conversation_words_cursor (last)
          select coalesce(max(rowid), 0) from conversation_events`.execute(db);
      },
    },
  };
}

/**
 * The JSON escapes PostgreSQL's jsonb refuses, where they are escapes (after an even run of
 * backslashes): `\u0000` and a lone surrogate. The run before one is kept (`\1` in the replacement).
 */
export const UNSTORABLE_ESCAPES = String.raw`(?<!\\)((?:\\\\)*)\\u(0000|d[89a-f][0-9a-f]{2})`;

/**
 * The Latin letters with accents (U+00C0–U+024F) that decompose to an ASCII letter and marks, and
 * those letters: what `translate` needs to drop accents as search terms drop them.
 */
export function latinAccents(): { accented: string; plain: string } {
  let accented = '';
  let plain = '';
  for (let code = 0xc0; code <= 0x24f; code++) {
    const letter = String.fromCharCode(code);
    const base = letter.normalize('NFD').replace(/\p{M}/gu, '');
    if (base !== letter && /^[A-Za-z]$/.test(base)) {
      accented += letter;
      plain += base;
    }
  }
  return { accented, plain };
}

/**
 * The trigger function behind the change notices (PostgreSQL): 0004 wrote it and 0009 added
 * when the change was made ('at'); the two differ by that field alone, so one text serves both.
 */
function conversationNoticeFunction({ withTime }: { withTime: boolean }) {
  return sql.raw(`
          create or replace function botbridge_conversation_notice() returns trigger language plpgsql as $$
          declare holder record; previous record;
          begin
            -- No row (nobody holds it; OLD is null on INSERT) leaves the record's fields null.
            select user_type, bot_id into holder from users where id = new.assignee_user_id;
            select user_type, bot_id into previous from users where id = old.assignee_user_id;
            perform pg_notify('botbridge', json_build_object(
              'k', 'c',
              'i', current_setting('application_name'),
              'c', new.id,
              'a', new.account_id,
              'from', case when tg_op = 'INSERT' then 0 else old.last_seq end,
              'to', new.last_seq,
              'h', new.assignee_user_id,
              'ht', holder.user_type,
              'hb', holder.bot_id,
              's', new.skill_id,
              'st', new.status,
              'ph', case when tg_op = 'INSERT' then null else old.assignee_user_id end,
              'pht', previous.user_type,
              'phb', previous.bot_id,
              'ps', case when tg_op = 'INSERT' then null else old.skill_id end,
              'pst', case when tg_op = 'INSERT' then null else old.status end,
              'op', tg_op = 'INSERT'${
                withTime
                  ? `,
              'at', floor(extract(epoch from clock_timestamp()) * 1000)`
                  : ''
              }
            )::text);
            return null;
          end $$`);
}
