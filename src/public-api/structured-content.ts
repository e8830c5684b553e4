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
  const ajv = new Ajv({ allErrors: false, strict: false, validateFormats: true });
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
 * Ajv reports every failed branch of the templates' `oneOf`s; the deepest error is the one that
 * names the offending field, so that is the one worth showing.
 */
function describe(errors: ErrorObject[]): string {
  const deepest = [...errors].sort((a, b) => depth(b) - depth(a))[0];
  if (!deepest) return 'does not match any structured content template';
  const where = deepest.instancePath || '/';
  const extra = deepest.keyword === 'additionalProperties' ? ` ('${String(deepest.params.additionalProperty)}')` : '';
  return `${where} ${deepest.message ?? 'is invalid'}${extra}`;
}

function depth(error: ErrorObject): number {
  return error.instancePath.split('/').length;
}
