/**
 * `npm run crash`: kill -9 under load, on SQLite and on a throwaway PostgreSQL, and the figures
 * the README's Reliability section quotes: accepted / lost / never answered / duplicated.
 * Sizes: --conversations=N --messages=M --kills=K --seed=S --stores=sqlite,postgres;
 * --server-root=<checkout> runs another revision's server under the same load (before/after).
 */
import { crashUnderLoad, type CrashLoadReport } from '../test/helpers/crash-load.js';
import { freshStore, type StoreKind } from '../test/helpers/stores.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const number = (name: string, fallback: number) => (args.has(name) ? Number(args.get(name)) : fallback);
const options = {
  conversations: number('conversations', 200),
  messagesPerConversation: number('messages', 10),
  kills: number('kills', 3),
  seed: number('seed', 1),
  maxThinkMs: number('think', 400),
  delayEvery: number('delay-every', 5),
  serverRoot: args.get('server-root'),
};
const stores = (args.get('stores') ?? 'sqlite,postgres').split(',') as StoreKind[];

const rows: Array<[StoreKind, CrashLoadReport]> = [];
for (const kind of stores) {
  const store = await freshStore(kind);
  try {
    const started = Date.now();
    const report = await crashUnderLoad(store, { ...options, log: (line) => console.log(`[${kind}] ${line}`) });
    console.log(`[${kind}] done in ${((Date.now() - started) / 1000).toFixed(0)} s: ${JSON.stringify(report)}`);
    rows.push([kind, report]);
  } finally {
    await store.dispose();
  }
}

const columns: Array<keyof CrashLoadReport> = [
  'kills',
  'accepted',
  'unknown',
  'unknownKept',
  'lost',
  'neverAnswered',
  'duplicated',
  'outOfOrder',
  'escalated',
  'redelivered',
  'identityBroken',
  'botOutOfOrder',
];
console.log(
  `\n${options.conversations} conversations × ${options.messagesPerConversation} messages, seed ${options.seed}\n`,
);
console.log(`| store | ${columns.join(' | ')} |`);
console.log(`| --- | ${columns.map(() => '---:').join(' | ')} |`);
for (const [kind, report] of rows) console.log(`| ${kind} | ${columns.map((c) => report[c]).join(' | ')} |`);
process.exit(0);
