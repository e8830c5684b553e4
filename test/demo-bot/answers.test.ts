import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import {
  createContractValidator,
  type ConversationEventBody,
  type PostEventResponseBody,
} from '../../src/contract/index.js';
import {
  answer,
  classify,
  DEMO_UTTERANCES,
  FILE_PLACEHOLDER,
  laterReply,
  type DemoConversationState,
} from '../../src/demo-bot/index.js';
import { bodySchemas, checkMessages } from '../../src/contract/public-api.js';
import { Ajv } from 'ajv';
import { pollockSchemas } from './pollock.js';

const contract = createContractValidator();
const pollock = pollockSchemas();
const options = { transferSkill: 'human', imageUrl: 'https://example.com/demo.png' };
const messaging: DemoConversationState = { conversationId: 'conv-1', conversationType: 'MESSAGING', turns: 0 };
const LAMBDA = '0b9e8f3a-5b7c-4d2e-9f1a-2c3d4e5f6a7b';

const text = (message: string): ConversationEventBody => ({
  type: 'TEXT',
  source: 'CONSUMER',
  data: { message },
  context: { lpEvent: {} },
});

/** The answer to a consumer text, checked against the contract (deviations only where expected). */
function say(message: string, state = messaging): PostEventResponseBody {
  const event = text(message);
  assert.equal(contract.validate('ConversationChange', event).ok, true);
  const result = answer(event, state, options);
  const verdict = contract.validate('PostEventResponse', result);
  assert.equal(verdict.ok, true, `${message}: ${verdict.errors.join('; ')}`);
  return result;
}

const types = (r: PostEventResponseBody) =>
  r.response.map((item) => (item.type === 'ACTION' ? `ACTION:${item.data.name}` : item.type));
const texts = (r: PostEventResponseBody) =>
  r.response.flatMap((item) => (item.type === 'TEXT' ? [item.data.message] : []));
const intentIds = (r: PostEventResponseBody) => r.analytics.intents.map((i) => i.id);

function assertPollock(content: unknown): void {
  const valid = pollock.richContent(content);
  assert.ok(valid, JSON.stringify(pollock.richContent.errors, null, 1));
}

it('the json-pollock schemas do reject a broken card (the checks below mean something)', () => {
  assert.equal(pollock.richContent({ type: 'vertical', elements: [{ type: 'button' }] }), false);
  assert.equal(pollock.richContent({ type: 'carousel', elements: [{ type: 'vertical', elements: [] }] }), false);
  assert.equal(pollock.button({ type: 'button', title: 'x', click: { actions: [{ type: 'publishText' }] } }), false);
});

