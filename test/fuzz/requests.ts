import { Rng } from './prng.js';
import {
  BODY_LIMIT,
  Filler,
  MALFORMED_JSON,
  NON_OBJECT_JSON,
  NUMBER_EDGES,
  NUMBERISH_STRINGS,
  Raw,
  UNICODE_ODDITIES,
  WRONG_CONTENT_TYPES,
  anyJson,
  deepArray,
  deepObject,
  deepStructuredContent,
  fillTo,
  fillerUnit,
  nearLimitSize,
  nestingDepth,
  quickReplies,
  structuredContent,
  text,
  toJson,
  uuid,
  wrongType,
  type Schema,
} from './values.js';

/**
 * Requests for every operation of the OpenAPI document, generated from its schemas and from
 * the state the test seeded (real ids and tokens, so most requests get past routing and
 * authentication). Request i depends only on (seed, i) and that state, never on the answers to
 * the requests before it, so a failure is made again from its seed and index.
 */

export interface Operation {
  method: string;
  /** OpenAPI form: /api/account/{acc}/consumer/conversations/{id}. */
  path: string;
  parameters: { name: string; in: string; required?: boolean; schema?: Schema }[];
  body?: Schema;
  /** WebSocket/SSE: only a short GET, closed once the answer has started. */
  stream: boolean;
}

export function operationsOf(doc: { paths: Record<string, Record<string, any>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
      ops.push({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content?.['application/json']?.schema,
        stream: path.endsWith('/stream'),
      });
    }
  }
  return ops;
}

/** The schema with every local `$ref` (#/components/schemas/X) written out, a few levels deep. */
export function inlineRefs(schema: unknown, components: Record<string, Schema>, depth = 0): any {
  if (Array.isArray(schema)) return schema.map((s) => inlineRefs(s, components, depth));
  if (!schema || typeof schema !== 'object') return schema;
  const ref = (schema as Schema).$ref;
  if (typeof ref === 'string') {
    const target = components[ref.replace('#/components/schemas/', '')];
    return depth > 6 || !target ? {} : inlineRefs(target, components, depth + 1);
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, inlineRefs(v, components, depth)]));
}

export interface SeededConversation {
  id: string;
  acc: string;
  token: string;
  /** Close routes may end it; the others stay open so later requests still reach deep code. */
  closable: boolean;
  /** Held by the account's seeded agent, so the agent's routes may work it. */
  agentHeld: boolean;
}

/** What the test seeded before fuzzing: the ids and credentials requests are made from. */
export interface World {
  acc: string;
  other: string;
  adminToken: string;
  skills: Record<string, string[]>;
  conversations: SeededConversation[];
  bots: { id: string; acc: string; deletable: boolean }[];
  jobs: { id: string; acc: string }[];
  agentTokens: Record<string, string>;
  apiBearers: Record<string, string>;
  appTokens: Record<string, string>;
  login: { username: string; password: string };
  app: { client_id: string; client_secret: string };
  userIds: string[];
  lambdaUuid: string;
  vendorBotId: string;
  /** Loopback only: every URL a request names is on this machine (the bot, a closed port). */
  botUrl: string;
  closedUrl: string;
}

export interface FuzzRequest {
  seed: number;
  index: number;
  op: Operation;
  method: string;
  /** Path and query as sent (already encoded). */
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** What the generator chose, for the failure message. */
  notes: string[];
  /** The body is over the 1 MiB limit: the server may answer 413 or close before reading it. */
  overLimit: boolean;
}

type Family = 'admin' | 'consumer' | 'agent' | 'api' | 'demo' | 'open';

