import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CONNECTOR_ERROR_CODES, ERROR_CODES, isErrorCode } from '../../src/connector/error-codes.js';
import {
  MAX_ENCODED_METADATA_LENGTH,
  PARSER_ERROR_CODES,
  createStructuredContentValidator,
  parseBotResponse,
  type ParseError,
  type ParsedResponse,
} from '../../src/contract/index.js';

const validator = createStructuredContentValidator();
/** Every code any test below produced: the catalogue must explain each, and each must be reachable. */
const emitted = new Set<string>();

function parse(
  body: unknown,
  conversationType: 'MESSAGING' | 'CHAT' = 'MESSAGING',
  limits?: { maxItems: number; maxDelaySeconds: number },
): ParsedResponse {
  const result = parseBotResponse(body, { conversationType, ...(limits ? { limits } : {}) }, validator);
  for (const error of result.errors) emitted.add(error.code);
  return result;
}

/** The response wrapped around `items`. */
function respond(...items: unknown[]): { response: unknown[] } {
  return { response: items };
}

const text = (message: unknown, extra: Record<string, unknown> = {}) => ({ type: 'TEXT', data: { message, ...extra } });
const action = (name: unknown, parameters?: unknown) => ({
  type: 'ACTION',
  data: { name, ...(parameters === undefined ? {} : { parameters }) },
});
const button = (title: string) => ({
  type: 'button',
  title,
  click: { actions: [{ type: 'publishText', text: title }] },
});
const card = {
  type: 'vertical',
  elements: [
    { type: 'image', url: 'https://example.com/shoe.png', tooltip: 'shoe' },
    { type: 'text', text: 'Running shoe', style: { bold: true, size: 'large' } },
    button('Buy'),
  ],
};
const carousel = {
  type: 'carousel',
  padding: 10,
  elements: [
    { type: 'vertical', elements: [{ type: 'text', text: 'First' }, button('Pick first')] },
    { type: 'vertical', elements: [{ type: 'text', text: 'Second' }, button('Pick second')] },
  ],
};
const quickReplies = { type: 'quickReplies', itemsPerRow: 8, replies: [button('yes'), button('no')] };
const base64 = Buffer.from('{"someInfo": "I was encoded"}').toString('base64');

/** The single error of a response, asserted to be alone. */
function onlyError(result: ParsedResponse): ParseError {
  assert.equal(result.errors.length, 1, JSON.stringify(result.errors, null, 1));
  return result.errors[0]!;
}

function assertError(
  result: ParsedResponse,
  expected: { code: string; path: string; index?: number; message?: RegExp | string },
) {
  const error = result.errors.find((e) => e.code === expected.code && e.path === expected.path);
  assert.ok(error, `no ${expected.code} at ${expected.path} in ${JSON.stringify(result.errors, null, 1)}`);
  if ('index' in expected) assert.equal(error.index, expected.index);
  if (typeof expected.message === 'string') assert.equal(error.message, expected.message);
  else if (expected.message) assert.match(error.message, expected.message);
  return error;
}

describe('garbage bodies', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['null', null, '', /^the body is null; expected an object like \{"response"/],
    ['no body at all', undefined, '', /^the body is empty/],
    ['a string', 'text', '', /^the body is "text"/],
    ['a number', 42, '', /^the body is 42/],
    ['an array', [], '', /^the body is an array; wrap the items/],
    ['an array of items', [text('hi')], '', /^the body is an array/],
    [
      'an object without response',
      { messages: [] },
      '',
      /^the body has no "response" array \(its keys are "messages"\)/,
    ],
    ['an empty object', {}, '', /it is empty/],
    ['response a string', { response: 'x' }, '/response', /^response must be an array of items, got "x"$/],
    [
      'response an object',
      { response: { type: 'TEXT' } },
      '/response',
      /^response must be an array of items, got an object$/,
    ],
    ['response null', { response: null }, '/response', /got null$/],
  ];
  for (const [name, body, path, message] of cases) {
    it(`${name} → common-invalid-ai-vendor-response, unusable`, () => {
      const result = parse(body);
      const error = onlyError(result);
      assert.equal(error.code, 'common-invalid-ai-vendor-response');
      assert.equal(error.path, path);
      assert.equal(error.index, undefined);
      assert.match(error.message, message);
      assert.equal(result.usable, false);
      assert.deepEqual(result.items, []);
      assert.equal(result.action, undefined);
      assert.deepEqual(result.intents, []);
    });
  }

  it('still records valid intents next to a broken response', () => {
    const result = parse({
      response: 'x',
      analytics: { intents: [{ id: 'greet', description: 'Greeting', confidenceScore: 1 }] },
    });
    assert.equal(result.usable, false);
    assert.deepEqual(result.intents, [{ id: 'greet', description: 'Greeting', confidenceScore: 1 }]);
  });
});

