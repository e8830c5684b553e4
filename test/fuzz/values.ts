import type { Rng } from './prng.js';

/**
 * Values for the fuzz: JSON built from a schema, the odd values a schema should refuse, and
 * payloads built as text (deep nesting, near-limit strings) so that making them costs the test
 * next to nothing — the server under test shares this process's event loop.
 */

export type Schema = Record<string, any>;

/** JSON text placed as it is: numbers JSON.stringify cannot write (1e400, -0, 2^63), deep nesting. */
export class Raw {
  constructor(readonly text: string) {}
}

/** Where a near-limit string goes; its size is settled once the rest of the body is written. */
export class Filler {
  constructor(readonly unit: string) {}
}

export const BODY_LIMIT = 1024 * 1024;
const FILLER_MARK = '\u0001FILLER\u0001';

/** JSON text of a value that may hold Raw pieces and one Filler. */
export function toJson(value: unknown): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Filler) return JSON.stringify(FILLER_MARK);
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJson(v)}`)
      .join(',')}}`;
  }
  return value === undefined ? 'null' : JSON.stringify(value);
}

/**
 * The body with its Filler grown until the whole is `targetBytes` long (as near as the unit's
 * width allows, never over when the target is under the limit).
 */
export function fillTo(json: string, unit: string, targetBytes: number): string {
  const marker = JSON.stringify(FILLER_MARK);
  const at = json.indexOf(marker);
  if (at < 0) return json;
  const rest = Buffer.byteLength(json) - Buffer.byteLength(marker) + 2;
  const unitBytes = Buffer.byteLength(JSON.stringify(unit)) - 2;
  const count = Math.max(0, Math.floor((targetBytes - rest) / unitBytes));
  const filler = JSON.stringify(unit).slice(1, -1).repeat(count);
  return `${json.slice(0, at)}"${filler}"${json.slice(at + marker.length)}`;
}

/** Nested `vertical` layouts around one text: the shape a rich-content template recurses in. */
export function deepStructuredContent(depth: number): Raw {
  return new Raw(
    `${'{"type":"vertical","elements":['.repeat(depth)}{"type":"text","text":"leaf"}${']}'.repeat(depth)}`,
  );
}

export function deepArray(depth: number): Raw {
  return new Raw(`${'['.repeat(depth)}0${']'.repeat(depth)}`);
}

