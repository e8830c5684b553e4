#!/usr/bin/env node
// `npx botbridge [command]`: with no command (or `start`), the server as `npm start` runs it;
// otherwise the CLI (src/cli/botbridge.ts). In a checkout, the source through tsx (a dist/ left
// from an earlier build could be stale); an installed package ships only the built code.
import { existsSync } from 'node:fs';

const [command] = process.argv.slice(2);
const serving = command === undefined || command === 'start';
const built = new URL(`../dist/src/${serving ? 'main' : 'cli/botbridge'}.js`, import.meta.url);
const source = new URL(`../src/${serving ? 'main' : 'cli/botbridge'}.ts`, import.meta.url);
const load = async () => {
  if (!existsSync(source)) return import(built.href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(source.href);
};
if (serving) await load();
else process.exitCode = await (await load()).main(process.argv.slice(2));