describe('responses with nothing to send', () => {
  it('an empty response → common-invalid-parsed-response', () => {
    const result = parse({ response: [] });
    const error = onlyError(result);
    assert.equal(error.code, 'common-invalid-parsed-response');
    assert.equal(error.path, '/response');
    assert.equal(error.message, 'response is empty: there is no message or action to send');
    assert.equal(result.usable, false);
  });

  it('only invalid items → their errors, then common-invalid-parsed-response', () => {
    const result = parse(respond(text(''), { type: 'DELAY', data: { seconds: 0 } }));
    assert.deepEqual(
      result.errors.map((e) => e.code),
      ['common-invalid-text-body', 'common-invalid-delay-body', 'common-invalid-parsed-response'],
    );
    assert.match(result.errors[2]!.message, /2 invalid items were dropped/);
    assert.equal(result.usable, false);
  });

  it('DELAYs alone are not a message', () => {
    const result = parse(respond({ type: 'DELAY', data: { seconds: 2 } }));
    assert.equal(result.usable, false);
    assert.equal(result.items.length, 1);
    assertError(result, {
      code: 'common-invalid-parsed-response',
      path: '/response',
      message: /a DELAY alone sends nothing/,
    });
  });

  it('an action alone is usable', () => {
    const result = parse(respond(action('CLOSE_CONVERSATION', {})));
    assert.equal(result.usable, true);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.items, []);
    assert.deepEqual(result.action, { name: 'CLOSE_CONVERSATION', index: 0, withoutPcs: false });
  });

  it('a private text alone is usable (it is a message, for the agent)', () => {
    const result = parse(respond(text('note', { messageAudience: 'AGENTS_AND_MANAGERS' })));
    assert.equal(result.usable, true);
  });
});

describe('items', () => {
  it('invalid items are dropped, valid siblings stay in order with their positions', () => {
    const result = parse(
      respond(
        text('one'),
        { type: 'DELAY', data: { seconds: 0 } },
        { type: 'DELAY', data: { seconds: 2, typing: false } },
        { type: 'STRUCTURED_CONTENT', data: { structuredContent: { type: 'vertical', elements: [{ type: 'nope' }] } } },
        { type: 'STRUCTURED_CONTENT', data: { structuredContent: card } },
        text(''),
        text('two'),
        action('TRANSFER', { skillName: 'sales' }),
        text('three'),
      ),
    );
    assert.equal(result.usable, true);
    assert.deepEqual(
      result.items.map((i) => [i.kind, i.index]),
      [
        ['text', 0],
        ['delay', 2],
        ['structured', 4],
        ['text', 6],
        ['text', 8],
      ],
    );
    assert.deepEqual(
      result.errors.map((e) => [e.code, e.index]),
      [
        ['common-invalid-delay-body', 1],
        ['common-invalid-structured-content-body', 3],
        ['common-invalid-text-body', 5],
      ],
    );
    assert.deepEqual(result.action, { name: 'TRANSFER', index: 7, skillName: 'sales' });
  });

  it('an item that is not an object → custom-endpoint-invalid-body', () => {
    for (const item of [null, 'hello', 3, [text('x')]]) {
      const result = parse(respond(item, text('ok')));
      assertError(result, { code: 'custom-endpoint-invalid-body', path: '/response/0', index: 0 });
      assert.equal(result.items.length, 1);
    }
  });

  it('an item without a string type → custom-endpoint-invalid-body at its type', () => {
    const result = parse(respond({ data: { message: 'hi' } }, { type: 7, data: {} }));
    assertError(result, {
      code: 'custom-endpoint-invalid-body',
      path: '/response/0/type',
      index: 0,
      message: /^response\[0\]\.type must be one of "TEXT", "STRUCTURED_CONTENT", "DELAY", "ACTION", got nothing$/,
    });
    assertError(result, {
      code: 'custom-endpoint-invalid-body',
      path: '/response/1/type',
      index: 1,
      message: /got 7$/,
    });
  });

  it('an unknown type → common-unknown-response-type, with a hint for the wrong case', () => {
    const result = parse(respond({ type: 'IMAGE', data: {} }, { type: 'text', data: { message: 'hi' } }, text('ok')));
    assertError(result, {
      code: 'common-unknown-response-type',
      path: '/response/0/type',
      index: 0,
      message: /got "IMAGE"$/,
    });
    assertError(result, {
      code: 'common-unknown-response-type',
      path: '/response/1/type',
      index: 1,
      message: /got "text" \(types are case-sensitive: "TEXT"\)$/,
    });
    assert.deepEqual(result.items, [{ kind: 'text', index: 2, text: 'ok', audience: 'ALL' }]);
  });
});