export function deepObject(depth: number): Raw {
  return new Raw(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
}

/**
 * Mostly the full 10,000; the shallower ones tell "deep" apart from "very deep" in a failure,
 * and those under the server's nesting bound get past it into the code behind.
 */
export function nestingDepth(rng: Rng): number {
  return rng.weighted([
    [1, 8],
    [1, 20],
    [1, 30],
    [1, 64],
    [1, 1000],
    [1, 5000],
    [4, 10_000],
  ]);
}

export const NUMBER_EDGES: readonly string[] = [
  '0',
  '-0',
  '1',
  '-1',
  '0.5',
  '1.5',
  '-1.5',
  '1e-7',
  '1e-400',
  '127',
  '128',
  '255',
  '256',
  '32767',
  '32768',
  '65535',
  '65536',
  '2147483647',
  '2147483648',
  '-2147483648',
  '-2147483649',
  '4294967295',
  '4294967296',
  '9007199254740991',
  '9007199254740992',
  '-9007199254740993',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '-9223372036854775809',
  '18446744073709551615',
  '18446744073709551616',
  '123456789012345678901234567890',
  '1e15',
  '1e16',
  '1e20',
  '1e308',
  '-1e308',
  '1.7976931348623157e308',
  '1e309',
  '1e400',
  '-1e400',
];

/** Text that reads as a number to one parser and not to another. */
export const NUMBERISH_STRINGS: readonly string[] = [
  'NaN',
  'nan',
  'Infinity',
  '-Infinity',
  '+Infinity',
  '1e400',
  '-1e400',
  '0x1F',
  '0o17',
  '0b11',
  '1_000',
  ' 1',
  '1 ',
  '+1',
  '-0',
  '00',
  '01',
  '1.0',
  '1e3',
  '.5',
  '5.',
  '١٢٣',
  '１２３',
  '',
  ' ',
  'null',
  'true',
  'undefined',
  '[]',
  '{}',
  '2147483648',
  '9223372036854775808',
  '99999999999999999999',
  '-1',
  '4294967296',
];

/** Characters that trip encoders, collations, terminals and databases. */
export const UNICODE_ODDITIES: readonly string[] = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff',
  'x\udc00y',
  '\ud83d',
  '\ud800\ud800',
  '\ufffe',
  '\uffff',
  '\ufeff',
  '\u202e',
  'abc\u202edef',
  '\u200b',
  '\u200d',
  '\u2028',
  '\u2029',
  '\u0085',
  'e\u0301\u0301\u0301',
  '\u0308'.repeat(64),
  '😀',
  '👍🏽',
  '👨‍👩‍👧‍👦',
  '🏳️‍🌈',
  '𝕏𝕐',
  '𐀀',
  'ﷺ',
  'ß',
  'İ',
  'ǅ',
  'Ω',
  '\u1680',
  '\u3000',
  'مرحبا',
  'שלום',
  '日本語',
  '\r\n',
  '\t',
  '\x1b[31m',
  '\x7f',
  '\u0001\u0002',
  '\\',
  '"',
  "'",
  '`',
  '</script><script>alert(1)</script>',
  "' OR '1'='1",
  '"; DROP TABLE users; --',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, sent as it is
  '${jndi:ldap://127.0.0.1/a}',
  '{{7*7}}',
  '../../../../etc/passwd',
  '%00',
  '%ff',
  '%',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
];

/** Units for long strings: one byte, two, three, four, and a six-byte JSON escape. */
const FILLER_UNITS = ['x', 'é', '€', '😀', '\u0000', 'a\u202e'];

export function fillerUnit(rng: Rng): string {
  return rng.pick(FILLER_UNITS);
}

/** A body size around the 1 MiB limit: mostly just under it, some exactly at it, some just over. */
export function nearLimitSize(rng: Rng): { bytes: number; over: boolean } {
  return rng.weighted([
    [4, () => ({ bytes: BODY_LIMIT - rng.int(0, 200), over: false })],
    [2, () => ({ bytes: rng.int(64 * 1024, 768 * 1024), over: false })],
    [3, () => ({ bytes: BODY_LIMIT + rng.int(1, 4096), over: true })],
  ])();
}

/** Pieces of JSON text that no parser should take. */
export const MALFORMED_JSON: readonly string[] = [
  '{',
  '}',
  '[',
  '{"a":',
  '{"a":1,}',
  '{"a":1',
  "{'a':1}",
  '{a:1}',
  '{"a":1}{"b":2}',
  '{"a":1} x',
  'NaN',
  '{"a":NaN}',
  '{"a":Infinity}',
  '{"a":-}',
  '{"a":01}',
  '{"a":1.}',
  '{"a":.5}',
  '{"a":"\\x41"}',
  '{"a":"\\u12"}',
  '{"a":"\\ud800"}',
  '{"a":"line\nbreak"}',
  '{"a":"tab\there"}',
  '/* c */ {}',
  '{} // c',
  '\ufeff{}',
  'undefined',
  'nul',
  'tru',
  '"unterminated',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":{"__proto__":{"x":1}}}',
  '[1,2,,3]',
  '{"a" 1}',
  '{,}',
  '{"a":1 "b":2}',
  '{"":""}',
  '\u0000',
  ' ',
  '\n\n',
  '{"a":"b"}\u0000',
];

/** Bodies that are JSON, but not an object. */
export const NON_OBJECT_JSON: readonly string[] = [
  'null',
  'true',
  'false',
  '0',
  '-1',
  '1e400',
  '"a string"',
  '""',
  '[]',
  '[{}]',
  '[null]',
  '{}',
];

