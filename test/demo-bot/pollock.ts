import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * json-pollock's own schemas (the consumer renderer's), loaded for the tests: `card` checks a
 * rich-content template (root `rich_content.json`), `button` a single quick reply.
 */
export function pollockSchemas(): { richContent: ValidateFunction; button: ValidateFunction } {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats.default(ajv);
  // Formats the renderer defines for itself and does not check either.
  ajv.addFormat('color', true);
  ajv.addFormat('text', true);
  const dir = join(dirname(createRequire(import.meta.url).resolve('json-pollock/package.json')), 'js', 'schema');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    ajv.addSchema(JSON.parse(readFileSync(join(dir, file), 'utf8')), file);
  }
  return { richContent: ajv.getSchema('rich_content.json')!, button: ajv.getSchema('button.json')! };
}