describe('TEXT', () => {
  it('a plain text goes to everyone', () => {
    const result = parse(respond(text('Hello!')));
    assert.deepEqual(result.items, [{ kind: 'text', index: 0, text: 'Hello!', audience: 'ALL' }]);
    assert.deepEqual(result.errors, []);
    assert.equal(result.usable, true);
  });

  it('metadata is a list of objects; the contract file’s object form becomes a one-item list (contracts/ERRATA.md)', () => {
    const asArray = [{ type: 'ExternalId', id: 'ABCD1234' }];
    const asObject = { campaign: 'spring' };
    const result = parse(respond(text('a', { metadata: asArray }), text('b', { metadata: asObject })));
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.items[0], { kind: 'text', index: 0, text: 'a', audience: 'ALL', metadata: asArray });
    assert.deepEqual(result.items[1], { kind: 'text', index: 1, text: 'b', audience: 'ALL', metadata: [asObject] });
  });

  it('null optional fields count as absent', () => {
    const result = parse(respond(text('a', { metadata: null, encodedMetadata: null, messageAudience: null })));
    assert.deepEqual(result.items, [{ kind: 'text', index: 0, text: 'a', audience: 'ALL' }]);
  });

  it('messageAudience ALL is a normal text', () => {
    const result = parse(respond(text('a', { messageAudience: 'ALL' })));
    assert.equal(result.items[0]?.kind === 'text' && result.items[0].audience, 'ALL');
  });

  const invalid: [string, unknown, string, RegExp][] = [
    [
      'missing message',
      { type: 'TEXT', data: {} },
      '/response/0/data/message',
      /^response\[0\]\.data\.message must be a non-empty string, got nothing$/,
    ],
    ['empty message', text(''), '/response/0/data/message', /got ""$/],
    ['blank message', text('   '), '/response/0/data/message', /got " {3}"$/],
    ['a number as message', text(42), '/response/0/data/message', /got 42$/],
    [
      'no data',
      { type: 'TEXT' },
      '/response/0/data',
      /^response\[0\]\.data must be an object with a "message", got nothing$/,
    ],
    ['data a string', { type: 'TEXT', data: 'hi' }, '/response/0/data', /got "hi"$/],
    [
      'metadata a string',
      text('a', { metadata: 'ExternalId' }),
      '/response/0/data/metadata',
      /must be a list of objects .*, got "ExternalId"$/,
    ],
    [
      'metadata a list of strings',
      text('a', { metadata: ['ExternalId'] }),
      '/response/0/data/metadata',
      /must be a list of objects .*, got an array of 1 item$/,
    ],
  ];
  for (const [name, item, path, message] of invalid) {
    it(`${name} → common-invalid-text-body`, () => {
      const result = parse(respond(item, text('fine')));
      assert.equal(onlyError(result).code, 'common-invalid-text-body');
      assertError(result, { code: 'common-invalid-text-body', path, index: 0, message });
      assert.deepEqual(result.items, [{ kind: 'text', index: 1, text: 'fine', audience: 'ALL' }]);
    });
  }
});

describe('private text (messageAudience AGENTS_AND_MANAGERS)', () => {
  it('is parsed with its audience', () => {
    const result = parse(respond(text('VIP customer', { messageAudience: 'AGENTS_AND_MANAGERS' }), text('Hi')));
    assert.deepEqual(result.items, [
      { kind: 'text', index: 0, text: 'VIP customer', audience: 'AGENTS_AND_MANAGERS' },
      { kind: 'text', index: 1, text: 'Hi', audience: 'ALL' },
    ]);
  });

  it('without a message → common-invalid-private-text-body', () => {
    const result = parse(respond(text('', { messageAudience: 'AGENTS_AND_MANAGERS' }), text('Hi')));
    assertError(result, { code: 'common-invalid-private-text-body', path: '/response/0/data/message', index: 0 });
    assert.equal(result.items.length, 1);
  });

  it('an unknown audience is refused as a private text, never shown to the consumer', () => {
    for (const audience of ['agents_and_managers', 'AGENTS', 5]) {
      const result = parse(respond(text('internal note', { messageAudience: audience }), text('Hi')));
      assertError(result, {
        code: 'common-invalid-private-text-body',
        path: '/response/0/data/messageAudience',
        index: 0,
        message: /must be one of "ALL", "AGENTS_AND_MANAGERS" \(case-sensitive\)/,
      });
      assert.deepEqual(
        result.items.map((i) => i.index),
        [1],
      );
    }
  });
});

