import type { PlatformEvent } from './bus.js';
import type { Assignee, Conversation, ConversationEvent, NewEvent } from './types.js';

/**
 * What one change to a conversation amounts to once it commits: its log entries numbered, the
 * holder's answer marks, which columns of the row differ, and what the bus announces of it.
 * Pure functions over data: Conversations runs them under its lock and in its transaction.
 */

/** What a change to one conversation produces: its next state and the log entries to append. */
export interface Change {
  next: Conversation;
  events: NewEvent[];
}

/** What the holder has answered, committed with the change that carries the answer. */
export interface Answered {
  /** The last log entry the answer covers. */
  sequence: number;
  /** The rest of the answer still to be carried out, or null when it is complete. */
  pending: unknown;
}

const CONSUMER_MESSAGE_TYPES: ReadonlySet<string> = new Set(['TEXT', 'RICH_CONTENT', 'FILE']);

/** A consumer's message: what a bot holding the conversation owes an answer to. */
export function isConsumerMessage(event: Pick<ConversationEvent, 'type' | 'originator'>): boolean {
  return event.originator.role === 'CONSUMER' && CONSUMER_MESSAGE_TYPES.has(event.type);
}

/**
 * A change as it commits on top of `before` at `now`: its entries numbered after the last one
 * and stamped; the state they lead to, with what the holder has answered; and `inbound`, the
 * last entry the holder now owes an answer to, when the change moves it.
 */
export function committed(
  before: Conversation,
  change: Change,
  answered: Answered | undefined,
  now: number,
): { next: Conversation; written: ConversationEvent[]; inbound: number | undefined } {
  const written: ConversationEvent[] = change.events.map((e, i) => ({
    ...e,
    audience: e.audience ?? 'ALL',
    sequence: before.lastSequence + i + 1,
    serverTimestamp: now,
  }));
  let next: Conversation = { ...change.next, lastSequence: before.lastSequence + written.length };
  if (answered) next = withAnswer(next, answered.sequence, answered.pending);
  let inbound: number | undefined;
  if (holderChanged(before, next)) {
    // A new holder owes answers from its own ASSIGN entry on (a bot greets it, if set to);
    // the previous holder's unfinished answer goes with it.
    const assign = written.findLast((e) => e.type === 'ASSIGN');
    inbound = assign ? assign.sequence : next.lastSequence;
    next = withAnswer(next, assign ? assign.sequence - 1 : next.lastSequence, null);
  } else {
    inbound = written.findLast(isConsumerMessage)?.sequence;
  }
  return { next, written, inbound };
}

function holderChanged(before: Conversation, next: Conversation): boolean {
  return before.assignee?.userId !== next.assignee?.userId;
}

function withAnswer(conversation: Conversation, sequence: number, pending: unknown): Conversation {
  const { pendingAnswer: _dropped, ...rest } = conversation;
  return pending === null || pending === undefined
    ? { ...rest, answeredSequence: sequence }
    : { ...rest, answeredSequence: sequence, pendingAnswer: pending };
}

/**
 * The row update a change needs: what differs from the state loaded, plus the sequence and
 * timestamp. A message changes nothing else, and leaving the indexed columns out of the SET
 * spares SQLite rewriting two index entries per message.
 */
export function changedColumns(before: Conversation, next: Conversation, now: number, inbound: number | undefined) {
  const assignee = (c: Conversation) => (c.assignee ? Number(c.assignee.userId) : null);
  return {
    ...(next.status !== before.status ? { status: next.status } : {}),
    ...(next.skill.id !== before.skill.id ? { skill_id: next.skill.id } : {}),
    ...(assignee(next) !== assignee(before)
      ? { assignee_user_id: assignee(next), holder_load: next.assignee ? (next.holderLoad ?? null) : null }
      : {}),
    ...(next.ttr.ttrType !== before.ttr.ttrType || next.ttr.value !== before.ttr.value
      ? { ttr_type: next.ttr.ttrType, ttr_value: next.ttr.value ?? null }
      : {}),
    // Changes build new objects for what they change (the draft is a spread of the loaded state).
    ...(next.sdes !== before.sdes ? { sdes: JSON.stringify(next.sdes) } : {}),
    ...(next.visitor !== before.visitor ? { visitor: JSON.stringify(next.visitor) } : {}),
    ...(next.closeReason !== before.closeReason || next.closedWithoutPcs !== before.closedWithoutPcs
      ? { close_reason: next.closeReason ?? null, closed_without_pcs: next.closedWithoutPcs ? 1 : 0 }
      : {}),
    ...(next.queuedAt !== before.queuedAt ? { queued_at: next.queuedAt ?? null } : {}),
    ...(next.status === 'CLOSED' && before.status !== 'CLOSED' ? { closed_at: now } : {}),
    ...(next.answeredSequence !== before.answeredSequence ? { answered_seq: next.answeredSequence } : {}),
    ...(next.pendingAnswer !== before.pendingAnswer
      ? { pending_answer: next.pendingAnswer === undefined ? null : JSON.stringify(next.pendingAnswer) }
      : {}),
    ...(inbound !== undefined ? { inbound_seq: inbound } : {}),
    last_seq: next.lastSequence,
    updated_at: now,
  };
}

