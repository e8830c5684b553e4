// `npm test`: lint and format check (Biome), the contract's generated types current, typecheck (server, tests and the console), the console build when browser tests
// run, one throwaway PostgreSQL cluster for the run, then every test file under node's test runner. Each test builds its app on a fresh SQLite dir and a fresh database
// of that cluster (test/helpers/stores.ts), so the suite covers both stores.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startPgCluster } from './pg-cluster.mjs';

const run = (cmd, args, env = process.env) => spawnSync(cmd, args, { stdio: 'inherit', env }).status ?? 1;

function testFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'helpers' ? [] : testFiles(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

const only = process.argv.slice(2);
if (!only.length && run('npx', ['biome', 'check', '--error-on-warnings', '.']) !== 0) process.exit(1);
// The contract's generated types are what the contract file generates now (scripts/contract-types.mjs).
if (!only.length && run(process.execPath, ['scripts/contract-types.mjs', '--check']) !== 0) process.exit(1);
if (!only.length && run('npx', ['tsc', '--noEmit', '-p', '.']) !== 0) process.exit(1);
if (!only.length && run('npx', ['tsc', '--noEmit', '-p', 'src/web/client']) !== 0) process.exit(1);
const files = only.length ? only : testFiles('test').sort();

// Browser tests drive the built console (dist/web), so a clean checkout builds it first.
const browserTests = files.some((f) => f.split(/[\\/]/).includes('web'));
if (
  browserTests &&
  run('npx', ['vite', 'build', '--config', 'src/web/client/vite.config.ts', '--logLevel', 'warn']) !== 0
)
  process.exit(1);

const stores = (process.env.TEST_STORES ?? 'sqlite,postgres').split(',');
const cluster = stores.includes('postgres') && !process.env.TEST_PG_ADMIN_URL ? await startPgCluster() : undefined;
const env = { ...process.env, ...(cluster ? { TEST_PG_ADMIN_URL: cluster.adminUrl } : {}) };
let status = 1;
try {
  // The timeout bounds a test file that hangs, not its speed: the crash and fuzz files take ~45 s
  // per store alone and twice that beside the rest of the suite on two busy cores.
  status = run(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files],
    env,
  );
} finally {
  cluster?.stop();
}
process.exit(status);