describe('STRUCTURED_CONTENT', () => {
  const sc = (structuredContent: unknown, extra: Record<string, unknown> = {}) => ({
    type: 'STRUCTURED_CONTENT',
    data: { structuredContent, ...extra },
  });

  it('a valid card', () => {
    const metadata = [{ type: 'ExternalId', id: 'ABCD1234' }];
    const result = parse(respond(sc(card, { metadata })));
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.items, [{ kind: 'structured', index: 0, content: card, metadata }]);
  });

  it('a valid carousel', () => {
    const result = parse(respond(sc(carousel)));
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.items, [{ kind: 'structured', index: 0, content: carousel }]);
  });

  it('an unknown element type → common-invalid-structured-content-body at that type', () => {
    const content = {
      type: 'vertical',
      elements: [
        { type: 'text', text: 'ok' },
        { type: 'video', url: 'https://example.com/v.mp4' },
      ],
    };
    const result = parse(respond(sc(content), text('after')));
    const error = onlyError(result);
    assert.equal(error.code, 'common-invalid-structured-content-body');
    assert.equal(error.path, '/response/0/data/structuredContent/elements/1/type');
    assert.equal(error.index, 0);
    assert.match(
      error.message,
      /^response\[0\]\.data\.structuredContent\.elements\[1\]\.type must be one of "text", "image", "button", .*, got "video"$/,
    );
    assert.deepEqual(
      result.items.map((i) => i.kind),
      ['text'],
    );
  });

  it('a field of the wrong type → common-invalid-structured-content-body at that field', () => {
    const content = { type: 'vertical', elements: [{ type: 'text', text: 42 }] };
    const error = onlyError(parse(respond(sc(content), text('after'))));
    assert.equal(error.code, 'common-invalid-structured-content-body');
    assert.equal(error.path, '/response/0/data/structuredContent/elements/0/text');
    assert.equal(error.message, 'response[0].data.structuredContent.elements[0].text must be a string, got 42');
  });

  it('a missing required field and an unknown one are named', () => {
    const result = parse(
      respond(
        sc({ type: 'vertical', elements: [{ type: 'image' }, { type: 'text', text: 'a', colour: 'red' }] }),
        text('after'),
      ),
    );
    assertError(result, {
      code: 'common-invalid-structured-content-body',
      path: '/response/0/data/structuredContent/elements/0',
      message: /must have a "url" property/,
    });
    assertError(result, {
      code: 'common-invalid-structured-content-body',
      path: '/response/0/data/structuredContent/elements/1/colour',
      message: /is not an allowed property of "text" elements/,
    });
  });

  it('content nested as deep as the limit allows is checked at once (10 verticals took 16 s before)', () => {
    let content: unknown = { type: 'text', text: 'x' };
    for (let i = 0; i < 11; i++) content = { type: 'vertical', elements: [content] };
    const start = performance.now();
    const result = parse(respond(sc(content)));
    // A liveness bound, not a measurement: the old validation of this took minutes.
    assert.ok(performance.now() - start < 1000);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.items, [{ kind: 'structured', index: 0, content }]);
  });

  it('content nested deeper than the limit → common-invalid-structured-content-body naming the limit, refused before validation (2,000 levels used to overflow the stack)', () => {
    for (const levels of [12, 2000, 100_000]) {
      let content: unknown = { type: 'text', text: 'x' };
      for (let i = 0; i < levels; i++) content = { type: 'vertical', elements: [content] };
      const result = parse(respond(text('before'), sc(content), text('after')));
      const at = '/elements/0'.repeat(12);
      assertError(result, {
        code: 'common-invalid-structured-content-body',
        index: 1,
        path: `/response/1/data/structuredContent${at}`,
        message:
          /structuredContent(\.elements\[0\]){12} is nested deeper than 24 levels of objects and arrays, the most structured content may have$/,
      });
      assert.deepEqual(
        result.items.map((i) => i.kind),
        ['text', 'text'],
      );
    }
  });

  it('content of more than 256 KiB of JSON → common-invalid-structured-content-body naming the limit', () => {
    const result = parse(respond(sc({ type: 'text', text: 'x'.repeat(1_000_000) })));
    assertError(result, {
      code: 'common-invalid-structured-content-body',
      index: 0,
      path: '/response/0/data/structuredContent/text',
      message: /text is past the limit of 262144 characters of JSON, the most structured content may have$/,
    });
  });

  it('a carousel of one card is refused (carousels need two)', () => {
    const result = parse(respond(sc({ ...carousel, elements: carousel.elements.slice(0, 1) }), text('after')));
    assertError(result, {
      code: 'common-invalid-structured-content-body',
      path: '/response/0/data/structuredContent/elements',
      message: /must have at least 2 items, got 1$/,
    });
  });

  it('structuredContent missing or not an object', () => {
    for (const [item, path] of [
      [{ type: 'STRUCTURED_CONTENT', data: {} }, '/response/0/data/structuredContent'],
      [sc('card'), '/response/0/data/structuredContent'],
      [sc([card]), '/response/0/data/structuredContent'],
      [{ type: 'STRUCTURED_CONTENT' }, '/response/0/data'],
    ] as const) {
      const result = parse(respond(item, text('after')));
      assertError(result, { code: 'common-invalid-structured-content-body', path, index: 0 });
    }
  });

  it('metadata of the wrong type → common-invalid-structured-content-body', () => {
    const result = parse(respond(sc(card, { metadata: 12 }), text('after')));
    assertError(result, { code: 'common-invalid-structured-content-body', path: '/response/0/data/metadata' });
  });
});

describe('quick replies', () => {
  const qr = (structuredContent: unknown) => ({ type: 'STRUCTURED_CONTENT', data: { structuredContent } });

  it('are accepted on MESSAGING', () => {
    const metadata = [{ type: 'ExternalId', id: '1234' }];
    const result = parse(
      respond({
        type: 'STRUCTURED_CONTENT',
        data: { structuredContent: { quickReplies, message: 'Do you like bots?' }, metadata },
      }),
    );
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.items, [
      { kind: 'quickReplies', index: 0, text: 'Do you like bots?', quickReplies, metadata },
    ]);
  });

  it('are refused on CHAT with common-no-quick-replies-support-chat, the rest goes on', () => {
    const result = parse(respond(text('Question:'), qr({ quickReplies, message: 'Do you like bots?' })), 'CHAT');
    const error = onlyError(result);
    assert.equal(error.code, 'common-no-quick-replies-support-chat');
    assert.equal(error.path, '/response/1/data/structuredContent/quickReplies');
    assert.equal(error.index, 1);
    assert.deepEqual(result.items, [{ kind: 'text', index: 0, text: 'Question:', audience: 'ALL' }]);
    assert.equal(result.usable, true);
  });

  it('a card is still fine on CHAT', () => {
    const result = parse(respond(qr(card)), 'CHAT');
    assert.deepEqual(result.errors, []);
  });

  it('need their text', () => {
    const result = parse(respond(qr({ quickReplies }), text('after')));
    assertError(result, {
      code: 'common-invalid-structured-content-body',
      path: '/response/0/data/structuredContent/message',
      index: 0,
      message: /must be a non-empty string/,
    });
  });

  it('an invalid reply is named inside quickReplies', () => {
    const result = parse(
      respond(
        qr({ quickReplies: { ...quickReplies, replies: [button('ok'), { type: 'button' }] }, message: 'Pick' }),
        text('after'),
      ),
    );
    assertError(result, {
      code: 'common-invalid-structured-content-body',
      path: '/response/0/data/structuredContent/quickReplies/replies/1',
      message:
        'response[0].data.structuredContent.quickReplies.replies[1] must have a "title" property (required for "button" elements)',
    });
  });

  it('more than 8 per row is refused', () => {
    const result = parse(
      respond(qr({ quickReplies: { ...quickReplies, itemsPerRow: 9 }, message: 'Pick' }), text('after')),
    );
    assertError(result, {
      code: 'common-invalid-structured-content-body',
      path: '/response/0/data/structuredContent/quickReplies/itemsPerRow',
      message: /must be <= 8, got 9$/,
    });
  });

  it('next to a card are refused rather than the card silently dropped', () => {
    const result = parse(respond(qr({ ...card, quickReplies, message: 'Pick' }), text('after')));
    assertError(result, {
      code: 'common-invalid-structured-content-body',
      path: '/response/0/data/structuredContent',
      message: /may hold only "quickReplies" and "message", but also has "type", "elements"$/,
    });
  });
});

