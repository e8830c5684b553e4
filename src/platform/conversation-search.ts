import { sql, type RawBuilder } from 'kysely';
import type { Db, Dialect } from '../store/index.js';
import { CONVERSATION_ROW, toConversation, toEvent, type ConversationRow } from './conversation-rows.js';
import type { Conversation, ConversationEvent } from './types.js';

/**
 * The Conversations page's query: an account's conversations newest first, narrowed by bot,
 * skill, status, when they started and words of their messages (indexed by migration 0008),
 * a page at a time. Reads only, from the store: any instance answers it.
 */

export interface ConversationFilter {
  /** Conversations this bot held or spoke in (an escalated one stays the bot's). */
  botId?: string;
  skillId?: number;
  status?: 'OPEN' | 'CLOSED';
  /** Started at or after (epoch ms). */
  from?: number;
  /** Started before (epoch ms). */
  to?: number;
  /** Words of a message, each matched as the start of a word, all of them in one message. */
  words?: string;
  /** The page after this one (a `next` from the page before). */
  cursor?: string;
  limit: number;
}

/** One conversation of a page: the conversation, when it closed, and the messages that show why it is there. */
export type FoundConversation = Conversation & {
  closedAt?: number;
  /** The messages the words matched (up to MATCHES_SHOWN), else its last message. */
  events: ConversationEvent[];
};

export interface ConversationPage {
  conversations: FoundConversation[];
  /** The cursor of the next page, when there is one. */
  next?: string;
}

/** Bounds what one search can ask of the index: a few words, each of a sensible length. */
const MAX_TERMS = 8;
const MAX_TERM_LENGTH = 64;
/** Shorter terms match whole words only: a prefix of one or two letters matches half the index. */
const MIN_PREFIX_LENGTH = 3;
const MATCHES_SHOWN = 3;

/**
 * The words of a search as terms both indexes take: letters and digits, lower case, as their
 * tokenizers split text (FTS5's unicode61, PostgreSQL's `simple` parser) — so no input can
 * reach either query language as syntax.
 */
export function searchTerms(words: string): string[] {
  // Without accents, as both indexes keep words (FTS5's remove_diacritics, the translate of migration 0008).
  const plain = words.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
  const terms = plain.match(/[\p{L}\p{N}]+/gu) ?? [];
  return [...new Set(terms.map((t) => t.slice(0, MAX_TERM_LENGTH)))].slice(0, MAX_TERMS);
}

/** The terms as an FTS5 MATCH expression: all of them, each a quoted token or token prefix. */
export function fts5Query(terms: readonly string[]): string {
  return terms.map((t) => (t.length >= MIN_PREFIX_LENGTH ? `"${t}"*` : `"${t}"`)).join(' ');
}

/** The terms as a PostgreSQL tsquery text (`to_tsquery('simple', …)`): all of them, prefixes as above. */
export function tsQuery(terms: readonly string[]): string {
  return terms.map((t) => (t.length >= MIN_PREFIX_LENGTH ? `${t}:*` : t)).join(' & ');
}

/** A page's last conversation, as the next page starts after it. */
export function encodeCursor(c: { createdAt: number; conversationId: string }): string {
  return Buffer.from(JSON.stringify([c.createdAt, c.conversationId])).toString('base64url');
}

/** The cursor's position, or undefined when it is not one of ours. */
export function decodeCursor(cursor: string): { createdAt: number; conversationId: string } | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === 'string')
      return { createdAt: value[0], conversationId: value[1] };
  } catch {
    // not JSON: not ours
  }
  return undefined;
}

/** The log entries of messages that hold all the terms, as a condition on `e` (conversation_events). */
function matching(dialect: Dialect, terms: readonly string[]): RawBuilder<boolean> {
  return dialect === 'postgres'
    ? sql<boolean>`e.type in ('TEXT', 'RICH_CONTENT') and botbridge_message_words(e.body) @@ to_tsquery('simple', ${tsQuery(terms)})`
    : sql<boolean>`e.rowid in (select rowid from conversation_words where conversation_words match ${fts5Query(terms)})`;
}

const ENTRY_COLUMNS = sql.raw(
  'e.conversation_id, e.seq, e.server_ts, e.type, e.originator_role, e.originator_user_id, e.audience, e.body',
);