function familyOf(op: Operation): Family {
  const p = op.path;
  if (p.startsWith('/admin/v1/')) return 'admin';
  if (p.startsWith('/demo-bot/')) return 'demo';
  if (p.startsWith('/api/v1/account/')) return 'api';
  if (/\/consumer\/conversations\/\{id\}/.test(p)) return 'consumer';
  if (/\/agent\//.test(p) && !p.endsWith('/login')) return 'agent';
  return 'open';
}

/**
 * The operation of request i: every operation once, in a shuffled order, per round of
 * `ops.length` requests, so each route gets its share however the count is cut.
 */
export function operationFor(seed: number, index: number, ops: Operation[]): Operation {
  const round = Math.floor(index / ops.length);
  const order = Rng.forIndex(seed ^ 0x5eed, round).shuffle(ops.map((_, i) => i));
  return ops[order[index % ops.length]];
}

/** Path segments no id looks like, already percent-encoded as they go on the wire. */
const GARBAGE_SEGMENTS: readonly string[] = [
  'x'.repeat(65),
  'x'.repeat(4000),
  '%00',
  'a%00b',
  '%',
  '%zz',
  '%E0%A4%A',
  '%ED%A0%80',
  '%ED%BF%BF',
  '%C0%AE',
  '%FF',
  '%FE%FF',
  '%F0%9F%98%80',
  '%E2%80%AE',
  '%EF%BB%BF',
  '..',
  '.',
  '%2E%2E',
  '%2F',
  'a%2Fb',
  '%5C',
  '%20',
  '+',
  ';',
  ';x=1',
  '2147483648',
  '-1',
  '0',
  '9223372036854775808',
  '1e400',
  'NaN',
  'Infinity',
  'null',
  'undefined',
  '__proto__',
  'constructor',
  'prototype',
  '%27%20OR%20%271%27%3D%271',
  '%24%7Bx%7D',
  '%3Cscript%3E',
  'SELECT%20*',
  '%C3%BC',
  '%0A',
  '%0D%0A',
  '%09',
  '~',
  '!',
  '*',
];

const encode = (value: string) => {
  try {
    return encodeURIComponent(value);
  } catch {
    // Lone surrogates have no UTF-8: send what a careless client would, the bytes of one.
    return Array.from(value, (ch) => (/[\ud800-\udfff]/.test(ch) ? '%ED%A0%80' : encodeURIComponent(ch))).join('');
  }
};

interface Ctx {
  rng: Rng;
  world: World;
  acc: string;
  notes: string[];
  /** Steer oneOf / if-then-else towards the branch holding structured content. */
  preferStructured: boolean;
  /**
   * Everything but the body right (ids, token, query), so a deep or near-limit body reaches the
   * code behind authentication instead of being refused at the door for something else.
   */
  focused: boolean;
  /** The method sent (a swapped one too): a DELETE never names the main bot. */
  method: string;
}

// ---------------------------------------------------------------------------------------------
// Values from schemas
// ---------------------------------------------------------------------------------------------

const ACCOUNT_PATTERN = '^[A-Za-z0-9_-]{1,32}$';

function loopbackUrl(ctx: Ctx): string {
  const { rng, world } = ctx;
  return rng.weighted([
    [10, world.botUrl],
    [3, world.closedUrl],
    [1, `${world.botUrl}/nested/path`],
    [1, world.botUrl.replace('http://', 'https://')],
    [1, 'http://127.0.0.1:99999'],
    [1, `http://user:pass@${world.closedUrl.slice('http://'.length)}`],
    [1, `${world.closedUrl}/%zz`],
    [1, 'http://[::1'],
    [1, 'ftp://127.0.0.1/x'],
    [1, 'file:///etc/passwd'],
    [1, 'http://'],
    [1, `${world.botUrl}/`],
  ]);
}

function generateString(ctx: Ctx, schema: Schema, name: string): string {
  const { rng, world } = ctx;
  const n = name.toLowerCase();
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 40, 40);
  const pad = (s: string) => (s.length < min ? s + 'x'.repeat(min - s.length) : s);
  if (schema.format === 'uuid' || n.includes('lambdauuid')) return rng.chance(0.5) ? world.lambdaUuid : uuid(rng);
  if (schema.format === 'uri' || n.includes('url')) return loopbackUrl(ctx);
  if (schema.pattern === ACCOUNT_PATTERN || n === 'accountid')
    return rng.chance(0.3) ? world.acc : `fz${rng.word(1, 12)}`;
  if (n === 'skill' || n === 'skills')
    return rng.chance(0.75) ? rng.pick(world.skills[ctx.acc] ?? world.skills[world.acc]) : pad(text(rng, 1, max));
  if (n === 'username' || n === 'loginname') return rng.chance(0.6) ? world.login.username : pad(rng.word(1, 16));
  if (n === 'password') return rng.chance(0.5) ? world.login.password : pad(rng.word(Math.max(1, min), 20));
  if (n === 'client_id' || n === 'clientid') return rng.chance(0.7) ? world.app.client_id : rng.word();
  if (n === 'client_secret' || n === 'clientsecret') return rng.chance(0.7) ? world.app.client_secret : rng.word(1, 40);
  if (n === 'botid')
    return rng.weighted([
      [6, world.vendorBotId],
      [1, 'maintenance'],
      [1, 'error'],
      [1, 'offline'],
      [1, rng.word(1, 36)],
    ]);
  if (n === 'environment')
    return rng.weighted([
      [4, 'draft'],
      [2, 'production'],
      [1, rng.word()],
    ]);
  if (n === 'agentid') return rng.chance(0.6) ? rng.pick(world.userIds) : rng.pick(NUMBERISH_STRINGS) || '1';
  if (n === 'conversationid') return rng.pick(world.conversations).id;
  if (n === 'encodedmetadata') return Buffer.from(rng.word(1, 30)).toString('base64');
  if (n === 'type' && schema.pattern)
    return rng.pick(['personal', 'ctmrinfo', 'purchase', 'customerInfo', 'lead', rng.word(1, 10)]);
  if (schema.pattern && /\[0-9\]/.test(schema.pattern) && !/A-Z/.test(schema.pattern)) return String(rng.int(1, 999));
  if (schema.pattern && /A-Za-z0-9-/.test(schema.pattern)) return rng.word(1, 20);
  return pad(text(rng, Math.max(1, min), Math.max(min, max)));
}

