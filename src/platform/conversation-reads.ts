import { sql, type CompiledQuery } from 'kysely';
import { boundQuery, type Db, type Dialect } from '../store/index.js';
import { CONVERSATION_ROW, toConversation, toEvent, toQueued, type ConversationRow } from './conversation-rows.js';
import type { Conversation, ConversationEvent, QueuedConversation } from './types.js';

/**
 * Reads of conversations and their log: queries over the store and nothing else (no lock, no
 * cache, no bus), so any instance answers them from the store alone.
 */

/** A conversation as read, with its row's version (what a change writes onto). */
export interface Held {
  conversation: Conversation;
  version: number;
}

/**
 * The queue's order: what the conversation's TTR asks of agents first (URGENT, then PRIORITIZED,
 * then CUSTOM by its seconds, then NORMAL), and within that the longest wait. A bot that sets
 * URGENT before a transfer promises the consumer a quicker answer, so the queue must keep that.
 */
const QUEUE_URGENCY = sql`case conversations.ttr_type when 'URGENT' then 0 when 'PRIORITIZED' then 1 when 'CUSTOM' then 2 else 3 end`;

function selectConversation(db: Db) {
  return db
    .selectFrom('conversations')
    .innerJoin('skills', 'skills.id', 'conversations.skill_id')
    .leftJoin('users', 'users.id', 'conversations.assignee_user_id')
    .select(CONVERSATION_ROW);
}

/**
 * Loads one conversation by id. Every change and every exchange loads the conversation, and
 * building this select (two joins, twenty columns) with Kysely cost four times what running it
 * did: it is bound once per lock mode (boundQuery), and run on whichever connection is given.
 */
export class ConversationLoader {
  private readonly byId: (id: string) => CompiledQuery<unknown>;
  private readonly byIdLocked: (id: string) => CompiledQuery<unknown>;

  constructor(
    db: Db,
    private readonly dialect: Dialect,
  ) {
    this.byId = boundQuery(1, (id: string) => selectConversation(db).where('conversations.id', '=', id));
    this.byIdLocked = boundQuery(1, (id: string) =>
      selectConversation(db).where('conversations.id', '=', id).forUpdate('conversations'),
    );
  }

  async load(db: Db, conversationId: string): Promise<Conversation | undefined> {
    return (await this.loadHeld(db, conversationId))?.conversation;
  }

  /** `forUpdate`: on PostgreSQL, the row is locked until the transaction ends (a change's read). */
  async loadHeld(db: Db, conversationId: string, forUpdate = false): Promise<Held | undefined> {
    // A second instance on the same PostgreSQL database waits here instead of racing for sequences.
    const query = forUpdate && this.dialect === 'postgres' ? this.byIdLocked : this.byId;
    const { rows } = await db.executeQuery<ConversationRow>(query(conversationId));
    return rows.length ? { conversation: toConversation(rows[0]), version: rows[0].version } : undefined;
  }
}

/** The log after a sequence; `forConsumer` leaves out private entries (AGENTS_AND_MANAGERS). */
export async function eventsAfter(
  db: Db,
  conversationId: string,
  after: number,
  forConsumer = false,
): Promise<ConversationEvent[]> {
  let query = db
    .selectFrom('conversation_events')
    .selectAll()
    .where('conversation_id', '=', conversationId)
    .where('seq', '>', after)
    .orderBy('seq');
  if (forConsumer) query = query.where('audience', '=', 'ALL');
  return (await query.execute()).map(toEvent);
}

/** The users who spoke in the conversation as bots, in its log up to a sequence: who, not what. */
export async function botSpeakers(db: Db, conversationId: string, upTo: number): Promise<string[]> {
  const rows = await db
    .selectFrom('conversation_events')
    .select('originator_user_id')
    .distinct()
    .where('conversation_id', '=', conversationId)
    .where('seq', '<=', upTo)
    .where('originator_role', '=', 'BOT')
    .where('originator_user_id', 'is not', null)
    .execute();
  return rows.map((r) => String(r.originator_user_id));
}

