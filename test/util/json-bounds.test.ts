import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeJsonLimit, exceededJsonLimit, type JsonLimits } from '../../src/util/json-bounds.js';
import { seeded } from '../helpers/random.js';

const roomy: JsonLimits = { maxDepth: Infinity, maxNodes: Infinity };

/** `depth` arrays (or objects under "a") inside one another, built without recursion. */
function nested(depth: number, kind: 'array' | 'object', innermost: unknown = 1): unknown {
  let value = innermost;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/** A small random JSON value from a seeded generator, escapes and surrogates included. */
function randomJson(random: () => number, depth = 0): unknown {
  const pick = Math.floor(random() * (depth > 4 ? 5 : 7));
  const strings = [
    '',
    'a',
    'é',
    'x"y',
    'back\\slash',
    'tab\tnl\n',
    '\u0001',
    '😀',
    '\ud800 lone',
    'a/b~c',
    '__proto__',
  ];
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return [0, -0, 1.5, -42, 1e21, 1e-7, 123456789][Math.floor(random() * 7)];
    case 3:
    case 4:
      return strings[Math.floor(random() * strings.length)];
    case 5:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 4); i > 0; i--)
        object[strings[Math.floor(random() * strings.length)]!] = randomJson(random, depth + 1);
      return object;
    }
  }
}

describe('exceededJsonLimit', () => {
  it('walks 100,000 nested arrays and objects without overflowing the stack', () => {
    for (const kind of ['array', 'object'] as const) {
      const deep = nested(100_000, kind);
      assert.equal(exceededJsonLimit(deep, roomy), undefined);
      assert.equal(exceededJsonLimit(deep, { maxDepth: 100_000, maxNodes: 100_001 }), undefined);
      assert.deepEqual(exceededJsonLimit(deep, { maxDepth: 99_999, maxNodes: Infinity }), {
        kind: 'depth',
        limit: 99_999,
        pointer: (kind === 'array' ? '/0' : '/a').repeat(99_999),
      });
    }
  });

  it('counts depth in containers: a scalar is 0, [] is 1', () => {
    assert.equal(exceededJsonLimit('text', { maxDepth: 0, maxNodes: 1 }), undefined);
    assert.deepEqual(exceededJsonLimit([], { maxDepth: 0, maxNodes: 1 }), { kind: 'depth', limit: 0, pointer: '' });
    assert.equal(exceededJsonLimit({ a: [1, { b: 2 }] }, { maxDepth: 3, maxNodes: Infinity }), undefined);
    assert.deepEqual(exceededJsonLimit({ a: [1, { b: 2 }] }, { maxDepth: 2, maxNodes: Infinity }), {
      kind: 'depth',
      limit: 2,
      pointer: '/a/1',
    });
  });

  it('counts every value, the root included, and points at the first one past the limit', () => {
    const value = { a: [1, 2], b: { c: null } };
    // {}, [], 1, 2, {}, null
    assert.equal(exceededJsonLimit(value, { maxDepth: 10, maxNodes: 6 }), undefined);
    assert.deepEqual(exceededJsonLimit(value, { maxDepth: 10, maxNodes: 5 }), {
      kind: 'nodes',
      limit: 5,
      pointer: '/b/c',
    });
    assert.deepEqual(exceededJsonLimit(value, { maxDepth: 10, maxNodes: 2 }), {
      kind: 'nodes',
      limit: 2,
      pointer: '/a/0',
    });
    const wide = Array.from({ length: 1_000_000 }, () => 0);
    assert.deepEqual(exceededJsonLimit(wide, { maxDepth: 10, maxNodes: 10_000 }), {
      kind: 'nodes',
      limit: 10_000,
      pointer: '/9999',
    });
  });

  it('measures strings and property names, a 1 MB one included', () => {
    const long = 'x'.repeat(1_000_000);
    const limits = { maxDepth: 10, maxNodes: 100, maxStringLength: 5000 };
    assert.deepEqual(exceededJsonLimit({ list: ['short', long] }, limits), {
      kind: 'string',
      limit: 5000,
      pointer: '/list/1',
    });
    assert.deepEqual(exceededJsonLimit({ ok: 1, [long]: 1 }, limits), {
      kind: 'string',
      limit: 5000,
      pointer: `/${long}`,
    });
    assert.equal(exceededJsonLimit({ text: 'x'.repeat(5000) }, limits), undefined);
    assert.deepEqual(exceededJsonLimit(long, { maxDepth: 0, maxNodes: 1, maxTotalLength: 256 * 1024 }), {
      kind: 'size',
      limit: 256 * 1024,
      pointer: '',
    });
  });

  it('measures size as the length of JSON.stringify, escapes and surrogates included', () => {
    const random = seeded(20240611);
    for (let i = 0; i < 2000; i++) {
      const value = randomJson(random);
      const length = JSON.stringify(value).length;
      assert.equal(exceededJsonLimit(value, { ...roomy, maxTotalLength: length }), undefined, JSON.stringify(value));
      assert.equal(
        exceededJsonLimit(value, { ...roomy, maxTotalLength: length - 1 })?.kind,
        'size',
        JSON.stringify(value),
      );
    }
  });

  it('points at the value whose text crosses the size', () => {
    const value = { a: 'xxxx', b: ['yyyy', 'zzzz'] };
    // {"a":"xxxx","b":["yyyy","zzzz"]} — the second array item ends at 31 of 32 characters.
    assert.deepEqual(exceededJsonLimit(value, { ...roomy, maxTotalLength: 30 }), {
      kind: 'size',
      limit: 30,
      pointer: '/b/1',
    });
    assert.deepEqual(exceededJsonLimit(value, { ...roomy, maxTotalLength: 10 }), {
      kind: 'size',
      limit: 10,
      pointer: '/a',
    });
  });

  it('escapes property names in pointers (RFC 6901)', () => {
    assert.deepEqual(exceededJsonLimit({ 'a/b': { '~c': [[]] } }, { maxDepth: 3, maxNodes: 100 }), {
      kind: 'depth',
      limit: 3,
      pointer: '/a~1b/~0c/0',
    });
  });

  it('reports the first limit in document order', () => {
    const value = { deep: [[[1]]], long: 'x'.repeat(100) };
    assert.equal(exceededJsonLimit(value, { maxDepth: 3, maxNodes: 100, maxStringLength: 10 })?.kind, 'depth');
    assert.equal(exceededJsonLimit(value, { maxDepth: 4, maxNodes: 100, maxStringLength: 10 })?.kind, 'string');
  });

  it('says what was exceeded in words', () => {
    assert.equal(
      describeJsonLimit({ kind: 'depth', limit: 24, pointer: '/a' }),
      'is nested deeper than 24 levels of objects and arrays',
    );
    assert.equal(describeJsonLimit({ kind: 'nodes', limit: 10, pointer: '' }), 'is past the limit of 10 JSON values');
    assert.equal(
      describeJsonLimit({ kind: 'string', limit: 5, pointer: '' }),
      'holds a string longer than 5 characters',
    );
    assert.equal(
      describeJsonLimit({ kind: 'size', limit: 100, pointer: '' }),
      'is past the limit of 100 characters of JSON',
    );
  });
});
