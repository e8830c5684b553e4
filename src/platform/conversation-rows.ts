import type { Database } from '../store/schema.js';
import { json } from '../store/index.js';
import type { Assignee, Conversation, ConversationEvent, Originator, Sdes, Ttr, Visitor } from './types.js';

/**
 * How conversations and their log entries are kept in the store's rows, both ways. Pure
 * functions over data: the queries live in Conversations.
 */

/** The columns a conversation is read with: its row, its skill's name and its holder's kind. */
export const CONVERSATION_ROW = [
  'conversations.id',
  'conversations.account_id',
  'conversations.type',
  'conversations.status',
  'conversations.skill_id',
  'conversations.assignee_user_id',
  'conversations.ttr_type',
  'conversations.ttr_value',
  'conversations.sdes',
  'conversations.visitor',
  'conversations.engagement_id',
  'conversations.campaign_id',
  'conversations.close_reason',
  'conversations.closed_without_pcs',
  'conversations.last_seq',
  'conversations.created_at',
  'conversations.queued_at',
  'conversations.answered_seq',
  'conversations.pending_answer',
  'conversations.holder_load',
  'conversations.version',
  'conversations.test_until',
  'skills.name as skill_name',
  'users.user_type as assignee_type',
  'users.bot_id as assignee_bot_id',
] as const;

/** A conversation as CONVERSATION_ROW reads it: its own columns but the bookkeeping ones, with its skill's name and its holder's kind. */
export type ConversationRow = Omit<Database['conversations'], 'updated_at' | 'closed_at' | 'inbound_seq'> & {
  skill_name: string;
  assignee_type: 'HUMAN' | 'BOT' | null;
  assignee_bot_id: string | null;
};

type EventRow = Database['conversation_events'];

/** The row of a conversation just opened: nobody holds it yet, its log is empty. */
export function newConversationRow(c: Conversation, testUntil?: number): Database['conversations'] {
  return {
    id: c.conversationId,
    account_id: c.accountId,
    type: c.type,
    status: c.status,
    skill_id: c.skill.id,
    assignee_user_id: null,
    ttr_type: c.ttr.ttrType,
    ttr_value: c.ttr.value ?? null,
    sdes: JSON.stringify(c.sdes),
    visitor: JSON.stringify(c.visitor),
    engagement_id: c.engagementId ?? null,
    campaign_id: c.campaignId ?? null,
    close_reason: null,
    closed_without_pcs: 0,
    last_seq: c.lastSequence,
    created_at: c.createdAt,
    updated_at: c.createdAt,
    queued_at: c.queuedAt ?? null,
    closed_at: null,
    answered_seq: c.answeredSequence,
    inbound_seq: 0,
    pending_answer: null,
    holder_load: null,
    version: 0,
    test_until: testUntil ?? null,
  };
}

export function toConversation(r: ConversationRow): Conversation {
  const assignee: Assignee | null =
    r.assignee_user_id === null
      ? null
      : {
          userId: String(r.assignee_user_id),
          userType: r.assignee_type ?? 'HUMAN',
          ...(r.assignee_bot_id ? { botId: r.assignee_bot_id } : {}),
        };
  return {
    conversationId: r.id,
    accountId: r.account_id,
    type: r.type,
    status: r.status,
    skill: { id: r.skill_id, name: r.skill_name },
    assignee,
    ttr: toTtr(r.ttr_type, r.ttr_value),
    sdes: json<Sdes>(r.sdes, {}),
    visitor: json<Visitor>(r.visitor, {}),
    ...(r.engagement_id !== null ? { engagementId: Number(r.engagement_id) } : {}),
    ...(r.campaign_id !== null ? { campaignId: Number(r.campaign_id) } : {}),
    ...(r.close_reason ? { closeReason: r.close_reason, closedWithoutPcs: r.closed_without_pcs === 1 } : {}),
    createdAt: r.created_at,
    ...(r.queued_at !== null ? { queuedAt: r.queued_at } : {}),
    lastSequence: r.last_seq,
    answeredSequence: r.answered_seq,
    ...(r.pending_answer !== null ? { pendingAnswer: JSON.parse(r.pending_answer) as unknown } : {}),
    ...(r.holder_load !== null ? { holderLoad: r.holder_load } : {}),
    ...(r.test_until !== null ? { test: true } : {}),
  };
}

/** A waiting conversation as the queue lists it (a QueuedConversation), `now` telling how long it has waited. */
export function toQueued(
  r: Pick<
    ConversationRow,
    'id' | 'type' | 'ttr_type' | 'ttr_value' | 'queued_at' | 'created_at' | 'skill_id' | 'skill_name' | 'test_until'
  >,
  now: number,
) {
  return {
    conversationId: r.id,
    skill: { id: r.skill_id, name: r.skill_name },
    type: r.type,
    ttr: toTtr(r.ttr_type, r.ttr_value),
    queuedAt: r.queued_at ?? r.created_at,
    waitingSeconds: Math.floor((now - (r.queued_at ?? r.created_at)) / 1000),
    createdAt: r.created_at,
    ...(r.test_until !== null ? { test: true } : {}),
  };
}

function toTtr(type: string, value: number | null): Ttr {
  return type === 'CUSTOM' ? { ttrType: 'CUSTOM', value: value ?? undefined } : { ttrType: type as Ttr['ttrType'] };
}

/** The log entry columns that are not text, with their SQL types (a one-statement change casts to them). */
export const EVENT_COLUMN_TYPES: Readonly<Record<string, string>> = {
  seq: 'integer',
  server_ts: 'bigint',
  originator_user_id: 'integer',
};

/** A log entry's row: what every entry has in columns, the rest of it as JSON. */
export function toEventRow(conversationId: string, e: ConversationEvent): EventRow {
  const { sequence, serverTimestamp, originator, type, audience, ...body } = e;
  return {
    conversation_id: conversationId,
    seq: sequence,
    server_ts: serverTimestamp,
    type,
    originator_role: originator.role,
    originator_user_id: originator.userId ? Number(originator.userId) : null,
    audience,
    body: JSON.stringify(body),
  };
}

export function toEvent(r: Omit<EventRow, 'conversation_id'>): ConversationEvent {
  return {
    sequence: r.seq,
    serverTimestamp: r.server_ts,
    originator: {
      role: r.originator_role as Originator['role'],
      ...(r.originator_user_id !== null ? { userId: String(r.originator_user_id) } : {}),
    },
    type: r.type as ConversationEvent['type'],
    audience: r.audience,
    ...json<Record<string, unknown>>(r.body, {}),
  };
}