describe('encodedMetadata', () => {
  it('base64 passes through on MESSAGING, on text and structured content', () => {
    const result = parse(
      respond(text('a', { encodedMetadata: base64 }), {
        type: 'STRUCTURED_CONTENT',
        data: { structuredContent: card, encodedMetadata: base64 },
      }),
    );
    assert.deepEqual(result.errors, []);
    assert.equal(result.items[0]?.kind === 'text' && result.items[0].encodedMetadata, base64);
    assert.equal(result.items[1]?.kind === 'structured' && result.items[1].encodedMetadata, base64);
  });

  it('exactly 5,000 characters is allowed', () => {
    const longest = 'A'.repeat(MAX_ENCODED_METADATA_LENGTH);
    assert.deepEqual(parse(respond(text('a', { encodedMetadata: longest }))).errors, []);
  });

  const invalid: [string, unknown, RegExp][] = [
    ['too long', 'A'.repeat(5004), /must be at most 5000 characters long, got 5004$/],
    ['not base64', 'this is not base64!', /must be base64 .*, got "this is not base64!"$/],
    ['badly padded', 'abc', /must be base64/],
    ['url-safe alphabet', 'ab-_', /must be base64/],
    ['empty', '', /must be base64/],
    ['not a string', { info: 1 }, /must be a base64 string, got an object$/],
  ];
  for (const [name, encodedMetadata, message] of invalid) {
    it(`${name} → the message is dropped with common-invalid-encoded-metadata`, () => {
      const result = parse(respond(text('with metadata', { encodedMetadata }), text('fine')));
      const error = onlyError(result);
      assert.equal(error.code, 'common-invalid-encoded-metadata');
      assert.equal(error.path, '/response/0/data/encodedMetadata');
      assert.equal(error.index, 0);
      assert.match(error.message, message);
      assert.deepEqual(
        result.items.map((i) => i.index),
        [1],
      );
    });
  }

  it('on CHAT → dropped with common-invalid-encoded-metadata, even when valid', () => {
    const result = parse(
      respond(
        text('a', { encodedMetadata: base64 }),
        { type: 'STRUCTURED_CONTENT', data: { structuredContent: card, encodedMetadata: base64 } },
        text('plain'),
      ),
      'CHAT',
    );
    assert.deepEqual(
      result.errors.map((e) => [e.code, e.path]),
      [
        ['common-invalid-encoded-metadata', '/response/0/data/encodedMetadata'],
        ['common-invalid-encoded-metadata', '/response/1/data/encodedMetadata'],
      ],
    );
    assert.match(result.errors[0]!.message, /messaging conversations only, and this is a CHAT conversation/);
    assert.deepEqual(result.items, [{ kind: 'text', index: 2, text: 'plain', audience: 'ALL' }]);
  });
});