export const WRONG_CONTENT_TYPES: readonly (string | undefined)[] = [
  undefined,
  'text/plain',
  'text/plain; charset=utf-8',
  'application/xml',
  'text/html',
  'application/octet-stream',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'APPLICATION/JSON',
  'application/json;;;',
  'application/json; boundary=',
  'application/jsonx',
  'application/vnd.api+json',
  'application/problem+json',
  '*/*',
  'json',
  ';',
  'application/json, text/plain',
];

/** A value of a type other than the one given. */
export function wrongType(rng: Rng, current: unknown): unknown {
  const options: unknown[] = [
    new Raw(rng.pick(NUMBER_EDGES)),
    rng.pick(NUMBERISH_STRINGS),
    rng.pick(UNICODE_ODDITIES),
    true,
    false,
    null,
    [],
    {},
    [rng.word()],
    { [rng.word()]: rng.word() },
  ];
  const others = options.filter((o) => typeof o !== typeof current || Array.isArray(o) !== Array.isArray(current));
  return rng.pick(others.length ? others : options);
}

/** A random uuid-shaped string from the generator's own stream. */
export function uuid(rng: Rng): string {
  const h = rng.hex(32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Text as people and bots write it, now and then with an odd character in it. */
export function text(rng: Rng, min = 1, max = 40): string {
  const words = ['hello', 'order', 'refund', 'agent', 'please', 'status', 'help', 'bot', 'yes', 'no', 'thanks', 'ok'];
  let out = '';
  while (out.length < min) out += (out ? ' ' : '') + rng.pick(words);
  if (rng.chance(0.2)) out += rng.pick(UNICODE_ODDITIES);
  return out.slice(0, Math.max(min, max));
}

/** Small valid rich-content templates and quick replies (json-pollock's shapes). */
export function structuredContent(rng: Rng): Record<string, unknown> {
  const button = (title: string) => ({
    type: 'button',
    title,
    click: { actions: [{ type: 'publishText', text: title }] },
  });
  return rng.pick<() => Record<string, unknown>>([
    () => ({ type: 'text', text: text(rng) }),
    () => ({ type: 'vertical', elements: [{ type: 'text', text: 'Title' }, button('Go')] }),
    () => ({ type: 'horizontal', elements: [button('A'), button('B')] }),
    () => ({ type: 'image', url: 'https://127.0.0.1/a.png', caption: 'a' }),
    () => ({
      type: 'carousel',
      padding: 10,
      elements: [{ type: 'vertical', elements: [{ type: 'text', text: 'c1' }] }],
    }),
    () => ({ type: 'vertical', elements: [{ type: 'unknown-kind' }] }),
    () => ({ type: 'button', title: 5 }),
  ])();
}

export function quickReplies(rng: Rng): Record<string, unknown> {
  const reply = (t: string) => ({ type: 'button', title: t, click: { actions: [{ type: 'publishText', text: t }] } });
  return {
    quickReplies: {
      type: 'quickReplies',
      itemsPerRow: rng.int(0, 9),
      replies: Array.from({ length: rng.int(0, 26) }, (_, i) => reply(`r${i}`)),
    },
    message: text(rng),
  };
}

/** Any small JSON value: for schemas that say only "object", and for extra fields. */
export function anyJson(rng: Rng, depth = 0): unknown {
  const leaf = () =>
    rng.pick<() => unknown>([
      () => text(rng),
      () => new Raw(rng.pick(NUMBER_EDGES)),
      () => rng.chance(0.5),
      () => null,
      () => rng.pick(UNICODE_ODDITIES),
    ])();
  if (depth > 2 || rng.chance(0.4)) return leaf();
  if (rng.chance(0.5)) return Array.from({ length: rng.int(0, 3) }, () => anyJson(rng, depth + 1));
  return Object.fromEntries(
    Array.from({ length: rng.int(0, 3) }, () => [
      rng.chance(0.8) ? rng.word(1, 8) : rng.pick(UNICODE_ODDITIES),
      anyJson(rng, depth + 1),
    ]),
  );
}
