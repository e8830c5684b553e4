import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fromPointer, isPlainObject, show, toPointer, valueAt } from './location.js';

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

export type StructuredContentVerdict = { ok: true } | { ok: false; errors: StructuredContentFinding[] };

export interface StructuredContentValidator {
  /** A rich-content template (`rich_content.json`: card, carousel, list, tabs…). */
  validate(content: unknown): StructuredContentVerdict;
  /** The `quickReplies` object: `{type: "quickReplies", itemsPerRow?, replies: [button…]}`. */
  validateQuickReplies(quickReplies: unknown): StructuredContentVerdict;
}

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

  const index = indexSchemas(documents, [quickRepliesSchema]);
  const richContent = checker(ajv.compile(richContentSchema), richContentSchema, index);
  const quickReplies = checker(ajv.compile(quickRepliesSchema), quickRepliesSchema, index);
  return { validate: richContent, validateQuickReplies: quickReplies };
}

function loadJsonPollockSchemas(): Map<string, SchemaNode> {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('json-pollock/package.json')), 'js', 'schema');
  const documents = new Map<string, SchemaNode>();
  // Schemas refer to each other by file name ("$ref": "card.json"), so the file name is the id.
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    documents.set(file, JSON.parse(readFileSync(join(dir, file), 'utf8')) as SchemaNode);
  }
  return documents;
}

function checker(validate: ValidateFunction, entry: SchemaNode, schemas: SchemaIndex) {
  return (value: unknown): StructuredContentVerdict => {
    if (validate(value)) return { ok: true };
    return { ok: false, errors: explain(validate.errors ?? [], value, entry, schemas) };
  };
}

// ---------------------------------------------------------------------------------------------
// Making Ajv's errors readable.
//
// The templates are `oneOf`s of element kinds told apart by `type` ("text", "button",
// "vertical"…). For an invalid element Ajv reports the failure of every kind it tried — hundreds
// of errors, nearly all saying "this is not an image", "this is not a map". What a bot developer
// needs is the complaint of the kind their `type` names or, when `type` names no kind allowed
// there, that fact. So after a failed validation the content is walked along the schemas once
// more, entering at each `oneOf` only the alternatives whose `type` matches the data; Ajv's
// errors are kept only where that walk went. A `oneOf` where no alternative matched becomes one
// "type must be one of …".
// ---------------------------------------------------------------------------------------------

interface SchemaIndex {
  documents: Map<string, SchemaNode>;
  /** The `type` values a schema node accepts, through `$ref`s and nested `oneOf`s; empty if it does not discriminate. */
  tags: Map<object, ReadonlySet<string>>;
  /** The document each node lives in, for resolving `$ref`s. */
  documentOf: Map<object, SchemaNode>;
}

function indexSchemas(documents: Map<string, SchemaNode>, extra: SchemaNode[]): SchemaIndex {
  const index: SchemaIndex = { documents, tags: new Map(), documentOf: new Map() };
  const collect = (node: unknown, document: SchemaNode) => {
    if (Array.isArray(node)) for (const child of node) collect(child, document);
    if (!isPlainObject(node) || index.documentOf.has(node)) return;
    index.documentOf.set(node, document);
    for (const child of Object.values(node)) collect(child, document);
  };
  for (const document of [...documents.values(), ...extra]) collect(document, document);
  for (const node of index.documentOf.keys()) index.tags.set(node, acceptedTags(node, index, new Set()));
  return index;
}

function acceptedTags(node: unknown, index: SchemaIndex, seen: Set<unknown>): ReadonlySet<string> {
  if (!isPlainObject(node) || seen.has(node)) return new Set();
  seen.add(node);
  const own = tagsOf(node);
  if (own) return own;
  const tags = new Set<string>();
  const add = (child: unknown) => {
    for (const tag of acceptedTags(child, index, seen)) tags.add(tag);
  };
  if (typeof node.$ref === 'string') add(resolveRef(node.$ref, node, index));
  for (const keyword of ['oneOf', 'anyOf']) {
    const branches = node[keyword];
    if (Array.isArray(branches)) branches.forEach(add);
  }
  return tags;
}

function tagsOf(node: SchemaNode): ReadonlySet<string> | undefined {
  const properties = node.properties;
  if (!isPlainObject(properties) || !isPlainObject(properties.type)) return undefined;
  const { enum: values, const: single } = properties.type;
  if (typeof single === 'string') return new Set([single]);
  if (Array.isArray(values) && values.length && values.every((v) => typeof v === 'string')) return new Set(values as string[]);
  return undefined;
}

function resolveRef(ref: string, from: SchemaNode, index: SchemaIndex): unknown {
  const [file = '', fragment = ''] = ref.split('#');
  const document = file ? index.documents.get(file) : index.documentOf.get(from);
  if (!document) throw new Error(`structured content schema: unresolvable $ref ${ref}`);
  return fragment ? valueAt(document, fromPointer(fragment)) : document;
}

