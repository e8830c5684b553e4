/**
 * `npm run nemesis`: faults against a three-instance cluster on a throwaway PostgreSQL under steady
 * consumer load (test/helpers/nemesis.ts), one row per fault. Exits 1 when any row misses a target:
 * nothing lost, unanswered, answered twice or out of order, no instance exiting by itself, no stale
 * delivery to the bot; kill/pause/cut taken over within the lease + 6 s with the other instances
 * accepting within 3 s; after a PostgreSQL restart, every instance serving again within 15 s.
 * Flags: --conversations=50 --rate=3 --lease-ms=8000 --renew-ms=<lease/4> --seed=1
 * --faults=kill,pause,pg-restart-fast,pg-restart-immediate,cut; --server-root=<checkout> runs another
 * revision's server under the same faults (before/after); --log-dir=<dir> keeps every instance's output.
 */
import { FAULTS, type FaultKind, markdownTable, runNemesis, targetsMissed } from '../test/helpers/nemesis.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const number = (name: string, fallback: number) => (args.has(name) ? Number(args.get(name)) : fallback);
const leaseTtlMs = number('lease-ms', 8_000);
const faults = (args.get('faults')?.split(',') ?? FAULTS) as FaultKind[];
const unknownFault = faults.find((f) => !FAULTS.includes(f));
if (unknownFault) {
  console.error(`unknown fault '${unknownFault}'; the faults are ${FAULTS.join(', ')}`);
  process.exit(2);
}
const options = {
  conversations: number('conversations', 50),
  ratePerConversation: number('rate', 3),
  leaseTtlMs,
  renewMs: number('renew-ms', Math.round(leaseTtlMs / 4)),
  seed: number('seed', 1),
  faults,
  serverRoot: args.get('server-root'),
  logDir: args.get('log-dir'),
};

const started = Date.now();
const report = await runNemesis({
  ...options,
  log: (line) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`),
});
console.log(
  `\n3 instances, ${options.conversations} conversations at ~${options.ratePerConversation} msg/s, lease ${leaseTtlMs} ms (renewed every ${options.renewMs} ms), seed ${options.seed}: ${report.messagesSent} messages, ${report.botDeliveries} deliveries to the bot, ${(report.durationMs / 1000).toFixed(0)} s${report.settled ? '' : ', NOT every conversation answered by the end'}\n`,
);
console.log(markdownTable(report.rows));
let failed = false;
for (const row of report.rows) {
  const missed = targetsMissed(row, { leaseTtlMs });
  const detail = [
    Object.keys(row.refusedBy).length ? `refused ${JSON.stringify(row.refusedBy)}` : '',
    Object.keys(row.unknownBy).length ? `unknown ${JSON.stringify(row.unknownBy)}` : '',
    `driver after ${row.driverAfter ?? 'none'}`,
    ...row.exits.map((e) => `${e.instance} exited (${e.code ?? e.signal}) ${e.atMs} ms in: ${e.cause}`),
    ...row.examples,
  ].filter(Boolean);
  console.log(`\n${row.fault}: ${missed.length ? `MISSED ${missed.join('; ')}` : 'every target met'}`);
  for (const line of detail) console.log(`  ${line}`);
  if (missed.length) failed = true;
}
process.exit(failed ? 1 : 0);
