import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createContractValidator, createStructuredContentValidator } from '../../src/contract/index.js';
import { parseBotResponse } from '../../src/contract/index.js';
import { DEFAULT_LIMITS as CONNECTOR_DEFAULT_LIMITS } from '../../src/connector/bot-config.js';
import {
  answer,
  changeTtr,
  closeConversation,
  delay,
  invokeFunction,
  privateText,
  quickReplies,
  quickReply,
  structuredContent,
  text,
  transfer,
  type BotResponseItem,
  type PostEventResponseBody,
} from '../../src/sdk/custom-endpoint/index.js';
import { DEFAULT_LIMITS } from '../../src/sdk/custom-endpoint/builders.js';

const contract = createContractValidator();
const validator = createStructuredContentValidator();
const LAMBDA = '4f9c233a-e7e6-4af3-b680-59ba20ab8962';
const ENCODED = Buffer.from(JSON.stringify({ origin: 'sdk-test' })).toString('base64');

const card = {
  type: 'vertical',
  elements: [{ type: 'text', text: 'A card' }, quickReply('Talk to a human', 'transfer')],
};

/** What the contract and the connector's parser say of an answer. */
function verdicts(body: PostEventResponseBody, conversationType: 'MESSAGING' | 'CHAT' = 'MESSAGING') {
  return {
    contract: contract.validate('PostEventResponse', body),
    parsed: parseBotResponse(body, { conversationType }, validator),
  };
}

describe('SDK builders: every valid item passes the contract and the connector', () => {
  const cases: [string, BotResponseItem, string][] = [
    ['text', text('Hello'), 'text'],
    [
      'text with metadata and encodedMetadata',
      text('With metadata', { metadata: [{ type: 'ExternalId', id: 'order-42' }], encodedMetadata: ENCODED }),
      'text',
    ],
    ['private text', privateText('Only agents see this'), 'text'],
    ['structured content', structuredContent(card, { validator }), 'structured'],
    [
      'structured content with metadata',
      structuredContent(card, { validator, metadata: [{ type: 'ExternalId', id: 'card-1' }] }),
      'structured',
    ],
    [
      'quick replies',
      quickReplies('Pick one', [quickReply('Yes'), quickReply('No', 'no thanks')], { validator, itemsPerRow: 2 }),
      'quickReplies',
    ],
  ];
  for (const [name, item, kind] of cases) {
    it(name, () => {
      const body = answer(item);
      const { contract: verdict, parsed } = verdicts(body);
      assert.equal(verdict.ok, true, verdict.errors.join('\n'));
      assert.deepEqual(parsed.errors, []);
      assert.equal(parsed.usable, true);
      assert.deepEqual(
        parsed.items.map((i) => i.kind),
        [kind],
      );
    });
  }

  it('private text is for agents and managers, as the contract names the audience', () => {
    assert.deepEqual(privateText('note'), {
      type: 'TEXT',
      data: { message: 'note', messageAudience: 'AGENTS_AND_MANAGERS' },
    });
    const parsed = parseBotResponse(answer(privateText('note')), { conversationType: 'MESSAGING' }, validator);
    assert.equal(parsed.items[0]?.kind === 'text' && parsed.items[0].audience, 'AGENTS_AND_MANAGERS');
  });

  it('delay, with and without the typing indicator', () => {
    const body = answer(text('Thinking…'), delay(2), delay(1, { typing: false }), text('Done'));
    const { contract: verdict, parsed } = verdicts(body);
    assert.equal(verdict.ok, true, verdict.errors.join('\n'));
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(
      parsed.items.filter((i) => i.kind === 'delay').map((i) => i.kind === 'delay' && [i.seconds, i.typing]),
      [
        [2, true],
        [1, false],
      ],
    );
  });

  const actions: [string, BotResponseItem, Record<string, unknown>][] = [
    ['transfer to a skill', transfer('human'), { name: 'TRANSFER', skillName: 'human' }],
    [
      'transfer to an agent, the skill as fallback',
      transfer('human', { agentId: 'agent-7' }),
      { name: 'TRANSFER', skillName: 'human', agentId: 'agent-7' },
    ],
    ['close', closeConversation(), { name: 'CLOSE_CONVERSATION', withoutPcs: false }],
    [
      'close without the survey',
      closeConversation({ withoutPcs: true }),
      { name: 'CLOSE_CONVERSATION', withoutPcs: true },
    ],
    ['TTR urgent', changeTtr('URGENT'), { name: 'CHANGE_TTR', ttrType: 'URGENT' }],
    ['TTR normal', changeTtr('NORMAL'), { name: 'CHANGE_TTR', ttrType: 'NORMAL' }],
    ['TTR prioritized', changeTtr('PRIORITIZED'), { name: 'CHANGE_TTR', ttrType: 'PRIORITIZED' }],
    ['TTR custom', changeTtr('CUSTOM', 600), { name: 'CHANGE_TTR', ttrType: 'CUSTOM', value: 600 }],
    [
      'invoke function',
      invokeFunction(LAMBDA, { orderId: 42, tags: ['a'] }, { failOnError: true }),
      { name: 'INVOKE_FUNCTION', lambdaUuid: LAMBDA, payload: { orderId: 42, tags: ['a'] }, failOnError: true },
    ],
    [
      'invoke function, payload and failOnError defaulted',
      invokeFunction(LAMBDA),
      { name: 'INVOKE_FUNCTION', lambdaUuid: LAMBDA, payload: {}, failOnError: false },
    ],
  ];
  for (const [name, item, parsedAction] of actions) {
    it(name, () => {
      const body = answer(text('One moment'), item);
      const { contract: verdict, parsed } = verdicts(body);
      assert.equal(verdict.ok, true, verdict.errors.join('\n'));
      assert.deepEqual(parsed.errors, []);
      assert.deepEqual(parsed.action, { ...parsedAction, index: 1 });
      // The contract's own action schema, on its own.
      const schema = {
        TRANSFER: 'TransferAction',
        CLOSE_CONVERSATION: 'CloseConversationAction',
        CHANGE_TTR: 'ChangeTTRAction',
        INVOKE_FUNCTION: 'InvokeFunctionAction',
      } as const;
      const data = (item as Extract<BotResponseItem, { type: 'ACTION' }>).data;
      assert.equal(contract.validate(schema[data.name], data).ok, true);
    });
  }

  it('an action alone is an answer', () => {
    assert.equal(contract.validate('PostEventResponse', answer(transfer('human'))).ok, true);
  });
});