describe('DELAY', () => {
  it('typing defaults to true', () => {
    const result = parse(respond({ type: 'DELAY', data: { seconds: 4 } }, text('a')));
    assert.deepEqual(result.items[0], { kind: 'delay', index: 0, seconds: 4, typing: true });
  });

  it('typing false is kept', () => {
    const result = parse(respond({ type: 'DELAY', data: { seconds: 1, typing: false } }, text('a')));
    assert.deepEqual(result.items[0], { kind: 'delay', index: 0, seconds: 1, typing: false });
  });

  it('seconds 0 → the documented message', () => {
    const result = parse(respond(text('a'), text('b'), { type: 'DELAY', data: { seconds: 0 } }));
    const error = onlyError(result);
    assert.equal(error.code, 'common-invalid-delay-body');
    assert.equal(error.path, '/response/2/data/seconds');
    assert.equal(error.index, 2);
    assert.equal(error.message, 'response[2].data.seconds must be a whole number from 1 to 600, got 0');
  });

  const invalid: [string, unknown, string, RegExp][] = [
    ['fractional seconds', { seconds: 1.5 }, '/response/0/data/seconds', /got 1\.5$/],
    ['seconds as a string', { seconds: '3' }, '/response/0/data/seconds', /got "3"$/],
    ['negative seconds', { seconds: -2 }, '/response/0/data/seconds', /got -2$/],
    ['no seconds', {}, '/response/0/data/seconds', /got nothing$/],
    [
      'typing not a boolean',
      { seconds: 2, typing: 'yes' },
      '/response/0/data/typing',
      /must be true or false, got "yes"$/,
    ],
    ['no data', undefined, '/response/0/data', /must be an object with "seconds"/],
  ];
  for (const [name, data, path, message] of invalid) {
    it(`${name} → common-invalid-delay-body`, () => {
      const result = parse(respond({ type: 'DELAY', data }, text('a')));
      assertError(result, { code: 'common-invalid-delay-body', path, index: 0, message });
      assert.equal(result.items.length, 1);
    });
  }

  it('DELAYs beyond the answer’s total (30 s by default) are dropped, the messages stay', () => {
    const result = parse(
      respond(
        text('a'),
        { type: 'DELAY', data: { seconds: 20 } },
        text('b'),
        { type: 'DELAY', data: { seconds: 3600 } },
        text('c'),
        { type: 'DELAY', data: { seconds: 10 } },
        text('d'),
      ),
    );
    const error = onlyError(result);
    assert.equal(error.code, 'common-delay-too-long');
    assert.equal(error.path, '/response/3/data/seconds');
    assert.equal(
      error.message,
      "response[3].data.seconds would make this answer wait 3620 s in all; the limit is 30 s (the bot's limits.maxDelaySeconds)",
    );
    assert.deepEqual(
      result.items.map((i) => (i.kind === 'delay' ? i.seconds : i.kind)),
      ['text', 20, 'text', 'text', 10, 'text'],
    );
  });

  it('the total follows the bot’s own limit', () => {
    const result = parse(respond({ type: 'DELAY', data: { seconds: 5 } }, text('a')), 'MESSAGING', {
      maxItems: 50,
      maxDelaySeconds: 4,
    });
    assert.equal(onlyError(result).code, 'common-delay-too-long');
    assert.deepEqual(
      result.items.map((i) => i.kind),
      ['text'],
    );
  });
});

describe('answers over the item limit', () => {
  it('are refused whole, before any item is read', () => {
    const result = parse(respond(...Array.from({ length: 1000 }, (_, i) => text(`m${i}`))));
    const error = onlyError(result);
    assert.equal(error.code, 'common-too-many-items');
    assert.equal(error.path, '/response');
    assert.equal(error.message, "response has 1000 items; an answer may have at most 50 (the bot's limits.maxItems)");
    assert.equal(result.usable, false);
    assert.deepEqual(result.items, []);
  });

  it('exactly the limit is fine, one more is not', () => {
    const limits = { maxItems: 3, maxDelaySeconds: 30 };
    assert.equal(parse(respond(text('a'), text('b'), text('c')), 'MESSAGING', limits).usable, true);
    assert.equal(
      parse(respond(text('a'), text('b'), text('c'), text('d')), 'MESSAGING', limits).errors[0]?.code,
      'common-too-many-items',
    );
  });
});