type EntryRow = {
  conversation_id: string;
  seq: number;
  server_ts: number;
  type: string;
  originator_role: string;
  originator_user_id: number | null;
  audience: 'ALL' | 'AGENTS_AND_MANAGERS';
  body: string;
};

/** One page of the account's conversations, newest first. `filter.cursor` must have been checked (decodeCursor). */
export async function searchConversations(
  db: Db,
  dialect: Dialect,
  accountId: string,
  filter: ConversationFilter,
): Promise<ConversationPage> {
  const terms = filter.words ? searchTerms(filter.words) : [];
  const after = filter.cursor ? decodeCursor(filter.cursor) : undefined;
  let query = db
    .selectFrom('conversations')
    .innerJoin('skills', 'skills.id', 'conversations.skill_id')
    .leftJoin('users', 'users.id', 'conversations.assignee_user_id')
    .select([...CONVERSATION_ROW, 'conversations.closed_at'])
    .where('conversations.account_id', '=', accountId);
  if (filter.status) query = query.where('conversations.status', '=', filter.status);
  if (filter.skillId !== undefined) query = query.where('conversations.skill_id', '=', filter.skillId);
  if (filter.from !== undefined) query = query.where('conversations.created_at', '>=', filter.from);
  if (filter.to !== undefined) query = query.where('conversations.created_at', '<', filter.to);
  if (filter.botId !== undefined)
    query = query.where(
      sql<boolean>`exists (select 1 from users b where b.account_id = conversations.account_id and b.bot_id = ${filter.botId}
        and (conversations.assignee_user_id = b.id
          or exists (select 1 from conversation_events e where e.conversation_id = conversations.id and e.originator_user_id = b.id)))`,
    );
  if (terms.length)
    query = query.where(
      sql<boolean>`conversations.id in (select e.conversation_id from conversation_events e where ${matching(dialect, terms)})`,
    );
  if (after)
    query = query.where((eb) =>
      eb.or([
        eb('conversations.created_at', '<', after.createdAt),
        eb.and([
          eb('conversations.created_at', '=', after.createdAt),
          eb('conversations.id', '<', after.conversationId),
        ]),
      ]),
    );
  const rows = (await query
    .orderBy('conversations.created_at', 'desc')
    .orderBy('conversations.id', 'desc')
    .limit(filter.limit + 1)
    .execute()) as Array<ConversationRow & { closed_at: number | null }>;
  const page = rows.slice(0, filter.limit);
  const shown = await shownEntries(
    db,
    dialect,
    page.map((r) => r.id),
    terms,
  );
  const conversations = page.map((r) => ({
    ...toConversation(r),
    ...(r.closed_at !== null ? { closedAt: Number(r.closed_at) } : {}),
    events: shown.get(r.id) ?? [],
  }));
  const last = conversations.at(-1);
  return rows.length > filter.limit && last ? { conversations, next: encodeCursor(last) } : { conversations };
}

/** What each conversation of a page shows: the messages its terms matched, or its last message. */
async function shownEntries(
  db: Db,
  dialect: Dialect,
  ids: readonly string[],
  terms: readonly string[],
): Promise<Map<string, ConversationEvent[]>> {
  const shown = new Map<string, ConversationEvent[]>();
  if (!ids.length) return shown;
  const among = sql.join(ids.map((id) => sql`${id}`));
  const { rows } = terms.length
    ? await sql<EntryRow>`select ${ENTRY_COLUMNS} from conversation_events e
        where e.conversation_id in (${among}) and ${matching(dialect, terms)}
        order by e.conversation_id, e.seq`.execute(db)
    : await sql<EntryRow>`select ${ENTRY_COLUMNS} from conversation_events e
        where e.conversation_id in (${among}) and e.seq = (
          select max(x.seq) from conversation_events x
          where x.conversation_id = e.conversation_id and x.type in ('TEXT', 'RICH_CONTENT'))`.execute(db);
  for (const row of rows) {
    const entries = shown.get(row.conversation_id) ?? [];
    if (entries.length < MATCHES_SHOWN) entries.push(toEvent({ ...row, server_ts: Number(row.server_ts) }));
    shown.set(row.conversation_id, entries);
  }
  return shown;
}