/** Conversations of the account waiting on any of the skills, in the queue's order. */
export async function queued(db: Db, accountId: string, skillIds: number[]): Promise<QueuedConversation[]> {
  if (!skillIds.length) return [];
  const rows = await db
    .selectFrom('conversations')
    .innerJoin('skills', 'skills.id', 'conversations.skill_id')
    .select([
      'conversations.id',
      'conversations.type',
      'conversations.ttr_type',
      'conversations.ttr_value',
      'conversations.queued_at',
      'conversations.created_at',
      'conversations.test_until',
      'skills.id as skill_id',
      'skills.name as skill_name',
    ])
    .where('conversations.account_id', '=', accountId)
    .where('conversations.status', '=', 'OPEN')
    .where('conversations.assignee_user_id', 'is', null)
    .where('conversations.skill_id', 'in', skillIds)
    .orderBy(QUEUE_URGENCY)
    .orderBy(sql`case when conversations.ttr_type = 'CUSTOM' then conversations.ttr_value end`)
    .orderBy('conversations.queued_at')
    .execute();
  const now = Date.now();
  return rows.map((r) => toQueued(r, now));
}

/** Open conversations a user holds, oldest first. */
export async function heldBy(db: Db, accountId: string, userId: string): Promise<Conversation[]> {
  const rows = await selectConversation(db)
    .where('conversations.account_id', '=', accountId)
    .where('conversations.assignee_user_id', '=', Number(userId))
    .where('conversations.status', '=', 'OPEN')
    .orderBy('conversations.created_at')
    .execute();
  return rows.map(toConversation);
}

/**
 * Open conversations these users hold that await something of their holder: an entry it has
 * not answered yet, or the rest of an answer. After a crash, this is what a bot still owes.
 */
export async function awaitingAnswer(db: Db, userIds: readonly string[]): Promise<Conversation[]> {
  if (!userIds.length) return [];
  const rows = await selectConversation(db)
    .where('conversations.assignee_user_id', 'in', userIds.map(Number))
    .where('conversations.status', '=', 'OPEN')
    .where((eb) =>
      eb.or([
        eb('conversations.inbound_seq', '>', eb.ref('conversations.answered_seq')),
        eb('conversations.pending_answer', 'is not', null),
      ]),
    )
    .orderBy('conversations.created_at')
    .execute();
  return rows.map(toConversation);
}

/** How many open conversations the user holds. */
export async function countHeldBy(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('conversations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('assignee_user_id', '=', Number(userId))
    .where('status', '=', 'OPEN')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** How many open conversations each of these users holds (a user holding none is left out). */
export async function countHeldByEach(db: Db, userIds: readonly string[]): Promise<Map<string, number>> {
  if (!userIds.length) return new Map();
  const rows = await db
    .selectFrom('conversations')
    .select(['assignee_user_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('assignee_user_id', 'in', userIds.map(Number))
    .where('status', '=', 'OPEN')
    .groupBy('assignee_user_id')
    .execute();
  return new Map(rows.map((r) => [String(r.assignee_user_id), Number(r.n)]));
}

export async function countOpen(db: Db): Promise<number> {
  const row = await db
    .selectFrom('conversations')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'OPEN')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Open test conversations their testers stopped keeping before `now`. */
export async function lapsedTests(db: Db, now: number): Promise<Array<{ accountId: string; conversationId: string }>> {
  const rows = await db
    .selectFrom('conversations')
    .select(['account_id', 'id'])
    .where('status', '=', 'OPEN')
    .where('test_until', '<', now)
    .execute();
  return rows.map((r) => ({ accountId: r.account_id, conversationId: r.id }));
}

/** Reads both tables a change writes: throws while the store cannot serve conversations. */
export async function healthCheck(db: Db): Promise<void> {
  await db.selectFrom('conversations').select('id').limit(1).execute();
  await db.selectFrom('conversation_events').select('seq').limit(1).execute();
}