describe('ACTION', () => {
  const actionOf = (name: unknown, parameters?: unknown) => parse(respond(text('a'), action(name, parameters)));
  const refused = (result: ParsedResponse, path: string, message?: RegExp) => {
    assertError(result, { code: 'common-invalid-action-body', path, index: 1, ...(message ? { message } : {}) });
    assert.equal(result.action, undefined);
    assert.equal(result.items.length, 1, 'the messages are still sent');
    assert.equal(result.usable, true);
  };

  describe('TRANSFER', () => {
    it('to a skill', () => {
      assert.deepEqual(actionOf('TRANSFER', { skillName: 'Billing' }).action, {
        name: 'TRANSFER',
        index: 1,
        skillName: 'Billing',
      });
    });
    it('to an agent', () => {
      assert.deepEqual(actionOf('TRANSFER', { agentId: '1234567' }).action, {
        name: 'TRANSFER',
        index: 1,
        agentId: '1234567',
      });
    });
    it('to an agent with the skill as fallback', () => {
      assert.deepEqual(actionOf('TRANSFER', { skillName: 'Billing', agentId: '1234567' }).action, {
        name: 'TRANSFER',
        index: 1,
        skillName: 'Billing',
        agentId: '1234567',
      });
    });
    it('to neither → refused at parameters', () => {
      refused(
        actionOf('TRANSFER', {}),
        '/response/1/data/parameters',
        /must name a "skillName", an "agentId" \(preferred agent\) or both$/,
      );
    });
    it('a skill name that is not a string → refused at skillName', () => {
      refused(
        actionOf('TRANSFER', { skillName: 12 }),
        '/response/1/data/parameters/skillName',
        /must be a non-empty string \(skill names are case-sensitive\), got 12$/,
      );
    });
    it('an empty agentId → refused at agentId', () => {
      refused(actionOf('TRANSFER', { skillName: 'Billing', agentId: '' }), '/response/1/data/parameters/agentId');
    });
    it('without parameters → refused', () => {
      refused(actionOf('TRANSFER'), '/response/1/data/parameters', /must be an object, got nothing$/);
    });
  });

  describe('CLOSE_CONVERSATION', () => {
    it('with no parameters at all', () => {
      assert.deepEqual(actionOf('CLOSE_CONVERSATION').action, {
        name: 'CLOSE_CONVERSATION',
        index: 1,
        withoutPcs: false,
      });
    });
    it('without the post-conversation survey', () => {
      assert.deepEqual(actionOf('CLOSE_CONVERSATION', { withoutPcs: true }).action, {
        name: 'CLOSE_CONVERSATION',
        index: 1,
        withoutPcs: true,
      });
    });
    it('withoutPcs as a string → refused', () => {
      refused(
        actionOf('CLOSE_CONVERSATION', { withoutPcs: 'true' }),
        '/response/1/data/parameters/withoutPcs',
        /must be true or false, got "true"$/,
      );
    });
  });

  describe('CHANGE_TTR', () => {
    for (const ttrType of ['URGENT', 'NORMAL', 'PRIORITIZED'] as const) {
      it(ttrType, () => {
        assert.deepEqual(actionOf('CHANGE_TTR', { ttrType }).action, { name: 'CHANGE_TTR', index: 1, ttrType });
      });
    }
    it('CUSTOM with "10" → 10 seconds', () => {
      assert.deepEqual(actionOf('CHANGE_TTR', { ttrType: 'CUSTOM', value: '10' }).action, {
        name: 'CHANGE_TTR',
        index: 1,
        ttrType: 'CUSTOM',
        value: 10,
      });
    });
    it('CUSTOM with 10 → 10 seconds', () => {
      assert.deepEqual(actionOf('CHANGE_TTR', { ttrType: 'CUSTOM', value: 10 }).action, {
        name: 'CHANGE_TTR',
        index: 1,
        ttrType: 'CUSTOM',
        value: 10,
      });
    });
    it('CUSTOM without value → refused at value', () => {
      refused(
        actionOf('CHANGE_TTR', { ttrType: 'CUSTOM' }),
        '/response/1/data/parameters/value',
        /is required when ttrType is "CUSTOM"/,
      );
    });
    for (const value of ['ten', '', ' 10', '1e3', 0, -5, 2.5, true]) {
      it(`CUSTOM with ${JSON.stringify(value)} → refused at value`, () => {
        refused(
          actionOf('CHANGE_TTR', { ttrType: 'CUSTOM', value }),
          '/response/1/data/parameters/value',
          /must be a whole number from 1 to 999999999 \(seconds; a string of digits too\)/,
        );
      });
    }
    it('a standard type ignores a stray value', () => {
      assert.deepEqual(actionOf('CHANGE_TTR', { ttrType: 'URGENT', value: 10 }).action, {
        name: 'CHANGE_TTR',
        index: 1,
        ttrType: 'URGENT',
      });
    });
    it('a lower-case type → refused at ttrType', () => {
      refused(
        actionOf('CHANGE_TTR', { ttrType: 'urgent' }),
        '/response/1/data/parameters/ttrType',
        /must be one of "URGENT", "NORMAL", "PRIORITIZED", "CUSTOM" \(case-sensitive\), got "urgent"$/,
      );
    });
  });

  describe('INVOKE_FUNCTION', () => {
    const lambdaUuid = '4f9c233a-e7e6-4af3-b680-59ba20ab8962';
    it('failOnError defaults to false', () => {
      assert.deepEqual(actionOf('INVOKE_FUNCTION', { lambdaUuid, payload: { message: 'hi' } }).action, {
        name: 'INVOKE_FUNCTION',
        index: 1,
        lambdaUuid,
        payload: { message: 'hi' },
        failOnError: false,
      });
    });
    it('failOnError true is kept', () => {
      const result = actionOf('INVOKE_FUNCTION', { lambdaUuid, payload: {}, failOnError: true });
      assert.equal(result.action?.name === 'INVOKE_FUNCTION' && result.action.failOnError, true);
    });
    it('a lambdaUuid that is not a UUID → refused', () => {
      refused(
        actionOf('INVOKE_FUNCTION', { lambdaUuid: 'my-function', payload: {} }),
        '/response/1/data/parameters/lambdaUuid',
        /must be the function's UUID/,
      );
    });
    it('a payload that is not an object → refused', () => {
      refused(actionOf('INVOKE_FUNCTION', { lambdaUuid, payload: ['a'] }), '/response/1/data/parameters/payload');
      refused(actionOf('INVOKE_FUNCTION', { lambdaUuid }), '/response/1/data/parameters/payload', /got nothing$/);
    });
    it('failOnError not a boolean → refused', () => {
      refused(
        actionOf('INVOKE_FUNCTION', { lambdaUuid, payload: {}, failOnError: 'yes' }),
        '/response/1/data/parameters/failOnError',
      );
    });
  });

  it('an unknown name → refused at name', () => {
    refused(
      actionOf('ESCALATE', {}),
      '/response/1/data/name',
      /must be one of "TRANSFER", "CLOSE_CONVERSATION", "CHANGE_TTR", "INVOKE_FUNCTION" \(case-sensitive\), got "ESCALATE"$/,
    );
  });

  it('no data → refused at data', () => {
    const result = parse(respond(text('a'), { type: 'ACTION' }));
    refused(result, '/response/1/data');
  });

  it('a second action → common-multiple-actions; the first is kept', () => {
    const result = parse(
      respond(action('CHANGE_TTR', { ttrType: 'URGENT' }), text('a'), action('TRANSFER', { skillName: 'sales' })),
    );
    const error = onlyError(result);
    assert.equal(error.code, 'common-multiple-actions');
    assert.equal(error.path, '/response/2');
    assert.equal(error.index, 2);
    assert.equal(
      error.message,
      'response[2] is a second ACTION; only one action per response is carried out, the CHANGE_TTR at response[0]',
    );
    assert.deepEqual(result.action, { name: 'CHANGE_TTR', index: 0, ttrType: 'URGENT' });
    assert.equal(result.items.length, 1);
  });

  it('an invalid action does not count: a later valid one is carried out', () => {
    const result = parse(respond(action('TRANSFER', {}), action('CLOSE_CONVERSATION', {})));
    assert.deepEqual(
      result.errors.map((e) => e.code),
      ['common-invalid-action-body'],
    );
    assert.deepEqual(result.action, { name: 'CLOSE_CONVERSATION', index: 1, withoutPcs: false });
  });
});