describe('SDK builders: answer()', () => {
  it('assembles the response and the analytics, intents included when given', () => {
    const body = answer(
      { intents: [{ id: 'greeting', description: 'Said hello', confidenceScore: 0.9 }] },
      text('Hi'),
      text('How can I help?'),
    );
    assert.deepEqual(body, {
      response: [
        { type: 'TEXT', data: { message: 'Hi' } },
        { type: 'TEXT', data: { message: 'How can I help?' } },
      ],
      analytics: { intents: [{ id: 'greeting', description: 'Said hello', confidenceScore: 0.9 }] },
    });
    assert.deepEqual(contract.validate('PostEventResponse', body), { ok: true, errors: [], deviations: [] });
    assert.deepEqual(
      parseBotResponse(body, { conversationType: 'MESSAGING' }, validator).intents,
      body.analytics.intents,
    );
    assert.deepEqual(answer(text('Hi')).analytics, { intents: [] });
  });

  it('a CHAT conversation gets text and actions, never quick replies or encoded metadata', () => {
    const body = answer({ conversationType: 'CHAT' }, text('Hi'), transfer('human'));
    assert.deepEqual(verdicts(body, 'CHAT').parsed.errors, []);
    assert.throws(
      () => answer({ conversationType: 'CHAT' }, quickReplies('Pick', [quickReply('Yes')], { validator })),
      {
        name: 'TypeError',
        message:
          /^answer: response\[0\]\.data\.structuredContent\.quickReplies cannot be sent: quick replies are supported on messaging conversations only/,
      },
    );
    assert.throws(() => answer({ conversationType: 'CHAT' }, text('Hi', { encodedMetadata: ENCODED })), {
      name: 'TypeError',
      message: /^answer: response\[0\]\.data\.encodedMetadata is supported on messaging conversations only/,
    });
  });

  it("uses the connector's default limits, and the bot's when given", () => {
    assert.deepEqual(DEFAULT_LIMITS, CONNECTOR_DEFAULT_LIMITS);
    const many = Array.from({ length: 51 }, (_, i) => text(`message ${i}`));
    assert.throws(() => answer(...many), {
      name: 'TypeError',
      message: /^answer: response has 51 items; an answer may have at most 50/,
    });
    assert.equal(answer({ limits: { maxItems: 60 } }, ...many).response.length, 51);
    assert.throws(() => answer(text('a'), delay(20), delay(20)), {
      name: 'TypeError',
      message: /^answer: response\[2\]\.data\.seconds would make this answer wait 40 s in all; the limit is 30 s/,
    });
    assert.equal(answer({ limits: { maxDelaySeconds: 60 } }, text('a'), delay(20), delay(20)).response.length, 3);
    assert.throws(() => answer(text('x'.repeat(3 * 1024 * 1024))), {
      name: 'TypeError',
      message: /^answer: the body is \d+ bytes as JSON; the connector reads at most 2097152/,
    });
  });

  const refused: [string, () => unknown, RegExp][] = [
    ['nothing at all', () => answer(), /^answer: response is empty: there is no message or action to send/],
    [
      'only a delay',
      () => answer(delay(1)),
      /^answer: response holds no valid message or action \(a DELAY alone sends nothing\)/,
    ],
    ['two actions', () => answer(transfer('human'), closeConversation()), /^answer: response\[1\] is a second ACTION/],
    [
      'a hand-built item the builders would refuse',
      () => answer({ type: 'DELAY', data: { seconds: 0 } }),
      /^answer: response\[0\]\.data\.seconds must be a whole number from 1 to 600, got 0/,
    ],
    [
      'a hand-built item of no type',
      () => answer({ type: 'AUDIO', data: {} } as unknown as BotResponseItem),
      /^answer: response\[0\]\.type must be one of "TEXT", "STRUCTURED_CONTENT", "DELAY", "ACTION", got "AUDIO"/,
    ],
    [
      'an intent with a confidence above 1',
      () => answer({ intents: [{ id: 'x', description: 'x', confidenceScore: 2 }] }, text('Hi')),
      /^answer: analytics\.intents\[0\]\.confidenceScore must be a number from 0 to 1, got 2/,
    ],
    [
      'an intent id with a space',
      () => answer({ intents: [{ id: 'two words', description: 'x', confidenceScore: 1 }] }, text('Hi')),
      /^answer: analytics\.intents\[0\]\.id must be a non-empty string without whitespace/,
    ],
    [
      'bad rich content, when the validator is given to re-check',
      () => answer({ validator }, { type: 'STRUCTURED_CONTENT', data: { structuredContent: { type: 'nonsense' } } }),
      /^answer: response\[0\]\.data\.structuredContent\.type must be one of/,
    ],
  ];
  for (const [name, build, message] of refused) {
    it(`refuses ${name}`, () => assert.throws(build, { name: 'TypeError', message }));
  }
});

