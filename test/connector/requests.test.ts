import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applySettings } from '../../src/connector/bot-config.js';
import {
  closeEventBody,
  consumerEventBody,
  conversationBody,
  FILE_PLACEHOLDER,
  startEventBody,
} from '../../src/connector/requests.js';
import { createContractValidator } from '../../src/contract/index.js';
import type { Conversation, ConversationEvent } from '../../src/platform/types.js';

/**
 * tsc holds the builders to the contract's types; this holds them to the published document,
 * for every body the connector sends, including the ones no end-to-end test reaches (CLOSE_CONVERSATION).
 */
const contract = createContractValidator();

const conversation: Conversation = {
  conversationId: 'conv-1',
  accountId: 'acc-1',
  type: 'MESSAGING',
  status: 'OPEN',
  skill: { id: 7, name: 'bot' },
  assignee: { userId: 'bot-user', userType: 'BOT', botId: 'bot-1' },
  ttr: { ttrType: 'NORMAL' },
  sdes: { authenticatedSdes: { ctmrinfo: { type: 'ctmrinfo', info: { customerId: 'c-1' } } } },
  visitor: { sharkVisitorId: 'V1', sharkSessionId: 'S1' },
  engagementId: 77,
  campaignId: 5,
  createdAt: 1_700_000_000_000,
  lastSequence: 3,
  answeredSequence: 0,
};

let sequence = 0;
function consumer(event: Partial<ConversationEvent> & Pick<ConversationEvent, 'type'>): ConversationEvent {
  sequence += 1;
  return {
    sequence,
    serverTimestamp: 1_700_000_000_000 + sequence,
    originator: { role: 'CONSUMER' },
    audience: 'ALL',
    ...event,
  };
}

describe('request bodies against the contract', () => {
  it('PUT: with engagement attributes, without them, and without an engagement', () => {
    const withSdes = conversationBody(conversation, applySettings({ engagementAttributes: true }));
    assert.deepEqual(Object.keys(withSdes.sdes), ['authenticatedSdes', 'unauthenticatedSdes']);
    const without = conversationBody(conversation, applySettings({}));
    assert.deepEqual(without.sdes, {});
    const bare = conversationBody(
      { ...conversation, engagementId: undefined, campaignId: undefined, assignee: null },
      applySettings({}),
    );
    assert.equal(bare.context.engagementId, 0);
    for (const body of [withSdes, without, bare]) {
      assert.deepEqual(contract.validate('Conversation', body), { ok: true, errors: [], deviations: [] });
    }
  });

  it('POST: a text, texts and a file combined, and rich content', () => {
    const text = consumerEventBody(conversation, [consumer({ type: 'TEXT', text: 'hello' })]);
    const combined = consumerEventBody(conversation, [
      consumer({ type: 'TEXT', text: 'one' }),
      consumer({ type: 'FILE', file: { relativePath: 'a/b.png', fileType: 'PNG' } }),
      consumer({ type: 'TEXT', text: 'two', metadata: [{ type: 'ExternalId', id: 'x' }] }),
    ]);
    assert.deepEqual(combined.data, { message: `one\n${FILE_PLACEHOLDER}\ntwo` });
    const rich = consumerEventBody(conversation, [
      consumer({ type: 'RICH_CONTENT', content: { type: 'vertical', elements: [{ type: 'text', text: 'hi' }] } }),
    ]);
    assert.equal(rich.type, 'RICH_CONTENT');
    for (const body of [text, combined, rich]) {
      assert.deepEqual(contract.validate('ConversationChange', body), { ok: true, errors: [], deviations: [] });
    }
  });

  it('START (with and without the last consumer message) and CLOSE_CONVERSATION: the envelope, as a deviation', () => {
    const bodies = [
      startEventBody(conversation, 3),
      startEventBody(conversation, 3, 'are you there?'),
      closeEventBody({ ...conversation, status: 'CLOSED', closeReason: 'CONSUMER' }, 9),
    ];
    for (const body of bodies) {
      const verdict = contract.validate('ConversationChange', body);
      assert.deepEqual(verdict.errors, [], body.type);
      assert.deepEqual(verdict.deviations, [
        `${body.type} is not a ConversationChange of the contract; checked against the common envelope with the contract's ChangeContext`,
      ]);
    }
  });
});