function generateNumber(ctx: Ctx, schema: Schema, integer: boolean): number {
  const { rng } = ctx;
  const lo = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
  const hi = schema.maximum ?? Math.max(lo + 1000, 1000);
  const inRange = integer
    ? rng.int(Math.ceil(lo), Math.floor(Math.min(hi, lo + 1_000_000)))
    : lo + rng.next() * (Math.min(hi, lo + 1000) - lo);
  return rng.weighted([
    [1, lo],
    [1, hi],
    [4, inRange],
  ]);
}

/** Whether a value satisfies a simple `if` (enum/const of properties, required). */
function matchesIf(schema: Schema, value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  const obj = value as Record<string, unknown>;
  if (schema.required && !schema.required.every((k: string) => k in obj)) return false;
  for (const [k, s] of Object.entries<Schema>(schema.properties ?? {})) {
    if (!(k in obj)) continue;
    if (s.enum && !s.enum.includes(obj[k])) return false;
    if ('const' in s && s.const !== obj[k]) return false;
  }
  return true;
}

function without(schema: Schema, ...keys: string[]): Schema {
  const out = { ...schema };
  for (const k of keys) delete out[k];
  return out;
}

/** A value the schema (mostly) accepts. */
export function generate(ctx: Ctx, schema: Schema | undefined, name = '', depth = 0): unknown {
  const { rng } = ctx;
  if (!schema || depth > 8) return anyJson(rng);
  if (schema.enum) return rng.pick(schema.enum);
  if ('const' in schema) return schema.const;
  if (schema.nullable && rng.chance(0.05)) return null;
  // Alternatives that are schemas of their own; a oneOf of bare `required` lists is the object's business.
  const branches =
    schema.anyOf ?? (schema.oneOf?.every((b: Schema) => b.type || b.properties) ? schema.oneOf : undefined);
  if (branches)
    return generate(ctx, { ...without(schema, 'anyOf', 'oneOf'), ...rng.pick<Schema>(branches) }, name, depth);
  // A discriminating if (on type or on a required key) picks the branch to generate from.
  if (schema.if && (schema.if.type || (schema.if.required && !schema.if.properties))) {
    const branch = ctx.preferStructured ? schema.else : rng.pick([schema.then, schema.else]);
    return generate(ctx, { ...without(schema, 'if', 'then', 'else'), ...branch }, name, depth);
  }
  const type = Array.isArray(schema.type) ? rng.pick(schema.type) : schema.type;
  switch (type) {
    case 'string':
      return generateString(ctx, schema, name);
    case 'integer':
      return generateNumber(ctx, schema, true);
    case 'number':
      return generateNumber(ctx, schema, false);
    case 'boolean':
      return rng.chance(0.5);
    case 'null':
      return null;
    case 'array': {
      const min = schema.minItems ?? 0;
      const count = rng.int(min, Math.max(min, Math.min(schema.maxItems ?? 3, 3)));
      const itemName = name.endsWith('s') ? name.slice(0, -1) : name;
      return Array.from({ length: count }, () => generate(ctx, schema.items, itemName, depth + 1));
    }
    default:
      if (type === undefined && !schema.properties) return anyJson(rng);
      return generateObject(ctx, schema, name, depth);
  }
}

