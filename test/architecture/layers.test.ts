import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What each part of src/ may import from the others. The SDK ships as its own package, so it
 * may use the shared vocabulary (contract/, util/) and nothing of the server; contract/ depends on
 * nobody; http/ is the HTTP edge every part uses, so it cannot depend on one of them (sentinel/).
 */
const RULES: Array<{ from: string; only?: string[]; never?: string[] }> = [
  { from: 'sdk', only: ['sdk', 'contract', 'util'] },
  // A bot like any other: the SDK's public entry (a file, where a rule names one), nothing deeper.
  { from: 'demo-bot', only: ['demo-bot', 'ops', 'sdk/custom-endpoint/index.ts', 'sdk/custom-endpoint/fastify.ts'] },
  { from: 'contract', only: ['contract', 'util'] },
  { from: 'util', only: ['util'] },
  { from: 'http', never: ['sentinel'] },
];

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** Every relative module a source file imports or re-exports, statically or dynamically. */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)['"](\.[^'"]+)['"]/gm)) found.push(m[1]);
  return found;
}

/** The top folder under src/ a file is in ('app.ts' at the root: ''). */
function partOf(file: string): string {
  const parts = relative(SRC, file).split(/[\\/]/);
  return parts.length > 1 ? parts[0] : '';
}

/** `from → to` for every import that breaks a rule. */
export function violations(files: Array<{ path: string; source: string }>): string[] {
  const found: string[] = [];
  for (const { path, source } of files) {
    const from = partOf(path);
    const rule = RULES.find((r) => r.from === from);
    if (!rule) continue;
    for (const specifier of importsOf(source)) {
      const target = resolve(dirname(path), specifier);
      if (!target.startsWith(SRC)) continue;
      const to = partOf(target);
      const file = relative(SRC, target).replace(/\\/g, '/').replace(/\.js$/, '.ts');
      if ((rule.only && !rule.only.includes(to) && !rule.only.includes(file)) || rule.never?.includes(to))
        found.push(`${relative(SRC, path)} imports ${specifier} (${from}/ → ${to || 'src root'}/)`);
    }
  }
  return found;
}

function sourcesUnder(dir: string): Array<{ path: string; source: string }> {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sourcesUnder(path);
    return /\.tsx?$/.test(name) ? [{ path, source: readFileSync(path, 'utf8') }] : [];
  });
}

describe('layers: what each part of src/ may import', () => {
  it('the rules hold for every source file', () => {
    const files = sourcesUnder(SRC);
    assert.ok(files.length > 100, 'the sources were found');
    assert.deepEqual(violations(files), []);
  });

  it('the check sees imports of every form, and reports one that breaks a rule', () => {
    const source = [
      "import { a } from '../../connector/index.js';",
      "import type { B } from '../../contract/index.js';",
      "export { c } from '../../util/json-bounds.js';",
      "const d = await import('../../store/index.js');",
      "import '../../platform/bus.js';",
    ].join('\n');
    assert.deepEqual(importsOf(source), [
      '../../connector/index.js',
      '../../contract/index.js',
      '../../util/json-bounds.js',
      '../../store/index.js',
      '../../platform/bus.js',
    ]);
    const sdkFile = join(SRC, 'sdk', 'custom-endpoint', 'made-up.ts');
    assert.deepEqual(violations([{ path: sdkFile, source }]), [
      'sdk/custom-endpoint/made-up.ts imports ../../connector/index.js (sdk/ → connector/)',
      'sdk/custom-endpoint/made-up.ts imports ../../store/index.js (sdk/ → store/)',
      'sdk/custom-endpoint/made-up.ts imports ../../platform/bus.js (sdk/ → platform/)',
    ]);
    const demoFile = join(SRC, 'demo-bot', 'made-up.ts');
    assert.deepEqual(
      violations([
        {
          path: demoFile,
          source:
            "import { a } from '../sdk/custom-endpoint/index.js';\nimport { b } from '../sdk/custom-endpoint/builders.js';",
        },
      ]),
      ['demo-bot/made-up.ts imports ../sdk/custom-endpoint/builders.js (demo-bot/ → sdk/)'],
    );
    const httpFile = join(SRC, 'http', 'made-up.ts');
    assert.deepEqual(violations([{ path: httpFile, source: "import { x } from '../sentinel/tokens.js';" }]), [
      'http/made-up.ts imports ../sentinel/tokens.js (http/ → sentinel/)',
    ]);
  });
});