describe('analytics.intents', () => {
  it('are recorded', () => {
    const intents = [
      { id: 'agent-transfer', description: 'Custom Agent Transfer', confidenceScore: 1 },
      { id: 'base-transfer', description: 'Transfer', confidenceScore: 0 },
    ];
    const result = parse({ ...respond(text('a')), analytics: { intents } });
    assert.deepEqual(result.intents, intents);
    assert.deepEqual(result.errors, []);
  });

  it('invalid ones are dropped with common-invalid-intent and never make the response unusable', () => {
    const result = parse({
      ...respond(text('a')),
      analytics: {
        intents: [
          { id: 'has space', description: 'x', confidenceScore: 0.5 },
          { id: 'ok', description: 'fine', confidenceScore: 0.9, extra: true },
          { id: 'too-sure', description: 'x', confidenceScore: 1.2 },
          { id: 'no-description', confidenceScore: 0.3 },
          { id: '', description: 'x', confidenceScore: 0.3 },
          'greeting',
        ],
      },
    });
    assert.equal(result.usable, true);
    assert.deepEqual(result.intents, [{ id: 'ok', description: 'fine', confidenceScore: 0.9 }]);
    assert.deepEqual(
      result.errors.map((e) => [e.code, e.path, e.index]),
      [
        ['common-invalid-intent', '/analytics/intents/0/id', undefined],
        ['common-invalid-intent', '/analytics/intents/2/confidenceScore', undefined],
        ['common-invalid-intent', '/analytics/intents/3/description', undefined],
        ['common-invalid-intent', '/analytics/intents/4/id', undefined],
        ['common-invalid-intent', '/analytics/intents/5', undefined],
      ],
    );
    assert.equal(
      result.errors[1]!.message,
      'analytics.intents[2].confidenceScore must be a number from 0 to 1, got 1.2',
    );
  });

  it('a malformed analytics block is reported and ignored', () => {
    assertError(parse({ ...respond(text('a')), analytics: 'intents' }), {
      code: 'common-invalid-intent',
      path: '/analytics',
    });
    assertError(parse({ ...respond(text('a')), analytics: { intents: {} } }), {
      code: 'common-invalid-intent',
      path: '/analytics/intents',
    });
    assert.deepEqual(parse({ ...respond(text('a')), analytics: {} }).errors, []);
    assert.deepEqual(parse({ ...respond(text('a')), analytics: null }).errors, []);
  });
});

describe('parsing is pure', () => {
  it('the same body parses the same way twice and is not modified', () => {
    const body = {
      ...respond(text('a', { metadata: [{ type: 'ExternalId', id: '1' }] }), action('CLOSE_CONVERSATION')),
      analytics: { intents: [] },
    };
    const copy = structuredClone(body);
    assert.deepEqual(parse(body), parse(body));
    assert.deepEqual(body, copy);
  });
});

describe('error-code catalogue', () => {
  it('explains every code the parser and the connector emit, and nothing else', () => {
    assert.deepEqual(Object.keys(ERROR_CODES).sort(), [...PARSER_ERROR_CODES, ...CONNECTOR_ERROR_CODES].sort());
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      assert.ok(info.title.trim(), `${code}.title`);
      assert.ok(info.explanation.length > 40, `${code}.explanation`);
      assert.ok(info.fix.length > 40, `${code}.fix`);
    }
  });

  it('names the LivePerson codes the docs give', () => {
    for (const code of [
      'common-invalid-ai-vendor-response',
      'common-invalid-parsed-response',
      'common-invalid-structured-content-body',
      'common-no-quick-replies-support-chat',
    ]) {
      assert.ok(isErrorCode(code), code);
    }
    assert.equal(isErrorCode('no-such-code'), false);
  });
});

// Declared last, so it runs after every other test of this file (node:test runs them in order).
describe('codes produced by this suite', () => {
  it('are all in the catalogue, and cover every parser code', () => {
    for (const code of emitted) assert.ok(isErrorCode(code), `${code} is missing from ERROR_CODES`);
    assert.deepEqual(
      PARSER_ERROR_CODES.filter((code) => !emitted.has(code)),
      [],
      'parser codes no test produced',
    );
  });
});