describe('demo bot answers (pure)', () => {
  it('hi / hello / help: a greeting and the list of things to try, in any case', () => {
    for (const message of ['hi', 'Hello!', 'HELP', 'hey, can you help me?']) {
      const r = say(message);
      assert.deepEqual(types(r), ['TEXT', 'TEXT'], message);
      assert.match(texts(r)[0], /^Hi there! I’m the botbridge demo bot/);
      for (const u of DEMO_UTTERANCES) assert.ok(texts(r)[1].includes(`• ${u.say} — ${u.does}`), u.say);
      assert.deepEqual(intentIds(r), ['greeting']);
    }
    // Whole words only: "this" and "which" do not greet.
    assert.deepEqual(classify('this is which'), { kind: 'echo', message: 'this is which' });
  });

  it('the help list marks messaging-only features in a CHAT conversation', () => {
    const chat = texts(say('help', { ...messaging, conversationType: 'CHAT' }))[1];
    assert.ok(chat.includes('• quick replies — one-tap answers (messaging only, not in this chat)'));
    assert.ok(!texts(say('help'))[1].includes('not in this chat'));
  });

  it('private: a private text for agents and a public one', () => {
    const r = say('show me something private');
    assert.deepEqual(types(r), ['TEXT', 'TEXT']);
    const [hidden, visible] = r.response;
    assert.equal(hidden.type === 'TEXT' && hidden.data.messageAudience, 'AGENTS_AND_MANAGERS');
    assert.equal(visible.type === 'TEXT' && visible.data.messageAudience, undefined);
    assert.deepEqual(intentIds(r), ['private-text']);
  });

  it('metadata: ExternalId metadata and base64 encoded metadata', () => {
    const r = answer(text('metadata please'), messaging, options);
    const verdict = contract.validate('PostEventResponse', r);
    // A list is the canonical form (contracts/ERRATA.md): no deviation.
    assert.deepEqual(verdict, { ok: true, errors: [], deviations: [] });
    const [item] = r.response;
    assert.equal(item.type, 'TEXT');
    if (item.type !== 'TEXT') return;
    assert.deepEqual(item.data.metadata, [{ type: 'ExternalId', id: 'demo-bot-conv-1' }]);
    const decoded = JSON.parse(Buffer.from(item.data.encodedMetadata!, 'base64').toString('utf8'));
    assert.deepEqual(decoded, { origin: 'botbridge-demo-bot', intent: 'metadata', conversationId: 'conv-1' });
    assert.ok(item.data.encodedMetadata!.length <= 5000);
  });

  it('card / structured: a vertical card with image, text and buttons, valid for json-pollock', () => {
    for (const message of ['card', 'Structured content', 'show me cards']) {
      const r = say(message);
      assert.deepEqual(types(r), ['STRUCTURED_CONTENT'], message);
      const item = r.response[0];
      if (item.type !== 'STRUCTURED_CONTENT') return;
      const card = item.data.structuredContent as { type: string; elements: { type: string; url?: string }[] };
      assertPollock(card);
      assert.equal(card.type, 'vertical');
      assert.deepEqual(
        card.elements.map((e) => e.type),
        ['image', 'text', 'text', 'button', 'button'],
      );
      assert.equal(card.elements[0].url, options.imageUrl);
      assert.deepEqual(intentIds(r), ['structured-content-card']);
    }
  });

  it('carousel: cards in a carousel, valid for json-pollock; every button says something the bot understands', () => {
    const r = say('carousel');
    const item = r.response[0];
    assert.equal(item.type, 'STRUCTURED_CONTENT');
    if (item.type !== 'STRUCTURED_CONTENT') return;
    const carousel = item.data.structuredContent as {
      type: string;
      elements: { elements: { type: string; click?: { actions: { text: string }[] } }[] }[];
    };
    assertPollock(carousel);
    assert.equal(carousel.type, 'carousel');
    assert.equal(carousel.elements.length, 3);
    const published = carousel.elements.flatMap((card) =>
      card.elements.flatMap((e) => e.click?.actions.map((a) => a.text) ?? []),
    );
    assert.deepEqual(published, ['card', 'quick replies', 'transfer']);
    for (const utterance of published) assert.notEqual(classify(utterance).kind, 'echo', utterance);
  });

  it('quick replies: LivePerson’s {quickReplies, message} with publishText buttons', () => {
    const r = answer(text('Quick replies'), messaging, options);
    assert.equal(contract.validate('PostEventResponse', r).ok, true);
    const item = r.response[0];
    assert.equal(item.type, 'STRUCTURED_CONTENT');
    if (item.type !== 'STRUCTURED_CONTENT') return;
    const sc = item.data.structuredContent as {
      quickReplies: {
        type: string;
        itemsPerRow: number;
        replies: { click: { actions: { type: string; text: string }[] } }[];
      };
      message: string;
    };
    assert.equal(sc.quickReplies.type, 'quickReplies');
    assert.equal(sc.message, 'What would you like to see next?');
    assert.ok(sc.quickReplies.itemsPerRow >= 1 && sc.quickReplies.itemsPerRow <= 8);
    assert.equal(sc.quickReplies.replies.length, 4);
    for (const reply of sc.quickReplies.replies) {
      assert.ok(pollock.button(reply), JSON.stringify(pollock.button.errors));
      assert.equal(reply.click.actions[0].type, 'publishText');
      assert.notEqual(classify(reply.click.actions[0].text).kind, 'echo');
    }
    assert.equal(classify('quick reply').kind, 'quick-replies');
  });

  it('delay: text, a 2-second typing delay, text', () => {
    const r = say('delay');
    assert.deepEqual(types(r), ['TEXT', 'DELAY', 'TEXT']);
    assert.deepEqual(r.response[1], { type: 'DELAY', data: { seconds: 2, typing: true } });
  });

  it('transfer: text then TRANSFER to the configured skill; transfer agent <id> adds the agent', () => {
    const r = say('I want a transfer please');
    assert.deepEqual(types(r), ['TEXT', 'ACTION:TRANSFER']);
    assert.deepEqual(r.response[1], { type: 'ACTION', data: { name: 'TRANSFER', parameters: { skillName: 'human' } } });
    assert.deepEqual(contract.validate('TransferAction', r.response[1].data), { ok: true, errors: [], deviations: [] });

    const toAgent = answer(text('Transfer agent Agent-42.'), messaging, { ...options, transferSkill: 'Sales' });
    assert.deepEqual(toAgent.response[1], {
      type: 'ACTION',
      data: { name: 'TRANSFER', parameters: { skillName: 'Sales', agentId: 'Agent-42' } },
    });
    assert.match(texts(toAgent)[0], /agent Agent-42 .*Sales team/);
    assert.deepEqual(intentIds(toAgent), ['transfer-to-agent']);
    assert.equal(contract.validate('PostEventResponse', toAgent).ok, true);
    assert.deepEqual(classify('transfer to agent 7'), { kind: 'transfer', agentId: '7' });
  });

  it('close: text then CLOSE_CONVERSATION; close without survey sets withoutPcs', () => {
    const r = say('close');
    assert.deepEqual(types(r), ['TEXT', 'ACTION:CLOSE_CONVERSATION']);
    assert.deepEqual(r.response[1].data, { name: 'CLOSE_CONVERSATION', parameters: { withoutPcs: false } });
    const quiet = say('Close without survey');
    assert.deepEqual(quiet.response[1].data, { name: 'CLOSE_CONVERSATION', parameters: { withoutPcs: true } });
    assert.deepEqual(intentIds(quiet), ['close-without-survey']);
    // Actions win over content: a greeting that asks to close, closes.
    assert.deepEqual(classify('hi, please close this'), { kind: 'close', withoutSurvey: false });
  });

  it('urgent and ttr: CHANGE_TTR after a text', () => {
    const urgent = say('This is urgent!');
    assert.deepEqual(types(urgent), ['TEXT', 'ACTION:CHANGE_TTR']);
    assert.deepEqual(urgent.response[1].data, { name: 'CHANGE_TTR', parameters: { ttrType: 'URGENT' } });
    const custom = say('ttr 600');
    assert.deepEqual(custom.response[1].data, { name: 'CHANGE_TTR', parameters: { ttrType: 'CUSTOM', value: 600 } });
    assert.match(texts(custom)[0], /600 seconds/);
    assert.deepEqual(say('TTR prioritized').response[1].data, {
      name: 'CHANGE_TTR',
      parameters: { ttrType: 'PRIORITIZED' },
    });
    assert.deepEqual(say('ttr normal').response[1].data, { name: 'CHANGE_TTR', parameters: { ttrType: 'NORMAL' } });
    // Without a usable value the bot explains instead of acting.
    for (const message of ['ttr', 'ttr 0', 'ttr soon']) {
      const usage = say(message);
      assert.deepEqual(types(usage), ['TEXT'], message);
      assert.match(texts(usage)[0], /ttr <seconds>/);
    }
  });

  it('function <lambdaUuid>: INVOKE_FUNCTION with a payload, failOnError false', () => {
    const r = say(`function ${LAMBDA}`);
    assert.deepEqual(types(r), ['TEXT', 'ACTION:INVOKE_FUNCTION']);
    const action = r.response[1];
    assert.equal(action.type, 'ACTION');
    assert.deepEqual(action.data, {
      name: 'INVOKE_FUNCTION',
      parameters: {
        lambdaUuid: LAMBDA,
        payload: {
          origin: 'botbridge-demo-bot',
          conversationId: 'conv-1',
          reason: 'The consumer asked the demo bot to invoke this function.',
        },
        failOnError: false,
      },
    });
    assert.equal(contract.validate('InvokeFunctionAction', action.data).ok, true);
    const usage = say('function please');
    assert.deepEqual(types(usage), ['TEXT']);
    assert.match(texts(usage)[0], /function <lambdaUuid>/);
  });

  it('later <question>: a holding text when it can answer later, and why not when it cannot', () => {
    assert.deepEqual(classify('Later: where is my order?'), { kind: 'later', question: 'where is my order?' });
    assert.deepEqual(classify('later'), { kind: 'later', question: '' });
    const holding = say('later where is my order?', { ...messaging, answersLater: true });
    assert.equal(holding.response.length, 1);
    assert.match((holding.response[0].data as { message: string }).message, /come back to you/);
    assert.equal(holding.analytics?.intents?.[0]?.id, 'answer-later');
    const cannot = say('later where is my order?', messaging);
    assert.match((cannot.response[0].data as { message: string }).message, /no Public API login/);
    assert.equal(cannot.analytics?.intents?.[0]?.id, 'answer-later-unavailable');
  });

  it('the later reply is a Public API messages command the server accepts', () => {
    const validate = new Ajv({ strict: false }).compile(bodySchemas.messages);
    for (const question of ['where is my order?', '']) {
      const command = laterReply(question);
      assert.equal(validate(command), true, JSON.stringify(validate.errors));
      assert.equal(checkMessages(command, 'MESSAGING', undefined as never), undefined);
      assert.ok(String(command.messages[0]).includes(question));
    }
  });

  it('invalid: a valid text next to a DELAY of 0 seconds, which the contract rejects', () => {
    const r = answer(text('invalid'), messaging, options);
    assert.deepEqual(types(r), ['TEXT', 'DELAY', 'TEXT']);
    const verdict = contract.validate('PostEventResponse', r);
    assert.equal(verdict.ok, false);
    assert.deepEqual(verdict.errors, ['/response/1/data/seconds must be >= 1']);
  });

  it('empty: no messages and no intents', () => {
    assert.deepEqual(say('empty'), { response: [], analytics: { intents: [] } });
  });

  it('the file placeholder: thanks for the file', () => {
    const r = say(FILE_PLACEHOLDER);
    assert.match(texts(r)[0], /^Thanks for the file/);
    assert.deepEqual(intentIds(r), ['file-received']);
    const hosted = answer(
      { type: 'hosted-file', data: { relativePath: '/a.png', fileType: 'PNG' }, context: { lpEvent: {} } },
      messaging,
      options,
    );
    assert.deepEqual(hosted, r);
  });

  it('anything else is echoed with a fallback intent', () => {
    const r = say('  Where is my order #42?  ');
    assert.deepEqual(texts(r), ['You said: Where is my order #42?']);
    assert.deepEqual(r.analytics.intents, [
      { id: 'fallback', description: 'Nothing matched; echoed the message', confidenceScore: 0.3 },
    ]);
  });

  it('RICH_CONTENT: echoes the content type', () => {
    const event: ConversationEventBody = {
      type: 'RICH_CONTENT',
      source: 'CONSUMER',
      data: { content: { type: 'vertical', elements: [] }, context: {} },
      context: { lpEvent: {} },
    };
    assert.equal(contract.validate('ConversationChange', event).ok, true);
    const r = answer(event, messaging, options);
    assert.deepEqual(texts(r), ['You sent rich content: vertical']);
    assert.equal(contract.validate('PostEventResponse', r).ok, true);
    const untyped = answer({ ...event, data: { content: {}, context: {} } }, messaging, options);
    assert.deepEqual(texts(untyped), ['You sent rich content: unknown']);
  });

  it('START: a welcome, plus what the consumer said before the transfer when there was something', () => {
    const start: ConversationEventBody = { type: 'START', source: 'CONVERSATION', data: {}, context: { lpEvent: {} } };
    const welcome = answer(start, messaging, options);
    assert.deepEqual(types(welcome), ['TEXT']);
    assert.match(texts(welcome)[0], /^Welcome!/);
    assert.deepEqual(contract.validate('PostEventResponse', welcome), { ok: true, errors: [], deviations: [] });

    const transferred = answer(
      { ...start, context: { lpEvent: { lastConsumerMessage: 'Where is my parcel?' } } },
      messaging,
      options,
    );
    assert.deepEqual(types(transferred), ['TEXT', 'TEXT']);
    assert.match(texts(transferred)[1], /^You said before the transfer: “Where is my parcel\?”/);
    assert.deepEqual(intentIds(transferred), ['welcome']);
  });

  it('CLOSE_CONVERSATION: the survey question', () => {
    const r = answer(
      { type: 'CLOSE_CONVERSATION', source: 'CONVERSATION', data: {}, context: { lpEvent: {} } },
      messaging,
      options,
    );
    assert.deepEqual(texts(r), ['Thanks for chatting — how did we do?']);
    assert.deepEqual(intentIds(r), ['survey']);
    assert.equal(contract.validate('PostEventResponse', r).ok, true);
  });

  it('every utterance help lists is understood (none falls through to the echo)', () => {
    const examples: Record<string, string> = {
      'transfer agent <agentId>': 'transfer agent 7',
      'ttr <seconds>': 'ttr 60',
      'function <lambdaUuid>': `function ${LAMBDA}`,
    };
    for (const u of DEMO_UTTERANCES) {
      const utterance = classify(examples[u.say] ?? u.say);
      assert.notEqual(utterance.kind, 'echo', u.say);
    }
  });
});

describe('the README lists what the demo bot understands', () => {
  it('every utterance, in the bot’s own order and words', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('### The demo bot');
    const section = readme.slice(start, readme.indexOf('\n## ', start));
    const listed = [...section.matchAll(/^\| `([^`]+)` \| (.+) \|$/gm)].map((m) => m[1]);
    assert.deepEqual(
      listed,
      DEMO_UTTERANCES.map((u) => u.say),
    );
  });
});