/** Every (schema node, data location) pair the type-guided walk reaches. */
function guidedWalk(entry: SchemaNode, data: unknown, index: SchemaIndex): Map<object, Set<string>> {
  const reached = new Map<object, Set<string>>();
  const walk = (node: unknown, value: unknown, path: string): void => {
    if (!isPlainObject(node)) return;
    const spots = reached.get(node) ?? new Set<string>();
    if (spots.has(path)) return;
    spots.add(path);
    reached.set(node, spots);
    const here = (child: unknown) => walk(child, value, path);
    const into = (child: unknown, key: string | number) =>
      walk(child, (value as Record<string | number, unknown>)[key], path + toPointer([key]));

    if (typeof node.$ref === 'string') here(resolveRef(node.$ref, node, index));
    for (const keyword of ['oneOf', 'anyOf']) {
      const branches = node[keyword];
      if (!Array.isArray(branches)) continue;
      const type = isPlainObject(value) ? value.type : undefined;
      for (const branch of branches) {
        const tags = index.tags.get(branch as object);
        if (!tags?.size || (typeof type === 'string' && tags.has(type))) here(branch);
      }
    }
    if (Array.isArray(node.allOf)) node.allOf.forEach(here);
    for (const keyword of ['not', 'if', 'then', 'else']) here(node[keyword]);

    if (isPlainObject(value)) {
      const properties = isPlainObject(node.properties) ? node.properties : {};
      const patterns = isPlainObject(node.patternProperties) ? Object.entries(node.patternProperties) : [];
      for (const key of Object.keys(value)) {
        let matched = false;
        if (Object.hasOwn(properties, key)) (matched = true), into(properties[key], key);
        for (const [pattern, child] of patterns) if (new RegExp(pattern, 'u').test(key)) (matched = true), into(child, key);
        if (!matched) into(node.additionalProperties, key);
      }
    }
    if (Array.isArray(value)) {
      const tuple = Array.isArray(node.items) ? node.items : undefined;
      value.forEach((_, i) => {
        if (tuple) into(i < tuple.length ? tuple[i] : node.additionalItems, i);
        else into(node.items, i);
        into(node.contains, i);
      });
    }
  };
  walk(entry, data, '');
  return reached;
}

function isChoice(error: ErrorObject): boolean {
  return error.keyword === 'oneOf' || error.keyword === 'anyOf';
}

function explain(errors: ErrorObject[], data: unknown, entry: SchemaNode, index: SchemaIndex): StructuredContentFinding[] {
  const reached = guidedWalk(entry, data, index);
  const counts = (e: ErrorObject) => reached.get(e.parentSchema as object)?.has(e.instancePath) ?? false;
  const findings = errors.filter((e) => !isChoice(e) && counts(e)).map(describeError);
  const choices = errors
    .filter((e) => isChoice(e) && counts(e))
    .map((e) => ({ error: e, tags: index.tags.get(e.parentSchema as object) ?? new Set<string>() }))
    // Deepest first, and at one spot the widest choice first: nested oneOfs (a card inside
    // rich content) are reported once, with every type that would have been accepted.
    .sort((a, b) => depth(b.error.instancePath) - depth(a.error.instancePath) || b.tags.size - a.tags.size);
  for (const { error, tags } of choices) {
    const base = error.instancePath;
    if (findings.some((f) => f.path === base || f.path.startsWith(base + '/'))) continue;
    findings.push(describeUnmatched(error, tags));
  }
  if (!findings.length) findings.push({ path: '', message: 'is not valid structured content' });

  const unique = new Map<string, StructuredContentFinding>();
  for (const f of findings) unique.set(`${f.path}\u0000${f.message}`, f);
  return [...unique.values()].sort((a, b) => depth(b.path) - depth(a.path)).slice(0, MAX_FINDINGS);
}

function depth(pointer: string): number {
  return pointer === '' ? 0 : pointer.split('/').length - 1;
}

function describeUnmatched(error: ErrorObject, tags: ReadonlySet<string>): StructuredContentFinding {
  const path = error.instancePath;
  const value: unknown = error.data;
  if (error.keyword === 'oneOf' && Array.isArray((error.params as { passingSchemas?: unknown }).passingSchemas)) {
    return { path, message: 'matches more than one structured-content template; remove the properties that make it ambiguous' };
  }
  const list = [...tags].map((t) => JSON.stringify(t)).join(', ');
  if (!tags.size) return { path, message: 'does not match any of the allowed shapes' };
  if (!isPlainObject(value)) return { path, message: `must be an element object with a "type" (one of ${list}), got ${show(value)}` };
  if (value.type === undefined) return { path, message: `must have a "type", one of ${list}` };
  return { path: `${path}/type`, message: `must be one of ${list}, got ${show(value.type)}` };
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
      return { path, message: `must have a ${JSON.stringify(params.missingProperty)} property${kind ? ` (required for${kind})` : ''}` };
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
  const names = type.split(',').map((t) => (t === 'integer' ? 'an integer' : t === 'object' || t === 'array' ? `an ${t}` : `a ${t}`));
  return names.join(' or ');
}