describe('SDK builders: each invalid input throws a TypeError naming the field', () => {
  const tooLong = 'QUJD'.repeat(1251);
  const cases: [string, () => unknown, RegExp][] = [
    ['empty text', () => text(''), /^text: message must be a non-empty string, got ""/],
    ['blank text', () => text('   '), /^text: message must be a non-empty string/],
    ['a number as text', () => text(5 as unknown as string), /^text: message must be a non-empty string, got 5/],
    ['blank private text', () => privateText(' '), /^privateText: message must be a non-empty string/],
    [
      'metadata as an object',
      () => text('x', { metadata: { id: 1 } as never }),
      /^text: metadata must be a list of objects \(like \[\{"type": "ExternalId", "id": "…"\}\]\), got an object/,
    ],
    [
      'metadata holding a Date',
      () => text('x', { metadata: [{ at: new Date() }] }),
      /^text: metadata must hold plain JSON data only, got Date at "\/0\/at"/,
    ],
    [
      'encodedMetadata not base64',
      () => text('x', { encodedMetadata: 'not base64!' }),
      /^text: encodedMetadata must be base64/,
    ],
    [
      'encodedMetadata unpadded',
      () => text('x', { encodedMetadata: 'YWJjZA' }),
      /^text: encodedMetadata must be base64/,
    ],
    ['encodedMetadata empty', () => text('x', { encodedMetadata: '' }), /^text: encodedMetadata must be base64/],
    [
      'encodedMetadata too long',
      () => privateText('x', { encodedMetadata: tooLong }),
      /^privateText: encodedMetadata must be at most 5000 characters long, got 5004/,
    ],
    [
      'structured content without the validator',
      () => structuredContent(card, {} as never),
      /^structuredContent: options\.validator must be the validator from createStructuredContentValidator\(\)/,
    ],
    [
      'structured content json-pollock refuses',
      () =>
        structuredContent(
          { type: 'vertical', elements: [{ type: 'button', title: 'x'.repeat(200), click: { actions: [] } }] },
          { validator },
        ),
      /^structuredContent: content\.elements\[0\]\.title must be at most 128 characters long, got 200/,
    ],
    [
      'structured content that is no object',
      () => structuredContent('card' as never, { validator }),
      /^structuredContent: content must be a structured-content object, got "card"/,
    ],
    [
      'quick replies through structuredContent',
      () => structuredContent({ quickReplies: {}, message: 'x' }, { validator }),
      /^structuredContent: content\.quickReplies is sent with quickReplies/,
    ],
    [
      'structured content with bad encodedMetadata',
      () => structuredContent(card, { validator, encodedMetadata: '%%' }),
      /^structuredContent: encodedMetadata must be base64/,
    ],
    [
      'quick replies without a message',
      () => quickReplies('', [quickReply('Yes')], { validator }),
      /^quickReplies: message must be a non-empty string/,
    ],
    [
      'no quick replies',
      () => quickReplies('Pick', [], { validator }),
      /^quickReplies: replies must have at least 1 item, got 0/,
    ],
    [
      'too many quick replies',
      () =>
        quickReplies(
          'Pick',
          Array.from({ length: 25 }, (_, i) => quickReply(`r${i}`)),
          { validator },
        ),
      /^quickReplies: replies must have at most 24 items, got 25/,
    ],
    [
      'a quick reply json-pollock refuses',
      () => quickReplies('Pick', [quickReply('Yes'), { type: 'button', title: 7 }], { validator }),
      /^quickReplies: replies\[1\]\.title must be a string, got 7/,
    ],
    [
      'too many quick replies per row',
      () => quickReplies('Pick', [quickReply('Yes')], { validator, itemsPerRow: 9 }),
      /^quickReplies: itemsPerRow must be <= 8, got 9/,
    ],
    ['a quick reply without a title', () => quickReply(''), /^quickReply: title must be a non-empty string/],
    ['a zero delay', () => delay(0), /^delay: seconds must be a whole number from 1 to 600, got 0/],
    ['a fractional delay', () => delay(1.5), /^delay: seconds must be a whole number from 1 to 600, got 1\.5/],
    ['a delay past any limit', () => delay(601), /^delay: seconds must be a whole number from 1 to 600, got 601/],
    ['a NaN delay', () => delay(Number.NaN), /^delay: seconds must be a whole number/],
    [
      'typing not a boolean',
      () => delay(1, { typing: 'yes' as never }),
      /^delay: typing must be true or false, got "yes"/,
    ],
    ['a transfer without a skill', () => transfer(''), /^transfer: skillName must be a non-empty string/],
    [
      'a skill name too long to exist',
      () => transfer('s'.repeat(256)),
      /^transfer: skillName must be at most 255 characters long \(skill names are case-sensitive\), got 256/,
    ],
    ['an empty agent id', () => transfer('human', { agentId: '' }), /^transfer: agentId must be a non-empty string/],
    [
      'withoutPcs not a boolean',
      () => closeConversation({ withoutPcs: 1 as never }),
      /^closeConversation: withoutPcs must be true or false, got 1/,
    ],
    [
      'an unknown TTR',
      () => changeTtr('SOON' as never),
      /^changeTtr: ttrType must be one of "URGENT", "NORMAL", "PRIORITIZED", "CUSTOM" \(case-sensitive\), got "SOON"/,
    ],
    [
      'a zero custom TTR',
      () => changeTtr('CUSTOM', 0),
      /^changeTtr: seconds must be a whole number from 1 to 999999999 \(seconds; a string of digits too\), got 0/,
    ],
    [
      'a custom TTR past 32 bits',
      () => changeTtr('CUSTOM', 3_000_000_000),
      /^changeTtr: seconds must be a whole number from 1 to 999999999/,
    ],
    [
      'seconds with a standard TTR',
      () => (changeTtr as (t: string, s: number) => unknown)('URGENT', 5),
      /^changeTtr: seconds is for CUSTOM only/,
    ],
    [
      'a function id that is no UUID',
      () => invokeFunction('lambda-1'),
      /^invokeFunction: lambdaUuid must be the function's UUID/,
    ],
    [
      'a payload that is an array',
      () => invokeFunction(LAMBDA, [] as never),
      /^invokeFunction: payload must be an object \(passed to the function\), got an array of 0 items/,
    ],
    [
      'a payload holding a function',
      () => invokeFunction(LAMBDA, { callback: () => 1 }),
      /^invokeFunction: payload must hold plain JSON data only, got function at "\/callback"/,
    ],
    [
      'a payload holding Infinity',
      () => invokeFunction(LAMBDA, { n: Number.POSITIVE_INFINITY }),
      /^invokeFunction: payload must hold finite numbers only, got Infinity at "\/n"/,
    ],
    [
      'failOnError not a boolean',
      () => invokeFunction(LAMBDA, {}, { failOnError: 'no' as never }),
      /^invokeFunction: failOnError must be true or false/,
    ],
  ];
  for (const [name, build, message] of cases) {
    it(name, () => assert.throws(build, { name: 'TypeError', message }));
  }
});
