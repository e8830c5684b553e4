import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  announcedOf,
  announcedStanding,
  changeAnnouncements,
  changedColumns,
  committed,
  standingChanges,
  standingOf,
} from '../../src/platform/conversation-changes.js';
import { newConversationRow, toConversation, toEvent, toEventRow } from '../../src/platform/conversation-rows.js';
import type { Conversation, ConversationEvent } from '../../src/platform/types.js';

const bot = { userId: '7', userType: 'BOT' as const, botId: 'b1' };
const agent = { userId: '9', userType: 'HUMAN' as const };

const open: Conversation = {
  conversationId: 'c1',
  accountId: 'acme',
  type: 'MESSAGING',
  status: 'OPEN',
  skill: { id: 1, name: 'sales' },
  assignee: bot,
  ttr: { ttrType: 'NORMAL' },
  sdes: {},
  visitor: {},
  createdAt: 1000,
  lastSequence: 4,
  answeredSequence: 3,
  holderLoad: 2,
};

describe('conversation changes, as pure functions', () => {
  it('a consumer message: numbered and stamped after the log, owed an answer, only the sequence columns written', () => {
    const { next, written, inbound } = committed(
      open,
      { next: open, events: [{ type: 'TEXT', originator: { role: 'CONSUMER' }, text: 'hi' }] },
      undefined,
      5000,
    );
    assert.deepEqual(written, [
      {
        type: 'TEXT',
        originator: { role: 'CONSUMER' },
        text: 'hi',
        audience: 'ALL',
        sequence: 5,
        serverTimestamp: 5000,
      },
    ]);
    assert.equal(next.lastSequence, 5);
    assert.equal(inbound, 5);
    assert.deepEqual(changedColumns(open, next, 5000, inbound), { inbound_seq: 5, last_seq: 5, updated_at: 5000 });
    assert.deepEqual(changeAnnouncements(open, next, written), [
      { type: 'conversation.event', conversation: next, event: written[0] },
    ]);
  });

  it("a bot's answer commits what it answered; the rest of it is kept until done", () => {
    const answer = { next: open, events: [{ type: 'TEXT' as const, originator: { role: 'BOT' as const }, text: 'a' }] };
    const partial = committed(open, answer, { sequence: 4, pending: { items: [] } }, 6000);
    assert.equal(partial.next.answeredSequence, 4);
    assert.deepEqual(partial.next.pendingAnswer, { items: [] });
    assert.equal(partial.inbound, undefined);
    const columns = changedColumns(open, partial.next, 6000, partial.inbound);
    assert.equal(columns.answered_seq, 4);
    assert.equal(columns.pending_answer, '{"items":[]}');
    const done = committed(partial.next, { next: partial.next, events: [] }, { sequence: 4, pending: null }, 7000);
    assert.equal('pendingAnswer' in done.next, false);
    assert.equal(changedColumns(partial.next, done.next, 7000, done.inbound).pending_answer, null);
  });

  it('a transfer to an agent: the new holder owes answers from its ASSIGN on, and listeners hear it moved', () => {
    const moved: Conversation = { ...open, assignee: agent, holderLoad: 0, pendingAnswer: { items: [] } };
    const { next, written, inbound } = committed(
      open,
      {
        next: moved,
        events: [
          { type: 'TRANSFER', originator: { role: 'BOT' }, skill: open.skill, audience: 'AGENTS_AND_MANAGERS' },
          { type: 'ASSIGN', originator: { role: 'SYSTEM' }, assignee: agent, audience: 'AGENTS_AND_MANAGERS' },
        ],
      },
      undefined,
      8000,
    );
    assert.equal(inbound, 6);
    assert.equal(next.answeredSequence, 5);
    assert.equal('pendingAnswer' in next, false);
    const columns = changedColumns(open, next, 8000, inbound);
    assert.equal(columns.assignee_user_id, 9);
    assert.equal(columns.holder_load, 0);
    const announced = changeAnnouncements(open, next, written);
    assert.deepEqual(
      announced.map((a) => a.type),
      ['conversation.event', 'conversation.event', 'conversation.assigned'],
    );
    assert.deepEqual(announced[2], {
      type: 'conversation.assigned',
      conversation: next,
      previousAssignee: bot,
      previousSkillId: 1,
    });
  });

  it('a close is announced after its entry, and closes the row', () => {
    const closed: Conversation = { ...open, status: 'CLOSED', closeReason: 'BOT', closedWithoutPcs: false };
    const { next, written } = committed(
      open,
      { next: closed, events: [{ type: 'CLOSE', originator: { role: 'BOT' }, closeReason: 'BOT' }] },
      undefined,
      9000,
    );
    const columns = changedColumns(open, next, 9000, undefined);
    assert.equal(columns.status, 'CLOSED');
    assert.equal(columns.closed_at, 9000);
    assert.deepEqual(
      changeAnnouncements(open, next, written).map((a) => a.type),
      ['conversation.event', 'conversation.closed'],
    );
  });

  it('what a bus remembers of a conversation reads back as the same standing', () => {
    const known = announcedOf(open);
    assert.deepEqual(standingChanges(announcedStanding(known), standingOf(open)), { moved: false, closed: false });
    assert.deepEqual(standingChanges(announcedStanding(known), standingOf({ ...open, skill: { id: 2, name: 'x' } })), {
      moved: true,
      closed: false,
    });
  });
});

describe('conversation rows', () => {
  it('a new conversation reads back from its row as it was written', () => {
    const fresh: Conversation = { ...open, assignee: null, lastSequence: 0, answeredSequence: 0, queuedAt: 1000 };
    delete fresh.holderLoad;
    const row = newConversationRow(fresh);
    assert.deepEqual(
      toConversation({ ...row, skill_name: 'sales', assignee_type: null, assignee_bot_id: null }),
      fresh,
    );
  });

  it('a log entry reads back from its row as it was written', () => {
    const event: ConversationEvent = {
      sequence: 3,
      serverTimestamp: 42,
      originator: { role: 'AGENT', userId: '9' },
      type: 'TEXT',
      audience: 'AGENTS_AND_MANAGERS',
      text: 'private',
      metadata: [{ type: 'x' }],
    };
    assert.deepEqual(toEvent(toEventRow('c1', event)), event);
  });
});
