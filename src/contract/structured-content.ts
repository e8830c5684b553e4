import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { describeJsonLimit, exceededJsonLimit, type JsonLimitExceeded, type JsonLimits } from '../util/json-bounds.js';
import { fromPointer, isPlainObject, show, toPointer, valueAt } from '../util/json-location.js';

/**
 * LivePerson structured content (rich messaging templates) and quick replies, checked against
 * the schemas json-pollock ships — the ones its renderer enforces. Knows nothing about where the
 * content came from: the Custom Endpoint parser and the Public API both use it.
 */

/** One problem: `path` is a JSON Pointer into the value that was validated. */
export interface StructuredContentFinding {
  path: string;
  /** Reads after the location: "must be a string, got 5". */
  message: string;
}

export type StructuredContentVerdict =
  | { ok: true }
  /** `exceeded` when the content is over RICH_CONTENT_LIMITS: refused unread, the one finding says where. */
  | { ok: false; errors: StructuredContentFinding[]; exceeded?: JsonLimitExceeded };

export interface StructuredContentValidator {
  /** A rich-content template (`rich_content.json`: card, carousel, list, tabs…). */
  validate(content: unknown): StructuredContentVerdict;
  /** The `quickReplies` object: `{type: "quickReplies", itemsPerRow?, replies: [button…]}`. */
  validateQuickReplies(quickReplies: unknown): StructuredContentVerdict;
}

/**
 * How big rich content may be — a structured-content template, quick replies, a consumer's rich
 * message — checked before anything walks it recursively (schema validation, JSON.stringify, the
 * renderer). LivePerson documents no such limits; these are ours, set well above what
 * json-pollock's templates need:
 * - 24 levels of objects and arrays: json-pollock's deepest element, a checkbox's accessibility
 *   attributes in a list (list → sectionList → section → checklist → checkbox → click → actions →
 *   checked → accessibility → web), sits 14 levels down, which leaves five layouts (vertical,
 *   horizontal: two levels each, the object and its `elements`) to nest it in.
 * - 10,000 JSON values: json-pollock renders at most 50 elements by default
 *   (`maxAllowedElements`), and an element with a button and its actions is some 10 to 30 values.
 * - 256 KiB as JSON: a quarter of the 1 MiB request body, so one request can carry several; the
 *   longest fields json-pollock allows (a text, a template's title) are 5,000 characters.
 */
export const RICH_CONTENT_LIMITS = { maxDepth: 24, maxNodes: 10_000, maxTotalLength: 256 * 1024 } satisfies JsonLimits;

/** LivePerson's documented limits: 1–24 replies, at most 8 per row. */
export const QUICK_REPLIES_MAX_REPLIES = 24;
export const QUICK_REPLIES_MAX_ITEMS_PER_ROW = 8;

/** Enough to fix a template in one go without drowning the log. */
const MAX_FINDINGS = 10;

type SchemaNode = Record<string, unknown>;

/**
 * Compiles every json-pollock schema once; keep the result for the life of the process (a
 * compile takes far longer than a validation).
 */
export function createStructuredContentValidator(): StructuredContentValidator {
  const documents = loadJsonPollockSchemas();
  const choices = routeOneOfsByType(documents);
  // Strict, so a json-pollock upgrade with a schema Ajv would silently misread fails at start-up,
  // minus the two things its schemas legitimately do: tuple `items` without `additionalItems`,
  // and the non-standard `readonly` annotation.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictTuples: false, logger: false });
  addFormats.default(ajv);
  ajv.addVocabulary(['readonly']);
  // json-pollock's renderer ignores these two made-up formats; rejecting them would refuse
  // content LivePerson accepts.
  ajv.addFormat('color', true);
  ajv.addFormat('text', true);
  for (const [name, schema] of documents) ajv.addSchema(schema, name);

  const richContentSchema = documents.get('rich_content.json');
  if (!richContentSchema) throw new Error('json-pollock: rich_content.json not found');
  // LivePerson's table lists itemsPerRow as required, but it only lays the chips out; refusing a
  // whole message for a missing layout hint helps nobody, so it is optional here.
  const quickRepliesSchema: SchemaNode = {
    type: 'object',
    additionalProperties: false,
    required: ['type', 'replies'],
    properties: {
      type: { type: 'string', enum: ['quickReplies'] },
      itemsPerRow: { type: 'integer', minimum: 1, maximum: QUICK_REPLIES_MAX_ITEMS_PER_ROW },
      replies: { type: 'array', minItems: 1, maxItems: QUICK_REPLIES_MAX_REPLIES, items: { $ref: 'button.json' } },
    },
  };

  return {
    validate: checker(ajv.compile(richContentSchema), choices),
    validateQuickReplies: checker(ajv.compile(quickRepliesSchema), choices),
  };
}

