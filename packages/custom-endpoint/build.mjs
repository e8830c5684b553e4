// Builds the package from the repository's sources (src/sdk/custom-endpoint and what it imports:
// src/contract, src/util — the layer test keeps it to those) into dist/, with declaration files,
// and copies the contract file the validator reads at run time (and its errata) next to it.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
rmSync(`${here}dist`, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', `${here}tsconfig.json`], { stdio: 'inherit' });
mkdirSync(`${here}contracts`, { recursive: true });
for (const file of ['custom-endpoint-v1.openapi.json', 'ERRATA.md'])
  cpSync(`${here}../../contracts/${file}`, `${here}contracts/${file}`);