/**
 * How a change moves its holders' loads (open conversations held): the previous holder of an
 * open conversation gives one back, the next holder of one still open takes one. Empty for a
 * change that neither moves nor closes the conversation.
 */
export function loadChanges(before: Conversation, next: Conversation): Array<{ userId: number; by: 1 | -1 }> {
  const held = (c: Conversation) => (c.status === 'OPEN' && c.assignee ? Number(c.assignee.userId) : null);
  const was = held(before);
  const now = held(next);
  if (was === now) return [];
  return [
    ...(was !== null ? [{ userId: was, by: -1 as const }] : []),
    ...(now !== null ? [{ userId: now, by: 1 as const }] : []),
  ];
}

/**
 * Where a conversation stands for those who follow it beyond its log: who holds it, on which
 * skill, open or closed. A change, another instance's notice and a catch-up all tell it apart
 * from what was announced before the same way.
 */
export interface Standing {
  holder: Assignee | null;
  skillId: number;
  status: 'OPEN' | 'CLOSED';
}

export function standingOf(conversation: Conversation): Standing {
  return { holder: conversation.assignee, skillId: conversation.skill.id, status: conversation.status };
}

/**
 * What a bus last announced of an open conversation: kept for every conversation it follows,
 * so only what telling the next change apart needs.
 */
export interface Announced {
  sequence: number;
  holderUserId: string | null;
  holderType: 'HUMAN' | 'BOT';
  skillId: number;
}

export function announcedOf(conversation: Conversation): Announced {
  return {
    sequence: conversation.lastSequence,
    holderUserId: conversation.assignee?.userId ?? null,
    holderType: conversation.assignee?.userType ?? 'HUMAN',
    skillId: conversation.skill.id,
  };
}

/** The standing announced: open, since a closed conversation is forgotten once announced. */
export function announcedStanding(known: Announced): Standing {
  return {
    holder: known.holderUserId === null ? null : { userId: known.holderUserId, userType: known.holderType },
    skillId: known.skillId,
    status: 'OPEN',
  };
}

/** Whether the holder or the skill changed (`moved`), and whether an open conversation closed. */
export function standingChanges(before: Standing, next: Standing): { moved: boolean; closed: boolean } {
  return {
    moved: before.holder?.userId !== next.holder?.userId || before.skillId !== next.skillId,
    closed: before.status === 'OPEN' && next.status === 'CLOSED',
  };
}

/** What announces a standing change, after the change's log entries: `conversation` as it now is. */
export function standingAnnouncements(
  before: Standing,
  { moved, closed }: { moved: boolean; closed: boolean },
  conversation: Conversation,
): PlatformEvent[] {
  const announcements: PlatformEvent[] = [];
  if (moved)
    announcements.push({
      type: 'conversation.assigned',
      conversation,
      previousAssignee: before.holder,
      previousSkillId: before.skillId,
    });
  if (closed) announcements.push({ type: 'conversation.closed', conversation });
  return announcements;
}

/** Everything a committed change announces, in order: its log entries, then how it moved or closed. */
export function changeAnnouncements(
  before: Conversation,
  next: Conversation,
  written: readonly ConversationEvent[],
): PlatformEvent[] {
  const was = standingOf(before);
  return [
    ...written.map((event): PlatformEvent => ({ type: 'conversation.event', conversation: next, event })),
    ...standingAnnouncements(was, standingChanges(was, standingOf(next)), next),
  ];
}