function loadJsonPollockSchemas(): Map<string, SchemaNode> {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('json-pollock/package.json')), 'js', 'schema');
  const documents = new Map<string, SchemaNode>();
  // Schemas refer to each other by file name ("$ref": "card.json"), so the file name is the id.
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()) {
    documents.set(file, JSON.parse(readFileSync(join(dir, file), 'utf8')) as SchemaNode);
  }
  return documents;
}

function checker(validate: ValidateFunction, choices: Choices) {
  return (value: unknown): StructuredContentVerdict => {
    // Before Ajv: its generated code recurses once per level and its work grows with the
    // content, so only content of a bounded shape reaches it.
    const exceeded = exceededJsonLimit(value, RICH_CONTENT_LIMITS);
    if (exceeded) {
      return {
        ok: false,
        errors: [
          { path: exceeded.pointer, message: `${describeJsonLimit(exceeded)}, the most structured content may have` },
        ],
        exceeded,
      };
    }
    if (validate(value)) return { ok: true };
    return { ok: false, errors: explain(validate.errors ?? [], choices) };
  };
}

// ---------------------------------------------------------------------------------------------
// Choosing the element kind by its `type`.
//
// The templates are `oneOf`s of element kinds told apart by `type` ("text", "button",
// "vertical"…), and the layouts (vertical, horizontal) hold rich content again. Ajv checks a
// `oneOf` by trying every alternative, and with `allErrors` an alternative goes on checking the
// children even after the wrong `type` has failed it: every layout alternative re-validates the
// whole subtree, so the work grows as (alternatives)^(depth) — a dozen nested verticals took
// minutes. So at load, each `oneOf` (and `anyOf`) whose alternatives each take known `type`
// values, no two the same, is rewritten to let the data's `type` pick the one alternative that
// can match:
//
//   if   {type: object, required: [type], properties: {type: {type: string}}}
//   then {properties: {type: {enum: every type}},
//         allOf: [{if: {properties: {type: {enum: types of 1}}}, then: alternative 1}, …]}
//   else {oneOf: [the alternatives that take anything but an object with a string "type"]}
//
// Same verdict for every value: an alternative refuses any object whose `type` is a string it
// does not list, so for such an object the only alternative left is the one listing its type
// (were two to list it, the choice is left as it is), and for anything else only the
// alternatives that do not insist on a string `type` can match — in json-pollock those are
// text, image, button, map, linkPreview and template, which do not require one and hold no rich
// content, so that branch stays shallow too.
//
// The same structure makes the errors readable: Ajv now reports only the complaints of the kind
// the data's `type` names, an unknown type as one "must be one of …", and a missing type as one
// failed `else`, which is explained as "must have a type" rather than as every kind it is not.
// ---------------------------------------------------------------------------------------------

interface Choices {
  /** Every `oneOf`/`anyOf` node, rewritten or not → the `type` values it accepts (empty if it does not tell by type). */
  tags: Map<object, ReadonlySet<string>>;
  /** The nodes whose `oneOf`/`anyOf` became if/then/else. */
  rewritten: Set<object>;
  /** The `{enum: …}` checks of `type` the rewrite added. */
  typeChecks: Set<object>;
}

/**
 * Rewrites, in place, every `oneOf`/`anyOf` of `documents` whose alternatives each accept known
 * `type` values, no two the same; leaves the others as they are. Exported for the tests.
 */
