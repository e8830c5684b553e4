import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Structured content (LivePerson's rich messaging templates) checked against json-pollock's own
 * schemas, the ones the consumer's renderer uses. Kept in this one module so a shared validator
 * can replace it later without touching the routes.
 */
export interface StructuredContentValidator {
  /** A rich-content card (root schema `rich_content.json`): undefined when valid, else why not. */
  richContent(content: unknown): string | undefined;
  /** Quick replies `{type: 'quickReplies', itemsPerRow?, replies: [button]}`. */
  quickReplies(quickReplies: unknown): string | undefined;
}

/** LivePerson limits: up to 24 quick replies, 1 to 8 per row. */
const quickRepliesSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { type: 'string', const: 'quickReplies' },
    itemsPerRow: { type: 'integer', minimum: 1, maximum: 8 },
    replies: { type: 'array', minItems: 1, maxItems: 24, items: { $ref: 'button.json' } },
  },
  required: ['type', 'replies'],
};

export function createStructuredContentValidator(): StructuredContentValidator {
  // The json-pollock renderer ignores formats it does not know ("color", "text"); so do we.
  const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: true, verbose: true });
  addFormats.default(ajv);
  ajv.addFormat('color', true);
  ajv.addFormat('text', true);
  const dir = schemaDir();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')), file);
  }
  const richContent = ajv.getSchema('rich_content.json')!;
  const quickReplies = ajv.compile(quickRepliesSchema);
  return {
    richContent: (content) => explain(richContent, content),
    quickReplies: (value) => explain(quickReplies, value),
  };
}

function schemaDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('json-pollock/package.json')), 'js', 'schema');
}

function explain(validate: ValidateFunction, value: unknown): string | undefined {
  if (validate(value)) return undefined;
  return describe(validate.errors ?? []);
}

/**
 * The templates are `oneOf`s keyed by `type`, and Ajv reports the first failure of every branch
 * it tried. Failures of branches made for another `type` are noise; of the rest, the deepest
 * names the offending field.
 */
function describe(errors: ErrorObject[]): string {
  const relevant = errors.filter((e) => !SUMMARY_KEYWORDS.has(e.keyword) && !isTypeMismatch(e) && !wrongBranch(e));
  const deepest = (list: ErrorObject[]) => [...list].sort((a, b) => depth(b) - depth(a))[0];
  const chosen = deepest(relevant);
  if (chosen) {
    const where = chosen.instancePath || '/';
    if (isObject(chosen.data) && !('type' in chosen.data) && typeProperty(chosen)) return `${where} has no 'type'`;
    const extra = chosen.keyword === 'additionalProperties' ? ` ('${String(chosen.params.additionalProperty)}')` : '';
    return `${where} ${chosen.message ?? 'is invalid'}${extra}`;
  }
  // Every branch was for another type: the element's type itself is what is wrong.
  const unmatched = deepest(errors);
  if (!unmatched) return 'does not match any structured content template';
  const onType = isTypeMismatch(unmatched);
  const where = (onType ? unmatched.instancePath.replace(/\/type$/, '') : unmatched.instancePath) || '/';
  const type = onType ? unmatched.data : isObject(unmatched.data) ? unmatched.data.type : undefined;
  return type === undefined ? `${where} has no 'type'` : `${where} has a type that is unknown or not allowed here: ${JSON.stringify(type)}`;
}

const SUMMARY_KEYWORDS = new Set(['oneOf', 'anyOf', 'if']);

/** A branch's `type` enum refusing the element's type: says which branch, not what is wrong. */
function isTypeMismatch(error: ErrorObject): boolean {
  return (error.keyword === 'enum' || error.keyword === 'const') && error.instancePath.endsWith('/type');
}

/** A failure reported by a branch whose `type` is not the element's. */
function wrongBranch(error: ErrorObject): boolean {
  if (!isObject(error.data) || typeof error.data.type !== 'string') return false;
  const typeSchema = typeProperty(error);
  if (!typeSchema) return false;
  if (typeSchema.enum) return !typeSchema.enum.includes(error.data.type);
  return 'const' in typeSchema && typeSchema.const !== error.data.type;
}

function typeProperty(error: ErrorObject): { enum?: unknown[]; const?: unknown } | undefined {
  return (error.parentSchema as { properties?: { type?: { enum?: unknown[]; const?: unknown } } } | undefined)?.properties?.type;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function depth(error: ErrorObject): number {
  return error.instancePath.split('/').length;
}
