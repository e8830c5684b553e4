#!/usr/bin/env node
// `npx botbridge …`: the built CLI when the package is built (npm start builds it), else the
// source through tsx (a checkout that only ran npm install).
import { existsSync } from 'node:fs';

const built = new URL('../dist/src/cli/botbridge.js', import.meta.url);
const { main } = existsSync(built)
  ? await import(built.href)
  : await (async () => {
      const { register } = await import('tsx/esm/api');
      register();
      return import(new URL('../src/cli/botbridge.ts', import.meta.url).href);
    })();
process.exitCode = await main(process.argv.slice(2));