export function routeOneOfsByType(documents: Map<string, SchemaNode>): Choices {
  const documentOf = new Map<object, SchemaNode>();
  const collect = (node: unknown, document: SchemaNode) => {
    if (Array.isArray(node)) for (const child of node) collect(child, document);
    if (!isPlainObject(node) || documentOf.has(node)) return;
    documentOf.set(node, document);
    for (const child of Object.values(node)) collect(child, document);
  };
  for (const document of documents.values()) collect(document, document);
  const resolve = (ref: string, from: SchemaNode): unknown => {
    const [file = '', fragment = ''] = ref.split('#');
    const document = file ? documents.get(file) : documentOf.get(from);
    if (!document) throw new Error(`structured content schema: unresolvable $ref ${ref}`);
    return fragment ? valueAt(document, fromPointer(fragment)) : document;
  };

  const choices: Choices = { tags: new Map(), rewritten: new Set(), typeChecks: new Set() };
  // Every plan is made on the schemas as shipped, before any of them changes shape.
  const plans = [...documentOf.keys()].flatMap((key) => {
    const node = key as SchemaNode;
    const keyword = Array.isArray(node.oneOf) ? 'oneOf' : Array.isArray(node.anyOf) ? 'anyOf' : undefined;
    if (!keyword) return [];
    const branches = node[keyword] as unknown[];
    const tags = branches.map((branch) => typeTags(branch, resolve));
    const all = new Set(tags.flatMap((t) => [...(t ?? [])]));
    choices.tags.set(node, all);
    const disjoint = tags.every((t) => t !== undefined) && all.size === tags.reduce((n, t) => n + t!.size, 0);
    if (!disjoint || ['if', 'then', 'else'].some((k) => k in node)) return [];
    const typeless = branches.filter((branch) => !demandsStringType(branch, resolve));
    return [{ node, keyword, branches, tags: tags as ReadonlySet<string>[], all, typeless }];
  });

  for (const { node, keyword, branches, tags, all, typeless } of plans) {
    const typeCheck = { enum: [...all] };
    delete node[keyword];
    node.if = { type: 'object', required: ['type'], properties: { type: { type: 'string' } } };
    node.then = {
      // Said again for Ajv's strict mode, which does not carry the type over from `if`.
      type: 'object',
      properties: { type: typeCheck },
      allOf: branches.map((branch, i) => ({ if: { properties: { type: { enum: [...tags[i]!] } } }, then: branch })),
    };
    // `not: {}` rather than an empty oneOf (which the meta-schema forbids): nothing matches.
    node.else = typeless.length ? { [keyword]: typeless } : { not: {} };
    choices.typeChecks.add(typeCheck);
    choices.rewritten.add(node);
  }
  return choices;
}

type Resolve = (ref: string, from: SchemaNode) => unknown;

/**
 * The `type` values a schema node can accept: it refuses every object whose `type` is a string
 * not among them. Undefined when that cannot be told from `properties.type`, `$ref`s, `allOf`
 * and `oneOf`/`anyOf`s whose every alternative tells.
 */
function typeTags(node: unknown, resolve: Resolve, visiting = new Set<unknown>()): ReadonlySet<string> | undefined {
  if (!isPlainObject(node) || visiting.has(node)) return undefined;
  visiting.add(node);
  try {
    const own = tagsOf(node);
    if (own) return own;
    const parts: unknown[] = [
      ...(typeof node.$ref === 'string' ? [resolve(node.$ref, node)] : []),
      ...(Array.isArray(node.allOf) ? node.allOf : []),
    ];
    for (const part of parts) {
      const tags = typeTags(part, resolve, visiting);
      if (tags) return tags;
    }
    for (const keyword of ['oneOf', 'anyOf']) {
      const branches = node[keyword];
      if (!Array.isArray(branches)) continue;
      const each = branches.map((branch) => typeTags(branch, resolve, visiting));
      if (each.some((tags) => tags === undefined)) return undefined;
      return new Set(each.flatMap((tags) => [...tags!]));
    }
    return undefined;
  } finally {
    visiting.delete(node);
  }
}

