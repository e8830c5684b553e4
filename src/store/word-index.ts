import { sql, type Kysely } from 'kysely';
import type { Transact } from './group-commit.js';
import type { Database } from './schema.js';

/**
 * SQLite's word index (FTS5, migrations 0008 and 0010) is written behind the log, in batches,
 * instead of by a trigger as each message is inserted. FTS5 pays per statement and per
 * transaction that touches it (a segment written each time, merged later): by a trigger it cost
 * ~12 µs per message on the hot path, the largest part of a commit; as one statement over a
 * hundred or more messages it costs ~2–3 µs each, measured alone on better-sqlite3.
 *
 * What is indexed is what lies past a cursor (conversation_words_cursor.last, a rowid of
 * conversation_events), moved in the same transaction as the index rows: a crash keeps both or
 * neither. A search first brings the index up to every committed message (`catchUp`), so a
 * message committed is still a message found; the timer only keeps what a search could have to
 * index small. Log entries are never deleted and their rowids only grow, so past the cursor is
 * exactly what is not indexed.
 */
export interface WordIndex {
  /** Resolves once every message committed before the call is indexed. */
  catchUp(): Promise<void>;
  /** Indexes what is new every `intervalMs` from now on (the server's store; a tool's leaves it to the server). */
  keepUp(intervalMs?: number): void;
  /** Stops keeping up and waits for a batch under way. */
  stop(): Promise<void>;
}

/** A message's words: the string values of its "text" keys at any depth (see migration 0008). */
export function sqliteMessageWords(entry: string) {
  return sql.raw(
    `(select group_concat(value, ' ') from json_tree(${entry}.body) where key = 'text' and type = 'text')`,
  );
}

export function wordIndex(transact: Transact, onError: (error: unknown, what: string) => void): WordIndex {
  const indexPending = (tx: Kysely<Database>) =>
    sql`
      insert into conversation_words (rowid, words)
      select e.rowid, ${sqliteMessageWords('e')} from conversation_events e
      where e.rowid > (select last from conversation_words_cursor) and e.type in ('TEXT', 'RICH_CONTENT')`
      .execute(tx)
      .then(() =>
        // Written only when it moves: an idle store commits nothing.
        sql`
          update conversation_words_cursor set last = (select max(rowid) from conversation_events)
          where (select max(rowid) from conversation_events) > last`.execute(tx),
      );
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const catchUp = () => {
    running = transact(indexPending);
    return running.then(() => undefined);
  };
  return {
    catchUp,
    keepUp(intervalMs = 100) {
      timer ??= setInterval(() => {
        catchUp().catch((error) => onError(error, 'indexing the words of new messages (a search indexes them itself)'));
      }, intervalMs);
      // A store nobody closed must not keep the process alive.
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running.catch(() => undefined);
    },
  };
}