function generateObject(ctx: Ctx, schema: Schema, name: string, depth: number): Record<string, unknown> {
  const { rng } = ctx;
  const n = name.toLowerCase();
  const props: Record<string, Schema> = schema.properties ?? {};
  if (!schema.properties) {
    if (n === 'structuredcontent')
      return rng.chance(0.3) && !ctx.preferStructured ? quickReplies(rng) : structuredContent(rng);
    if (n === 'content') return structuredContent(rng);
    if (n.endsWith('sdes'))
      return { ctmrinfo: { customerId: rng.word(), cstatus: 'gold' }, personal: { firstname: text(rng, 1, 10) } };
    return (anyJson(rng, 1) as Record<string, unknown>) ?? {};
  }
  let required: string[] = [...(schema.required ?? [])];
  let excluded: string[] = [];
  // oneOf of "required" alone (a message is a text, or content, or a file): exactly one of them.
  if (schema.oneOf?.every((b: Schema) => b.required && !b.type)) {
    const names: string[][] = schema.oneOf.map((b: Schema) => b.required);
    const chosen = ctx.preferStructured
      ? (names.find((r) => r.includes('content')) ?? rng.pick(names))
      : rng.pick(names);
    required = [...required, ...chosen];
    excluded = names.flat().filter((k) => !chosen.includes(k));
  }
  const out: Record<string, unknown> = {};
  for (const [key, sub] of Object.entries(props)) {
    if (excluded.includes(key)) continue;
    if (required.includes(key) || rng.chance(0.5) || (ctx.preferStructured && /content/i.test(key)))
      out[key] = generate(ctx, sub, key, depth + 1);
  }
  const minProps = schema.minProperties ?? 0;
  for (const key of Object.keys(props)) {
    if (Object.keys(out).length >= minProps) break;
    if (!(key in out)) out[key] = generate(ctx, props[key], key, depth + 1);
  }
  if (schema.if?.properties && schema.then?.required && matchesIf(schema.if, out)) {
    for (const key of schema.then.required) if (!(key in out)) out[key] = generate(ctx, props[key], key, depth + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mutations: the same value, wrong in one to three places
// ---------------------------------------------------------------------------------------------

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number; value: unknown };

function slotsOf(value: unknown, out: Slot[] = []): Slot[] {
  if (value instanceof Raw || value instanceof Filler || !value || typeof value !== 'object') return out;
  const entries: [string | number, unknown][] = Array.isArray(value) ? [...value.entries()] : Object.entries(value);
  for (const [key, inner] of entries) {
    out.push({ parent: value as Slot['parent'], key, value: inner });
    slotsOf(inner, out);
  }
  return out;
}

/** Sets a key on a plain object, `__proto__` included, as an own enumerable field. */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown) {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function mutate(ctx: Ctx, root: unknown): unknown {
  const { rng, notes } = ctx;
  const slots = slotsOf(root);
  const replaceRoot = !slots.length || rng.chance(0.08);
  const slot = replaceRoot ? undefined : rng.pick(slots);
  const kind = rng.weighted<string>([
    [4, 'drop'],
    [5, 'wrong-type'],
    [4, 'number-edge'],
    [3, 'numberish'],
    [4, 'unicode'],
    [3, 'long'],
    [4, 'extra-field'],
    [2, 'null'],
    [2, 'empty'],
    [2, 'many-items'],
  ]);
  const where = slot ? String(slot.key) : '<root>';
  notes.push(`${kind}@${where}`);
  const put = (value: unknown) => {
    if (!slot) return value;
    if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
    else setOwn(slot.parent, slot.key as string, value);
    return root;
  };
  const current = slot ? slot.value : root;
  switch (kind) {
    case 'drop':
      if (slot && !Array.isArray(slot.parent)) {
        delete slot.parent[slot.key as string];
        return root;
      }
      if (slot && Array.isArray(slot.parent)) {
        slot.parent.splice(slot.key as number, 1);
        return root;
      }
      return {};
    case 'wrong-type':
      return put(wrongType(rng, current));
    case 'number-edge':
      return put(new Raw(rng.pick(NUMBER_EDGES)));
    case 'numberish':
      return put(rng.pick(NUMBERISH_STRINGS));
    case 'unicode': {
      const odd = rng.pick(UNICODE_ODDITIES);
      return put(typeof current === 'string' && rng.chance(0.6) ? current + odd : odd);
    }
    case 'long':
      return put(rng.pick(['x', 'é', '😀']).repeat(rng.pick([33, 65, 129, 256, 257, 1025, 5001, 10_001, 65_537])));
    case 'extra-field': {
      const target = (
        slot?.value && typeof slot.value === 'object' && !Array.isArray(slot.value) && !(slot.value instanceof Raw)
          ? slot.value
          : root
      ) as Record<string, unknown>;
      if (!target || typeof target !== 'object' || Array.isArray(target) || target instanceof Raw)
        return put({ extra: 1 });
      const key = rng.pick([
        'extra',
        '__proto__',
        'constructor',
        'prototype',
        '',
        ' ',
        rng.pick(UNICODE_ODDITIES),
        'a'.repeat(300),
        rng.word(),
      ]);
      setOwn(target, key, key === 'constructor' ? { prototype: { polluted: true } } : anyJson(rng));
      return root;
    }
    case 'null':
      return put(null);
    case 'empty':
      return put(rng.pick<unknown>(['', [], {}]));
    case 'many-items':
      return put(
        Array.from({ length: rng.pick([51, 101, 1001, 5000]) }, () => (typeof current === 'string' ? current : 'x')),
      );
    default:
      return root;
  }
}

// ---------------------------------------------------------------------------------------------
// Deep nesting and near-limit sizes
// ---------------------------------------------------------------------------------------------

/** Fields whose schema takes any object: there nesting gets past validation into the code behind it. */
const FREE_FIELDS =
  /^(sdes|authenticatedSdes|unauthenticatedSdes|visitor|context|metadata|lpEvent|info|personal|ctmrinfo)$/;

/**
 * Puts deep nesting where it hurts: structured content slots first, then fields any object
 * fits, else any object, else the root.
 */
function deepen(ctx: Ctx, root: unknown): unknown {
  const { rng, notes } = ctx;
  const depth = nestingDepth(rng);
  const slots = slotsOf(root);
  const structured = slots.filter((s) => typeof s.key === 'string' && /^(content|structuredContent)$/.test(s.key));
  const free = slots.filter((s) => typeof s.key === 'string' && FREE_FIELDS.test(s.key));
  const objects = free.length && rng.chance(0.8) ? free : slots.filter((s) => s.value && typeof s.value === 'object');
  const shape = rng.weighted<'sc' | 'array' | 'object'>([
    [structured.length ? 6 : 1, 'sc'],
    [2, 'array'],
    [2, 'object'],
  ]);
  const deep = shape === 'sc' ? deepStructuredContent(depth) : shape === 'array' ? deepArray(depth) : deepObject(depth);
  const slot =
    shape === 'sc' && structured.length
      ? rng.pick(structured)
      : objects.length && rng.chance(0.7)
        ? rng.pick(objects)
        : undefined;
  notes.push(`deep-${shape}(${depth})@${slot ? String(slot.key) : '<root>'}`);
  if (!slot) return deep;
  if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = deep;
  else setOwn(slot.parent, slot.key as string, deep);
  return root;
}

/** A string field (or a new one) grown so the body lands near the 1 MiB limit. */
function enlarge(ctx: Ctx, root: unknown): { json: string; over: boolean } {
  const { rng, notes } = ctx;
  const unit = fillerUnit(rng);
  const { bytes, over } = nearLimitSize(rng);
  const strings = slotsOf(root).filter((s) => typeof s.value === 'string');
  const filler = new Filler(unit);
  let where = '<new field>';
  if (strings.length && rng.chance(0.8)) {
    const slot = rng.pick(strings);
    where = String(slot.key);
    if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = filler;
    else setOwn(slot.parent, slot.key as string, filler);
  } else if (root && typeof root === 'object' && !Array.isArray(root) && !(root instanceof Raw)) {
    setOwn(root as Record<string, unknown>, 'pad', filler);
  } else {
    root = { pad: filler };
  }
  notes.push(`near-limit ${bytes} bytes of ${JSON.stringify(unit)}@${where}`);
  return { json: fillTo(toJson(root), unit, bytes), over };
}

// ---------------------------------------------------------------------------------------------
// Whole requests
// ---------------------------------------------------------------------------------------------

function pathValue(ctx: Ctx, op: Operation, name: string): { value: string; conversation?: SeededConversation } {
  const { rng, world } = ctx;
  const garbage = () => rng.pick(GARBAGE_SEGMENTS);
  if (ctx.focused) return focusedPathValue(ctx, op, name);
  if (name === 'acc' || name === 'accountId') {
    return {
      value: rng.weighted<() => string>([
        [85, () => world.acc],
        [5, () => world.other],
        [3, () => 'nobody'],
        [7, garbage],
      ])(),
    };
  }
  if (op.path.includes('/bots/{id}')) {
    const candidates = world.bots.filter((b) => b.acc === ctx.acc && (ctx.method !== 'DELETE' || b.deletable));
    return {
      value: candidates.length && rng.chance(0.8) ? rng.pick(candidates).id : rng.chance(0.3) ? uuid(rng) : garbage(),
    };
  }
  if (name === 'jobId') {
    const jobs = world.jobs.filter((j) => j.acc === ctx.acc);
    return { value: jobs.length && rng.chance(0.75) ? rng.pick(jobs).id : rng.chance(0.3) ? uuid(rng) : garbage() };
  }
  if (name === 'botId')
    return {
      value: rng.weighted<() => string>([
        [6, () => world.vendorBotId],
        [2, () => rng.pick(['maintenance', 'error', 'offline'])],
        [2, garbage],
      ])(),
    };
  if (name === 'environment')
    return {
      value: rng.weighted<() => string>([
        [7, () => rng.pick(['draft', 'production'])],
        [3, garbage],
      ])(),
    };
  // A conversation id: `id` under /conversations/, `conversationId`, the demo bot's `convId`.
  const closing = op.path.endsWith('/close');
  const mine = world.conversations.filter((c) => c.acc === ctx.acc && (!closing || c.closable));
  const theirs = world.conversations.filter((c) => c.acc !== ctx.acc);
  const roll = rng.next();
  if (roll < 0.82 && mine.length) {
    const conversation = rng.pick(mine);
    return { value: conversation.id, conversation };
  }
  if (roll < 0.87 && theirs.length) {
    const conversation = rng.pick(theirs);
    return { value: conversation.id, conversation };
  }
  if (roll < 0.91) return { value: uuid(rng) };
  return { value: garbage() };
}

function focusedPathValue(ctx: Ctx, op: Operation, name: string): { value: string; conversation?: SeededConversation } {
  const { rng, world } = ctx;
  if (name === 'acc' || name === 'accountId') return { value: world.acc };
  if (op.path.includes('/bots/{id}'))
    return {
      value: rng.pick(world.bots.filter((b) => b.acc === world.acc && b.deletable === (ctx.method === 'DELETE'))).id,
    };
  if (name === 'jobId') return { value: rng.pick(world.jobs.filter((j) => j.acc === world.acc)).id };
  if (name === 'botId') return { value: world.vendorBotId };
  if (name === 'environment') return { value: 'draft' };
  const closing = op.path.endsWith('/close');
  const agent = familyOf(op) === 'agent';
  const candidates = world.conversations.filter(
    (c) => c.acc === world.acc && c.closable === closing && (!agent || c.agentHeld),
  );
  const conversation = rng.pick(
    candidates.length ? candidates : world.conversations.filter((c) => c.acc === world.acc),
  );
  return { value: conversation.id, conversation };
}

const GARBAGE_TOKENS: readonly string[] = [
  'x',
  'null',
  'undefined',
  'a.b.c',
  '...',
  'eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIiwiYWNjIjoiZnotYSJ9.',
  'eyJhbGciOiJIUzI1NiJ9.e30.',
  'x'.repeat(8000),
  '\xff\xfe\xfd',
  'Bearer',
  '%00',
  'a'.repeat(64),
];

/** A token that is wrong in a way a real client might get wrong: tampered, padded, shortened. */
function spoilt(rng: Rng, token: string): string {
  return rng.pick([
    () => token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA'),
    () => `${token}=`,
    () => token.slice(0, Math.floor(token.length / 2)),
    () => token.split('.').reverse().join('.'),
    () => `${token}.${token}`,
    () => token.replace(/[A-Za-z]/, (c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())),
  ])();
}

function tokenFor(family: Family, acc: string, world: World, conversation?: SeededConversation): string | undefined {
  switch (family) {
    case 'admin':
      return world.adminToken;
    case 'consumer':
      return conversation?.token ?? world.conversations.find((c) => c.acc === acc)?.token;
    case 'agent':
      return world.agentTokens[acc];
    case 'api':
      return world.apiBearers[acc];
    case 'demo':
      return world.appTokens[world.acc];
    default:
      return undefined;
  }
}

function authorization(
  ctx: Ctx,
  family: Family,
  conversation: SeededConversation | undefined,
): { header?: string; query?: string } {
  const { rng, world, notes } = ctx;
  const right = tokenFor(family, ctx.acc, world, conversation) ?? tokenFor(family, world.acc, world, conversation);
  const otherAcc = ctx.acc === world.acc ? world.other : world.acc;
  const kinds: Family[] = ['admin', 'consumer', 'agent', 'api', 'demo'];
  if (ctx.focused) return right ? { header: `Bearer ${right}` } : {};
  const choice = rng.weighted<string>([
    [right ? 75 : 10, 'right'],
    [7, 'none'],
    [8, 'garbage'],
    [5, 'other-account'],
    [5, 'wrong-kind'],
  ]);
  let token: string | undefined;
  switch (choice) {
    case 'right':
      token = right;
      break;
    case 'garbage':
      token = rng.chance(0.5) && right ? spoilt(rng, right) : rng.pick(GARBAGE_TOKENS);
      break;
    case 'other-account':
      token =
        family === 'consumer'
          ? world.conversations.find((c) => c.acc === otherAcc)?.token
          : tokenFor(family, otherAcc, world);
      break;
    case 'wrong-kind':
      token = tokenFor(rng.pick(kinds.filter((k) => k !== family)), ctx.acc, world);
      break;
  }
  notes.push(`auth:${choice}`);
  if (!token) return {};
  if (rng.chance(0.05)) return { query: token };
  if (rng.chance(0.9)) return { header: `Bearer ${token}` };
  return {
    header: rng.pick([
      `bearer ${token}`,
      `BEARER   ${token}  `,
      `Bearer ${token} extra`,
      `Basic ${Buffer.from(`a:${token}`).toString('base64')}`,
      token,
      'Bearer',
      `Bearer\t${token}`,
    ]),
  };
}

function queryValue(
  ctx: Ctx,
  name: string,
  schema: Schema | undefined,
  family: Family,
  conversation?: SeededConversation,
): string {
  const { rng, world } = ctx;
  const odd = () => encode(rng.pick([...NUMBERISH_STRINGS, ...UNICODE_ODDITIES]));
  const good = (): string => {
    if (schema?.enum && rng.chance(0.8)) return encode(String(rng.pick(schema.enum)));
    switch (name) {
      case 'after':
        return String(rng.pick([0, 1, 2, 5, 50, 2_147_483_647]));
      case 'token':
        return encode(tokenFor(family, ctx.acc, world, conversation) ?? rng.pick(GARBAGE_TOKENS));
      case 'v':
        return rng.pick(['1.0', '1.3', '1.2', '2']);
      case 'version':
        return rng.pick(['1.0', '2.0']);
      case 'limit':
        return String(ctx.focused ? rng.pick([1, 10, 1000]) : rng.pick([1, 10, 1000, 1001, 0]));
      case 'ttl':
        return String(ctx.focused ? rng.pick([10, 30, 120]) : rng.pick([10, 30, 120, 9, 121]));
      default:
        return encode(String(generate(ctx, schema, name)));
    }
  };
  if (ctx.focused) return good();
  return rng.weighted<() => string>([
    [6, good],
    [2, () => rng.pick(NUMBER_EDGES)],
    [2, odd],
    [1, () => rng.pick(GARBAGE_SEGMENTS)],
  ])();
}

function query(
  ctx: Ctx,
  op: Operation,
  family: Family,
  conversation: SeededConversation | undefined,
  tokenInQuery?: string,
): string {
  const { rng, notes } = ctx;
  const pairs: string[] = [];
  for (const p of op.parameters.filter((x) => x.in === 'query')) {
    if (p.name === 'token' && tokenInQuery) continue;
    if (!rng.chance(p.required ? 0.92 : 0.6)) continue;
    pairs.push(`${p.name}=${queryValue(ctx, p.name, p.schema, family, conversation)}`);
    if (!ctx.focused && rng.chance(0.05))
      pairs.push(`${p.name}=${queryValue(ctx, p.name, p.schema, family, conversation)}`);
  }
  if (tokenInQuery) pairs.push(`token=${encode(tokenInQuery)}`);
  if (ctx.focused) return pairs.length ? `?${pairs.join('&')}` : '';
  if (rng.chance(0.1))
    pairs.push(
      `${rng.pick(['extra', '__proto__', 'constructor', 'a[b]', 'a.b', '', 'x'.repeat(100)])}=${rng.pick(GARBAGE_SEGMENTS)}`,
    );
  if (rng.chance(0.03)) pairs.push(rng.pick(['%zz', '%', '&&&', '=', '==x', 'a=%E0%A4%A', '%00=%00']));
  if (rng.chance(0.01)) pairs.push(`long=${'y'.repeat(8000)}`);
  if (pairs.length) notes.push(`query(${pairs.length})`);
  return pairs.length ? `?${pairs.join('&')}` : '';
}

type BodyMode =
  | 'valid'
  | 'mutated'
  | 'deep'
  | 'near-limit'
  | 'malformed'
  | 'non-object'
  | 'empty'
  | 'content-type'
  | 'bad-utf8'
  | 'none';

/** Whether a schema has a field that takes any object (structured content, SDES, context...). */
function hasFreeObject(schema: unknown, depth = 0): boolean {
  if (!schema || typeof schema !== 'object' || depth > 8) return false;
  const s = schema as Schema;
  if (s.type === 'object' && !s.properties && depth > 0) return true;
  return Object.values(s).some((v) => hasFreeObject(v, depth + 1));
}

function bodyMode(rng: Rng, op: Operation): BodyMode {
  const hasSchema = op.body !== undefined;
  // Nesting is what the free-form fields must survive; elsewhere the schema refuses it at once.
  const deep = hasFreeObject(op.body) ? 20 : hasSchema ? 6 : 3;
  return rng.weighted<BodyMode>([
    [hasSchema ? 45 : 4, 'valid'],
    [hasSchema ? 28 : 4, 'mutated'],
    [deep, 'deep'],
    [hasSchema ? 6 : 2, 'near-limit'],
    [4, 'malformed'],
    [2, 'non-object'],
    [2, 'empty'],
    [4, 'content-type'],
    [1, 'bad-utf8'],
    [hasSchema ? 0 : 70, 'none'],
  ]);
}

function bodyFor(
  ctx: Ctx,
  op: Operation,
  mode: BodyMode,
): { body?: string | Buffer; contentType?: string; over: boolean } {
  const { rng, notes } = ctx;
  notes.push(`body:${mode}`);
  ctx.preferStructured = mode === 'deep';
  const value = () => generate(ctx, op.body ?? { type: 'object' }, 'body');
  const json = 'application/json';
  switch (mode) {
    case 'none':
      return { over: false };
    case 'valid':
      return { body: toJson(value()), contentType: json, over: false };
    case 'mutated': {
      let v = value();
      for (let i = rng.int(1, 2); i > 0; i--) v = mutate(ctx, v);
      return { body: toJson(v), contentType: json, over: false };
    }
    case 'deep':
      return { body: toJson(deepen(ctx, value())), contentType: json, over: false };
    case 'near-limit': {
      const { json: text, over } = enlarge(ctx, value());
      return { body: text, contentType: json, over };
    }
    case 'malformed':
      return { body: rng.pick(MALFORMED_JSON), contentType: json, over: false };
    case 'non-object':
      return { body: rng.pick(NON_OBJECT_JSON), contentType: json, over: false };
    case 'empty':
      return rng.chance(0.5)
        ? { body: rng.pick(['', ' ', '\n']), contentType: json, over: false }
        : { contentType: rng.chance(0.5) ? json : undefined, over: false };
    case 'content-type': {
      const contentType = rng.pick(WRONG_CONTENT_TYPES);
      const v = value();
      const form =
        v && typeof v === 'object' && !Array.isArray(v)
          ? Object.entries(v)
              .map(([k, x]) => `${encode(k)}=${encode(typeof x === 'string' ? x : toJson(x))}`)
              .join('&')
          : 'a=1';
      notes.push(`content-type:${contentType ?? '<none>'}`);
      return { body: contentType?.includes('form-urlencoded') ? form : toJson(v), contentType, over: false };
    }
    case 'bad-utf8': {
      const text = toJson(value());
      const cut = text.lastIndexOf('"') > 0 ? text.lastIndexOf('"') : text.length;
      const bytes = Buffer.concat([
        Buffer.from(text.slice(0, cut)),
        Buffer.from(rng.pick([[0xff], [0xc0, 0xae], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]])),
        Buffer.from(text.slice(cut)),
      ]);
      return { body: bytes, contentType: json, over: false };
    }
  }
}

export function makeRequest(seed: number, index: number, op: Operation, world: World): FuzzRequest {
  const rng = Rng.forIndex(seed, index);
  const notes: string[] = [];
  const ctx: Ctx = { rng, world, acc: world.acc, notes, preferStructured: false, focused: false, method: op.method };
  const family = familyOf(op);
  const mode = op.stream || op.method === 'GET' ? 'none' : bodyMode(rng, op);
  ctx.focused = (mode === 'deep' || mode === 'near-limit') && rng.chance(0.85);
  if (ctx.focused) notes.push('focused');
  if (op.stream) {
    ctx.method = 'GET';
  } else if (!ctx.focused && rng.chance(0.03)) {
    ctx.method = rng.pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => m !== op.method));
    notes.push(`method-swap:${ctx.method}`);
  }
  const method = ctx.method;

  let conversation: SeededConversation | undefined;
  const segments = op.path.replace(/\{(\w+)\}/g, (_m, name: string) => `{${name}}`);
  // The account first: the ids and tokens that follow are chosen for it.
  const accName = ['acc', 'accountId'].find((n) => segments.includes(`{${n}}`));
  const accValue = accName ? pathValue(ctx, op, accName).value : world.acc;
  ctx.acc = accValue === world.other ? world.other : world.acc;
  let path = segments.replace(/\{(\w+)\}/g, (_m, name: string) => {
    if (name === accName) return accValue;
    const chosen = pathValue(ctx, op, name);
    conversation ??= chosen.conversation;
    return chosen.value;
  });

  if (!ctx.focused && rng.chance(0.02)) {
    path += rng.pick(['/', '/x', '//', '/..', '/%2e%2e']);
    notes.push('path-suffix');
  }

  const auth = authorization(ctx, family, conversation);
  // ?token= is how browsers authenticate streams; elsewhere it must change nothing.
  const tokenInQuery =
    auth.query ??
    (op.stream && auth.header && !ctx.focused && rng.chance(0.3) ? auth.header.replace(/^Bearer /, '') : undefined);
  path += query(ctx, op, family, conversation, tokenInQuery);

  const headers: Record<string, string> = {};
  if (auth.header && !(op.stream && tokenInQuery && !auth.query)) headers.authorization = auth.header;
  // Past Node's 16 KiB of headers: refused by the HTTP parser, before any route.
  if (!ctx.focused && rng.chance(0.01)) {
    headers['x-pad'] = 'p'.repeat(17 * 1024);
    notes.push('headers over 16 KiB');
  }
  if (!ctx.focused && rng.chance(0.03))
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-looking id is one of the hostile values
    headers['x-request-id'] = rng.pick(['', 'x'.repeat(4000), '\xff\xfe', '../../x', '${x}', '1'.repeat(40)]);
  if (op.stream) {
    if (rng.chance(0.5)) headers.accept = 'text/event-stream';
    // Header values are bytes a client can send: printable ASCII only.
    if (rng.chance(0.3))
      headers['last-event-id'] = rng.pick(
        [...NUMBERISH_STRINGS, ...NUMBER_EDGES].filter((v) => /^[\x20-\x7e]*$/.test(v)),
      );
  }

  let body: string | Buffer | undefined;
  let overLimit = false;
  if (method !== 'GET') {
    const made = bodyFor(ctx, op, mode);
    body = made.body;
    overLimit = made.over;
    if (made.contentType) headers['content-type'] = made.contentType;
  }
  if (body !== undefined && Buffer.byteLength(body) > BODY_LIMIT) overLimit = true;
  return { seed, index, op, method, path, headers, body, notes, overLimit };
}

/** One line a person can read and a test can replay: route, index, what was chosen, the start of the body. */
export function describeRequest(request: FuzzRequest): string {
  const body =
    request.body === undefined ? '' : typeof request.body === 'string' ? request.body : request.body.toString('latin1');
  const shown =
    body.length > 300 ? `${body.slice(0, 200)}…(${Buffer.byteLength(body)} bytes)…${body.slice(-60)}` : body;
  const headers = Object.entries(request.headers)
    .map(([k, v]) => `${k}: ${v.length > 60 ? `${v.slice(0, 40)}…(${v.length})` : v}`)
    .join('; ');
  const path =
    request.path.length > 300 ? `${request.path.slice(0, 240)}…(${request.path.length} chars)` : request.path;
  return `[seed ${request.seed} #${request.index}] ${request.op.method} ${request.op.path} → ${request.method} ${path} {${headers}} [${request.notes.join(', ')}] ${JSON.stringify(shown)}`;
}