/** Whether a node refuses everything but an object with a string `type`. */
function demandsStringType(node: unknown, resolve: Resolve, visiting = new Set<unknown>()): boolean {
  if (!isPlainObject(node) || visiting.has(node)) return false;
  visiting.add(node);
  try {
    const required = Array.isArray(node.required) && node.required.includes('type');
    const properties = isPlainObject(node.properties) ? node.properties : {};
    const stringType =
      isPlainObject(properties.type) && (properties.type.type === 'string' || tagsOf(node) !== undefined);
    if (node.type === 'object' && required && stringType) return true;
    const parts: unknown[] = [
      ...(typeof node.$ref === 'string' ? [resolve(node.$ref, node)] : []),
      ...(Array.isArray(node.allOf) ? node.allOf : []),
    ];
    if (parts.some((part) => demandsStringType(part, resolve, visiting))) return true;
    for (const keyword of ['oneOf', 'anyOf']) {
      const branches = node[keyword];
      if (
        Array.isArray(branches) &&
        branches.length &&
        branches.every((branch) => demandsStringType(branch, resolve, visiting))
      )
        return true;
    }
    return false;
  } finally {
    visiting.delete(node);
  }
}

/** The `type` values a node's own `properties.type` allows. */
function tagsOf(node: SchemaNode): ReadonlySet<string> | undefined {
  const properties = node.properties;
  if (!isPlainObject(properties) || !isPlainObject(properties.type)) return undefined;
  const { enum: values, const: single } = properties.type;
  if (typeof single === 'string') return new Set([single]);
  if (Array.isArray(values) && values.length && values.every((v) => typeof v === 'string'))
    return new Set(values as string[]);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Making Ajv's errors readable: the complaints of the kind the data names, most specific first;
// where no kind could be chosen (no `type`, or one no kind takes), that in one sentence.
// ---------------------------------------------------------------------------------------------

function explain(errors: ErrorObject[], choices: Choices): StructuredContentFinding[] {
  const within = (path: string, base: string) => path === base || path.startsWith(`${base}/`);
  const tagsAt = (e: ErrorObject) => choices.tags.get(e.parentSchema as object) ?? new Set<string>();

  // No kind could be chosen without a string `type`, and the kinds that need none all failed:
  // one "must have a type" there, instead of each of them saying what the value is not. At one
  // spot the outermost (widest) choice speaks, with every type that would have been accepted.
  const untyped = errors
    .filter(
      (e) =>
        e.keyword === 'if' &&
        (e.params as { failingKeyword?: string }).failingKeyword === 'else' &&
        choices.rewritten.has(e.parentSchema as object),
    )
    .sort((a, b) => depth(a.instancePath) - depth(b.instancePath) || tagsAt(b).size - tagsAt(a).size);
  const spots: string[] = [];
  const choiceFindings: StructuredContentFinding[] = [];
  for (const error of untyped) {
    if (spots.some((spot) => within(error.instancePath, spot))) continue;
    spots.push(error.instancePath);
    choiceFindings.push(describeUnmatched(error.instancePath, error.data, tagsAt(error)));
  }
  const rest = errors.filter((e) => e.keyword !== 'if' && !spots.some((spot) => within(e.instancePath, spot)));

  // An unknown type: "must be one of …", after the complaints about fields, like the other choices.
  const isTypeCheck = (e: ErrorObject) => choices.typeChecks.has(e.parentSchema as object);
  const isChoice = (e: ErrorObject) => e.keyword === 'oneOf' || e.keyword === 'anyOf';
  const findings = rest.filter((e) => !isChoice(e) && !isTypeCheck(e)).map(describeError);
  choiceFindings.push(...rest.filter(isTypeCheck).map(describeError));
  // A choice not told apart by type (json-pollock's section elements) matched no alternative:
  // said once, unless the alternatives' own complaints already say where.
  for (const error of rest.filter(isChoice).sort((a, b) => depth(b.instancePath) - depth(a.instancePath))) {
    const base = error.instancePath;
    if ([...findings, ...choiceFindings].some((f) => within(f.path, base))) continue;
    const ambiguous =
      error.keyword === 'oneOf' && Array.isArray((error.params as { passingSchemas?: unknown }).passingSchemas);
    choiceFindings.push(
      ambiguous
        ? {
            path: base,
            message: 'matches more than one structured-content template; remove the properties that make it ambiguous',
          }
        : describeUnmatched(base, error.data, tagsAt(error)),
    );
  }
  findings.push(...choiceFindings);
  if (!findings.length) findings.push({ path: '', message: 'is not valid structured content' });

  const unique = new Map<string, StructuredContentFinding>();
  for (const f of findings) unique.set(`${f.path}\u0000${f.message}`, f);
  return [...unique.values()].sort((a, b) => depth(b.path) - depth(a.path)).slice(0, MAX_FINDINGS);
}

function depth(pointer: string): number {
  return pointer === '' ? 0 : pointer.split('/').length - 1;
}

function describeUnmatched(path: string, value: unknown, tags: ReadonlySet<string>): StructuredContentFinding {
  if (!tags.size) return { path, message: 'does not match any of the allowed shapes' };
  const choice =
    tags.size === 1 ? JSON.stringify([...tags][0]) : `one of ${[...tags].map((t) => JSON.stringify(t)).join(', ')}`;
  if (!isPlainObject(value))
    return { path, message: `must be an element object with a "type" (${choice}), got ${show(value)}` };
  if (value.type === undefined) return { path, message: `must have a "type", ${choice}` };
  return { path: `${path}/type`, message: `must be ${choice}, got ${show(value.type)}` };
}

function describeError(error: ErrorObject): StructuredContentFinding {
  const path = error.instancePath;
  const value: unknown = error.data;
  const params = error.params as Record<string, unknown>;
  const got = `got ${show(value)}`;
  // Named after the schema, not the data: a quick reply with `type: "text"` is still checked as a button.
  const tags = isPlainObject(error.parentSchema) ? tagsOf(error.parentSchema) : undefined;
  const kind = tags?.size === 1 ? ` ${JSON.stringify([...tags][0])} elements` : '';
  switch (error.keyword) {
    case 'type':
      return { path, message: `must be ${article(String(params.type))}, ${got}` };
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map((v) => show(v));
      return { path, message: `must be ${allowed.length === 1 ? allowed[0] : `one of ${allowed.join(', ')}`}, ${got}` };
    }
    case 'const':
      return { path, message: `must be ${show(params.allowedValue)}, ${got}` };
    case 'required':
      return {
        path,
        message: `must have a ${JSON.stringify(params.missingProperty)} property${kind ? ` (required for${kind})` : ''}`,
      };
    case 'additionalProperties':
      return {
        path: path + toPointer([String(params.additionalProperty)]),
        message: `is not an allowed property${kind ? ` of${kind}` : ' here'}`,
      };
    case 'maxLength':
    case 'minLength':
      return {
        path,
        message: `must be at ${error.keyword === 'maxLength' ? 'most' : 'least'} ${params.limit} characters long, got ${typeof value === 'string' ? value.length : show(value)}`,
      };
    case 'maxItems':
    case 'minItems':
      return {
        path,
        message: `must have at ${error.keyword === 'maxItems' ? 'most' : 'least'} ${params.limit} item${params.limit === 1 ? '' : 's'}, got ${Array.isArray(value) ? value.length : show(value)}`,
      };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path, message: `must be ${params.comparison} ${params.limit}, ${got}` };
    case 'format':
      return { path, message: `must be a valid ${params.format}, ${got}` };
    case 'pattern':
      return { path, message: `must match the pattern ${params.pattern}, ${got}` };
    default:
      return { path, message: `${error.message ?? 'is invalid'}, ${got}` };
  }
}

function article(type: string): string {
  const names = type
    .split(',')
    .map((t) => (t === 'integer' ? 'an integer' : t === 'object' || t === 'array' ? `an ${t}` : `a ${t}`));
  return names.join(' or ');
}
