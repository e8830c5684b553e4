/**
 * `npm run bench`: starts the botbridge server (SQLite; PostgreSQL when DATABASE_URL is set, or a
 * throwaway cluster with BENCH_PG=1) and the fast bot, each in its own process, runs the
 * scenarios and prints min/median/max of every figure over the rounds, then writes
 * bench/results.json. The cluster scenario (several server processes on one database) runs on
 * PostgreSQL only. Options (flags or BENCH_* environment variables):
 *
 *   --quick            small sizes, short phases (BENCH_QUICK=1)
 *   --only=a,b         scenarios: throughput, floor (the minimal relay, inside throughput's rounds), scale,
 *                      delay, public-api, cluster (BENCH_ONLY)
 *   --rounds=3         rounds per scenario, at least 3 for the table (BENCH_ROUNDS)
 *   --conversations=200  concurrent conversations of the throughput scenario (BENCH_CONVERSATIONS)
 *   --scale=10000      open conversations of the scale scenario (BENCH_SCALE)
 *   --fanout=5000      conversations of the delay fan-out (BENCH_FANOUT)
 *   --clients=200      concurrent Public API clients (BENCH_CLIENTS)
 *   --failover-instances=3   instances in the cluster failover rounds (BENCH_FAILOVER_INSTANCES)
 *   --duration=15 --warmup=3   seconds per measured phase and its warm-up (BENCH_DURATION, BENCH_WARMUP)
 *   --log-level=warn   the server's LOG_LEVEL (BENCH_LOG_LEVEL)
 *   --server=dist      dist (built here first, as `npm start` runs it) or source (through tsx)
 *   --server-root=dir  run the server of another checkout instead of this one
 *   --against=dir      also run the server of another checkout (an older revision), before this
 *                      one, under the same load in the same run, and print both side by side (BENCH_AGAINST)
 *   --stores=sqlite,postgres  the stores to run, back to back in one run (BENCH_STORES; default
 *                      postgres when DATABASE_URL or BENCH_PG=1 is set, else sqlite); PostgreSQL
 *                      is DATABASE_URL, or a throwaway cluster
 *   --build=0          do not build the server first (dist/ is already current)
 *   --profile          the server writes a V8 CPU profile per scenario into bench/profiles/
 *   --quiet=15         before each round, wait (at most --quiet-max=120 s) until other processes
 *                      use less than this % of one core; 0 to never wait (BENCH_QUIET)
 *
 * Environment only: BENCH_PIN=0/1 (server CPUs/others' CPUs) pins the server to CPU 0 and the bot and this process to CPU 1;
 * BENCH_SERVER_NODE_OPTIONS passes Node/V8 flags to the server alone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir, release, platform } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ROOT, buildServer, startBot, startFloor, startServer, stopAll, waitForQuiet, type Proc } from './lib/procs.js';
import { spread, type Spread } from './lib/stats.js';
import { runThroughput, type ThroughputRound } from './scenarios/throughput.js';
import { runScaleRound, type ScaleRound } from './scenarios/scale.js';
import { runDelay, type DelayRound } from './scenarios/delay.js';
import { runPublicApi, type PublicApiRound } from './scenarios/public-api.js';
import {
  pgMicrosPerMessage,
  runClusterThroughput,
  runFailover,
  type ClusterHost,
  type ClusterThroughputRound,
  type FailoverRound,
} from './scenarios/cluster.js';

/** `floor` runs inside `throughput`'s rounds (the same closed loop): asking for it runs both. */
const SCENARIOS = ['throughput', 'floor', 'scale', 'delay', 'public-api', 'cluster'] as const;
type Scenario = (typeof SCENARIOS)[number];

function option(name: string, fallback: string): string {
  const flag = process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (flag) return flag.includes('=') ? flag.slice(flag.indexOf('=') + 1) : '1';
  return process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback;
}

const quick = option('quick', '0') === '1';
const config = {
  quick,
  only: option('only', SCENARIOS.join(',')).split(',').filter(Boolean) as Scenario[],
  rounds: Math.max(1, Number(option('rounds', '3'))),
  conversations: Number(option('conversations', quick ? '50' : '200')),
  scale: Number(option('scale', quick ? '1000' : '10000')),
  fanout: Number(option('fanout', quick ? '500' : '5000')),
  clients: Number(option('clients', quick ? '50' : '200')),
  failoverInstances: Number(option('failover-instances', '3')),
  durationMs: Number(option('duration', quick ? '4' : '15')) * 1000,
  warmupMs: Number(option('warmup', quick ? '1' : '3')) * 1000,
  logLevel: option('log-level', 'warn'),
  server: option('server', 'dist') as 'dist' | 'source',
  serverRoot: option('server-root', ROOT),
  profile: option('profile', '0') === '1',
  against: option('against', ''),
  stores: option('stores', process.env.DATABASE_URL || option('pg', '0') === '1' ? 'postgres' : 'sqlite').split(
    ',',
  ) as Array<'sqlite' | 'postgres'>,
  quietPct: Number(option('quiet', '15')),
  quietMaxMs: Number(option('quiet-max', '120')) * 1000,
};
for (const s of config.only)
  if (!SCENARIOS.includes(s)) throw new Error(`unknown scenario '${s}' (${SCENARIOS.join(', ')})`);
const withFloor = config.only.includes('floor');
config.only = config.only.filter((s) => s !== 'floor');
if (withFloor && !config.only.includes('throughput')) config.only.unshift('throughput');
for (const s of config.stores)
  if (s !== 'sqlite' && s !== 'postgres') throw new Error(`unknown store '${s}' (sqlite, postgres)`);

const log = (s: string) => process.stdout.write(`${s}\n`);
/** What other processes used of the CPU before each round (% of one core). */
const othersBefore: number[] = [];
const quiet = async () => {
  if (config.quietPct > 0) othersBefore.push(await waitForQuiet(config.quietPct, config.quietMaxMs, log));
};
const work = mkdtempSync(join(tmpdir(), 'botbridge-bench-'));
const profileDir = join(ROOT, 'bench', 'profiles');

/** Fresh database per server: a new SQLite dir, or a new PostgreSQL database on the cluster. */
interface Databases {
  kind: 'sqlite' | 'postgres';
  fresh(name: string): Promise<{ dataDir: string; databaseUrl?: string; drop(): Promise<void> }>;
  stop(): Promise<void>;
}

function sqliteDatabases(): Databases {
  return {
    kind: 'sqlite',
    fresh: async (name) => {
      const dataDir = join(work, name);
      return { dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
    },
    stop: async () => {},
  };
}

/** DATABASE_URL's server, or a throwaway cluster started here. */
async function postgresDatabases(): Promise<Databases> {
  let url = process.env.DATABASE_URL;
  let cluster: { stop(): void; adminUrl: string } | undefined;
  if (!url) {
    const { startPgCluster } = (await import(join(ROOT, 'scripts', 'pg-cluster.mjs'))) as {
      startPgCluster(): Promise<{ stop(): void; adminUrl: string }>;
    };
    cluster = await startPgCluster();
    url = cluster.adminUrl;
  }
  const adminUrl = url;
  return {
    kind: 'postgres',
    fresh: async (name) => {
      const dataDir = join(work, name);
      const db = `bench_${name.replace(/\W/g, '_')}_${process.pid}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${db}`);
      } finally {
        await admin.end();
      }
      const u = new URL(adminUrl);
      u.pathname = `/${db}`;
      return {
        dataDir,
        databaseUrl: u.toString(),
        drop: async () => {
          const c = new pg.Client({ connectionString: adminUrl });
          await c.connect();
          await c.query(`DROP DATABASE IF EXISTS ${db}`).catch(() => undefined);
          await c.end();
        },
      };
    },
    stop: async () => cluster?.stop(),
  };
}

/** One server under test: a checkout's revision on one store. Several run back to back in one run. */
interface Variant {
  store: 'sqlite' | 'postgres';
  root: string;
  revision: string;
  /** The store, and the revision when two are compared ("sqlite", "postgres @a1b2c3d"). */
  label: string;
  dbs: Databases;
}

/** Names a variant's directories (data, logs, profiles). */
const slug = (v: Variant, name: string) => `${v.label.replace(/\W+/g, '-')}-${name}`;

async function withServer<T>(v: Variant, name: string, fn: (server: Proc) => Promise<T>): Promise<T> {
  const db = await v.dbs.fresh(slug(v, name));
  const profiles = config.profile ? join(profileDir, slug(v, name)) : undefined;
  if (profiles) mkdirSync(profiles, { recursive: true });
  const server = await startServer({
    root: v.root,
    entry: config.server,
    dataDir: db.dataDir,
    databaseUrl: db.databaseUrl,
    logLevel: config.logLevel,
    logDir: join(work, 'logs', slug(v, name)),
    profileDir: profiles,
  });
  try {
    return await fn(server);
  } finally {
    await server.stop();
    await db.drop();
  }
}

/** Cluster instances: each its own data dir and INSTANCE_ID on one shared database. */
function clusterHost(v: Variant): ClusterHost {
  const started = new Map<string, number>();
  return {
    freshDatabase: async (name) => {
      const db = await v.dbs.fresh(slug(v, name));
      if (!db.databaseUrl) throw new Error('the cluster scenario needs PostgreSQL');
      return { databaseUrl: db.databaseUrl, drop: db.drop };
    },
    startInstance: (group, instance, databaseUrl, secretKey) => {
      // A restarted instance gets a new log file, so the killed one's stays readable.
      const key = `${group}/${instance}`;
      const n = (started.get(key) ?? 0) + 1;
      started.set(key, n);
      const name = n === 1 ? instance : `${instance}.${n}`;
      const profiles = config.profile ? join(profileDir, slug(v, group)) : undefined;
      if (profiles) mkdirSync(profiles, { recursive: true });
      return startServer({
        root: v.root,
        entry: config.server,
        dataDir: join(work, slug(v, group), name),
        databaseUrl,
        logLevel: config.logLevel,
        logDir: join(work, 'logs', slug(v, group)),
        name,
        profileDir: profiles,
        env: { INSTANCE_ID: instance, SECRET_KEY: secretKey },
      });
    },
  };
}

interface Row {
  scenario: string;
  figure: string;
  unit: string;
  values: number[];
  spread: Spread;
  target?: { text: string; ok: (v: number) => boolean; worst: 'min' | 'max' };
  digits: number;
}

function row(
  scenario: string,
  figure: string,
  unit: string,
  values: number[],
  digits: number,
  target?: Row['target'],
): Row {
  return { scenario, figure, unit, values, spread: spread(values), target, digits };
}

function verdict(r: Row): string {
  if (!r.target) return '';
  const median = r.target.ok(r.spread.median);
  const worst = r.target.ok(r.spread[r.target.worst]);
  return median ? (worst ? 'met' : 'met (median)') : 'missed';
}

function fmt(v: number, digits: number): string {
  if (!Number.isFinite(v)) return '–';
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function tables(rows: Row[]): { text: string; markdown: string } {
  const head = ['Scenario', 'Figure', 'min', 'median', 'max', 'Target', ''];
  const body = rows.map((r) => [
    r.scenario,
    `${r.figure}${r.unit ? ` (${r.unit})` : ''}`,
    fmt(r.spread.min, r.digits),
    fmt(r.spread.median, r.digits),
    fmt(r.spread.max, r.digits),
    r.target?.text ?? '',
    verdict(r),
  ]);
  return rendered(head, body, (i) => i >= 2 && i <= 4);
}

/** A table as aligned text for the terminal and as Markdown; `numeric` columns align right. */
function rendered(head: string[], body: string[][], numeric: (column: number) => boolean) {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (numeric(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  const text = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
  const markdown = [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (numeric(i) ? '---:' : '---')).join(' | ')} |`,
    ...body.map((b) => `| ${b.join(' | ')} |`),
  ].join('\n');
  return { text, markdown };
}

/** The server's revision: commit, and whether its working tree differs from it. */
function revisionOf(root: string): string {
  try {
    const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    const dirty = execFileSync('git', ['-C', root, 'status', '--porcelain', '--', 'src'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .toString()
      .trim();
    return dirty ? `${commit} (src modified)` : commit;
  } catch {
    // An exported tree (git archive) may say which commit it is in a REVISION file.
    return existsSync(join(root, 'REVISION')) ? readFileSync(join(root, 'REVISION'), 'utf8').trim() : 'unknown';
  }
}

/** One scenario against one variant: its rows for the table, and its rounds for results.json. */
async function runScenario(
  scenario: Scenario,
  v: Variant,
  bot: Proc,
  machine: { cores: number },
): Promise<{ rows: Row[]; results: Record<string, unknown> }> {
  const rows: Row[] = [];
  const results: Record<string, unknown> = {};
  if (scenario === 'throughput') {
    log(
      `\n1. throughput and added latency: ${config.conversations} conversations, ${config.durationMs / 1000} s phases`,
    );
    // The floor (bench/floor.ts) runs in the same rounds and closed loop, on its own SQLite file.
    const floorDir = mkdtempSync(join(work, 'floor-'));
    const floor = withFloor ? await startFloor(join(work, 'logs', slug(v, 'floor')), floorDir, bot.url) : undefined;
    let rounds: ThroughputRound[];
    try {
      rounds = await withServer(v, 'throughput', (server) =>
        runThroughput(
          server,
          bot,
          {
            conversations: config.conversations,
            warmupMs: config.warmupMs,
            durationMs: config.durationMs,
            rounds: config.rounds,
          },
          log,
          quiet,
          floor,
        ),
      );
    } finally {
      await floor?.stop();
      rmSync(floorDir, { recursive: true, force: true });
    }
    results.throughput = rounds;
    const s = `1. throughput (C=${config.conversations})`;
    rows.push(
      row(
        s,
        'raw bot baseline',
        'msg/s',
        rounds.map((r) => r.baseline.rate),
        0,
      ),
      row(
        s,
        'through botbridge',
        'msg/s',
        rounds.map((r) => r.max.rate),
        0,
      ),
      row(
        s,
        'botbridge / baseline',
        '%',
        rounds.map((r) => r.ratio * 100),
        1,
        { text: '≥ 40 %', ok: (v) => v >= 40, worst: 'min' },
      ),
      ...(rounds.every((r) => r.floor)
        ? [
            row(
              s,
              'floor (minimal relay, SQLite)',
              'msg/s',
              rounds.map((r) => r.floor!.rate),
              0,
            ),
            row(
              s,
              'floor server CPU time per message',
              'µs',
              rounds.map((r) => r.floor!.serverMicrosPerMessage),
              0,
            ),
            row(
              s,
              'botbridge ÷ floor, throughput',
              '%',
              rounds.map((r) => (r.max.rate / r.floor!.rate) * 100),
              1,
              { text: '≥ 65 %', ok: (v) => v >= 65, worst: 'min' },
            ),
            row(
              s,
              'botbridge ÷ floor, CPU per message',
              '×',
              rounds.map((r) => r.max.serverMicrosPerMessage / r.floor!.serverMicrosPerMessage),
              2,
              { text: '≤ 1.5×', ok: (v) => v <= 1.5, worst: 'max' },
            ),
          ]
        : []),
      ...(rounds.every((r) => r.alternating)
        ? [
            row(
              s,
              'botbridge ÷ floor, throughput, alternating 2 s pairs',
              '%',
              rounds.map((r) => r.alternating!.throughputRatio * 100),
              1,
              { text: '≥ 65 %', ok: (v) => v >= 65, worst: 'min' },
            ),
            row(
              s,
              'botbridge ÷ floor, CPU per message, alternating 2 s pairs',
              '×',
              rounds.map((r) => r.alternating!.cpuRatio),
              2,
              { text: '≤ 1.5×', ok: (v) => v <= 1.5, worst: 'max' },
            ),
          ]
        : []),
      row(
        s,
        'end-to-end latency p50 at max rate',
        'ms',
        rounds.map((r) => r.max.latencyMs.p50),
        2,
      ),
      row(
        s,
        'end-to-end latency p99 at max rate',
        'ms',
        rounds.map((r) => r.max.latencyMs.p99),
        2,
      ),
      row(
        s,
        'baseline latency p50',
        'ms',
        rounds.map((r) => r.baseline.latencyMs.p50),
        2,
      ),
      row(
        s,
        'baseline latency p99',
        'ms',
        rounds.map((r) => r.baseline.latencyMs.p99),
        2,
      ),
      row(
        s,
        'half rate achieved',
        'msg/s',
        rounds.map((r) => r.half.rate),
        0,
      ),
      row(
        s,
        'end-to-end latency p50 at half rate',
        'ms',
        rounds.map((r) => r.half.latencyMs.p50),
        2,
      ),
      row(
        s,
        'added latency p50 at half rate',
        'ms',
        rounds.map((r) => r.half.addedMs.p50),
        2,
      ),
      row(
        s,
        'added latency p95 at half rate',
        'ms',
        rounds.map((r) => r.half.addedMs.p95),
        2,
      ),
      row(
        s,
        'added latency p99 at half rate',
        'ms',
        rounds.map((r) => r.half.addedMs.p99),
        2,
        { text: '< 10 ms', ok: (v) => v < 10, worst: 'max' },
      ),
      ...(rounds.every((r) => r.floorHalf)
        ? [
            row(
              s,
              'floor: added latency p99 at that rate',
              'ms',
              rounds.map((r) => r.floorHalf!.addedMs.p99),
              2,
            ),
          ]
        : []),
      row(
        s,
        "bot's own handling time p50",
        'µs',
        rounds.map((r) => r.max.botMicros.p50),
        0,
      ),
      row(
        s,
        'server CPU time per message',
        'µs',
        rounds.map((r) => r.max.serverMicrosPerMessage),
        0,
      ),
      row(
        s,
        'server CPU at max rate',
        '% of a core',
        rounds.map((r) => r.max.cpu.server),
        0,
      ),
      row(
        s,
        'generator CPU at max rate',
        '% of a core',
        rounds.map((r) => r.max.cpu.generator),
        0,
      ),
      ...(v.store === 'postgres'
        ? [
            row(
              s,
              'PostgreSQL CPU at max rate',
              '% of a core',
              rounds.map((r) => r.max.cpu.database),
              0,
            ),
          ]
        : []),
      row(
        s,
        'other processes’ CPU at max rate',
        '% of a core',
        rounds.map((r) => r.max.cpu.others),
        0,
      ),
    );
  }
  if (scenario === 'scale') {
    log(`\n2. open-conversation scale: ${config.scale} conversations on one bot, a fresh server per round`);
    const rounds: ScaleRound[] = [];
    for (let round = 1; round <= config.rounds; round++) {
      rounds.push(
        await withServer(v, `scale${round}`, (server) =>
          runScaleRound(server, bot, { conversations: config.scale, concurrency: 100 }, log, quiet),
        ),
      );
    }
    results.scale = rounds;
    const s = `2. scale (N=${config.scale})`;
    rows.push(
      row(
        s,
        'time to open (stream + first answer)',
        's',
        rounds.map((r) => r.openSeconds),
        1,
      ),
      row(
        s,
        'server RSS with all open and active',
        'MB',
        rounds.map((r) => r.rssActiveMb),
        0,
        { text: '< 500 MB', ok: (v) => v < 500, worst: 'max' },
      ),
      row(
        s,
        'server RSS peak',
        'MB',
        rounds.map((r) => r.rssPeakMb),
        0,
      ),
      row(
        s,
        'RSS per open conversation',
        'KB',
        rounds.map((r) => r.kbPerConversation),
        1,
      ),
    );
  }
  if (scenario === 'delay') {
    log(`\n3. delay fan-out: ${config.fanout} conversations, text + DELAY 2 s + text`);
    const rounds: DelayRound[] = await withServer(v, 'delay', (server) =>
      runDelay(
        server,
        bot,
        { conversations: config.fanout, rounds: config.rounds, concurrency: 200, delaySeconds: 2 },
        log,
        quiet,
      ),
    );
    results.delay = rounds;
    const s = `3. delay fan-out (N=${config.fanout})`;
    rows.push(
      row(
        s,
        'time to send all messages',
        's',
        rounds.map((r) => r.sendSeconds),
        2,
      ),
      row(
        s,
        'second text late by, p50',
        'ms',
        rounds.map((r) => r.lateMs.p50),
        0,
      ),
      row(
        s,
        'second text late by, p99',
        'ms',
        rounds.map((r) => r.lateMs.p99),
        0,
      ),
      row(
        s,
        'second text late by, max (last one)',
        'ms',
        rounds.map((r) => r.lateMs.max),
        0,
        { text: '≤ 500 ms', ok: (v) => v <= 500, worst: 'max' },
      ),
      row(
        s,
        'missing second texts',
        '',
        rounds.map((r) => r.missing),
        0,
      ),
    );
  }
  if (scenario === 'public-api') {
    log(`\n4. Public API: ${config.clients} clients, send-messages jobs, ${config.durationMs / 1000} s phases`);
    const rounds: PublicApiRound[] = await withServer(v, 'public-api', (server) =>
      runPublicApi(
        server,
        bot,
        { clients: config.clients, warmupMs: config.warmupMs, durationMs: config.durationMs, rounds: config.rounds },
        log,
        quiet,
      ),
    );
    results.publicApi = rounds;
    const s = `4. Public API (C=${config.clients})`;
    rows.push(
      row(
        s,
        'jobs accepted (burst)',
        'jobs/s',
        rounds.map((r) => r.burst.acceptedPerSecond),
        0,
        { text: '≥ 2,000/s', ok: (v) => v >= 2000, worst: 'min' },
      ),
      row(
        s,
        'jobs executed (burst, until all delivered)',
        'jobs/s',
        rounds.map((r) => r.burst.executedPerSecond),
        0,
      ),
      row(
        s,
        'jobs executed (closed loop)',
        'jobs/s',
        rounds.map((r) => r.closedLoop.executedPerSecond),
        0,
      ),
      row(
        s,
        'request → delivery p50 (closed loop)',
        'ms',
        rounds.map((r) => r.closedLoop.latencyMs.p50),
        1,
      ),
      row(
        s,
        'request → delivery p99 (closed loop)',
        'ms',
        rounds.map((r) => r.closedLoop.latencyMs.p99),
        1,
      ),
      row(
        s,
        'request → delivery p99 (burst backlog)',
        'ms',
        rounds.map((r) => r.burst.latencyMs.p99),
        0,
      ),
      row(
        s,
        'server CPU time per job (closed loop)',
        'µs',
        rounds.map((r) => r.closedLoop.serverMicrosPerJob),
        0,
      ),
    );
  }
  if (scenario === 'cluster' && v.store !== 'postgres') {
    log(
      `\n5. cluster: skipped — several instances share one PostgreSQL database (BENCH_PG=1 or DATABASE_URL); this run is on ${v.store}`,
    );
  } else if (scenario === 'cluster') {
    const host = clusterHost(v);
    const options = {
      conversations: config.conversations,
      warmupMs: config.warmupMs,
      durationMs: config.durationMs,
      rounds: config.rounds,
      failoverInstances: config.failoverInstances,
    };
    log(
      `\n5. cluster throughput: ${config.conversations} conversations, ${config.durationMs / 1000} s phases, 1 then 2 instances on a fresh database per round`,
    );
    log(
      `  (${machine.cores} cores shared by this generator, the bot, PostgreSQL and the instances: the 2-instance figures show the cost or benefit of a second instance on this machine only, not how a cluster scales on its own cores)`,
    );
    const tp: ClusterThroughputRound[] = await runClusterThroughput(host, bot, options, log, quiet);
    log(
      `\n5. cluster failover: ${Math.max(2, config.failoverInstances)} instances, kill -9 of the bot's driver, a message every 100 ms through a survivor`,
    );
    const fo: FailoverRound[] = await runFailover(host, bot, options, log, quiet);
    results.cluster = { throughput: tp, failover: fo };
    const s = `5. cluster (C=${config.conversations})`;
    rows.push(
      row(
        s,
        '1 instance',
        'msg/s',
        tp.map((r) => r.one.rate),
        0,
      ),
      row(
        s,
        '2 instances, same bot',
        'msg/s',
        tp.map((r) => r.twoOneBot.rate),
        0,
      ),
      row(
        s,
        '2 instances / 1 instance, same bot',
        '%',
        tp.map((r) => r.ratioOneBot * 100),
        1,
      ),
      row(
        s,
        '2 instances, 2 bots (one driven by each)',
        'msg/s',
        tp.map((r) => r.twoTwoBots.rate),
        0,
      ),
      row(
        s,
        '2 instances, 2 bots / 1 instance',
        '%',
        tp.map((r) => r.ratioTwoBots * 100),
        1,
      ),
      row(
        s,
        'e2e latency p50, 1 instance',
        'ms',
        tp.map((r) => r.one.latencyMs.p50),
        1,
      ),
      row(
        s,
        'e2e latency p50, 2 instances, same bot',
        'ms',
        tp.map((r) => r.twoOneBot.latencyMs.p50),
        1,
      ),
      row(
        s,
        'e2e latency p99, 1 instance',
        'ms',
        tp.map((r) => r.one.latencyMs.p99),
        1,
      ),
      row(
        s,
        'e2e latency p99, 2 instances, same bot',
        'ms',
        tp.map((r) => r.twoOneBot.latencyMs.p99),
        1,
      ),
      row(
        s,
        'server CPU per message, 1 instance',
        'µs',
        tp.map((r) => r.one.serverMicrosPerMessage),
        0,
      ),
      row(
        s,
        'server CPU per message, 2 instances, same bot (both)',
        'µs',
        tp.map((r) => r.twoOneBot.serverMicrosPerMessage),
        0,
      ),
      row(
        s,
        'server CPU per message, 2 instances, 2 bots (both)',
        'µs',
        tp.map((r) => r.twoTwoBots.serverMicrosPerMessage),
        0,
      ),
      row(
        s,
        'PostgreSQL CPU per message, 1 instance',
        'µs',
        tp.map((r) => pgMicrosPerMessage(r.one)),
        0,
      ),
      row(
        s,
        'PostgreSQL CPU per message, 2 instances, same bot',
        'µs',
        tp.map((r) => pgMicrosPerMessage(r.twoOneBot)),
        0,
      ),
      row(
        s,
        'PostgreSQL CPU per message, 2 instances, 2 bots',
        'µs',
        tp.map((r) => pgMicrosPerMessage(r.twoTwoBots)),
        0,
      ),
      row(
        s,
        'PostgreSQL transactions per message, 1 instance',
        '',
        tp.map((r) => r.one.db.transactions),
        1,
      ),
      row(
        s,
        'PostgreSQL transactions per message, 2 instances, same bot',
        '',
        tp.map((r) => r.twoOneBot.db.transactions),
        1,
      ),
      row(
        s,
        'PostgreSQL transactions per message, 2 instances, 2 bots',
        '',
        tp.map((r) => r.twoTwoBots.db.transactions),
        1,
      ),
      // The quiet check runs before a phase; load that starts during one shows only here.
      row(
        s,
        'other processes’ CPU, 1 instance',
        '% of a core',
        tp.map((r) => r.one.cpu.others),
        0,
      ),
      row(
        s,
        'other processes’ CPU, 2 instances, same bot',
        '% of a core',
        tp.map((r) => r.twoOneBot.cpu.others),
        0,
      ),
      row(
        s,
        'other processes’ CPU, 2 instances, 2 bots',
        '% of a core',
        tp.map((r) => r.twoTwoBots.cpu.others),
        0,
      ),
      row(
        s,
        'messages unanswered or refused (all phases)',
        '',
        tp.map((r) => r.one.errors + r.twoOneBot.errors + r.twoTwoBots.errors),
        0,
      ),
      row(
        s,
        'stray (duplicate or late) replies (all phases)',
        '',
        tp.map((r) => (r.one.strays ?? 0) + (r.twoOneBot.strays ?? 0) + (r.twoTwoBots.strays ?? 0)),
        0,
      ),
    );
    const f = `5. cluster failover (${Math.max(2, config.failoverInstances)} instances)`;
    rows.push(
      row(
        f,
        'kill -9 of the driver → first reply',
        'ms',
        fo.map((r) => r.firstReplyMs),
        0,
      ),
      row(
        f,
        'kill -9 → bot view names the new driver',
        'ms',
        fo.map((r) => r.viewMs),
        0,
      ),
      row(
        f,
        'kill -9 → backlog answered',
        'ms',
        fo.map((r) => r.backlogDrainedMs),
        0,
      ),
      row(
        f,
        'messages sent meanwhile (every 100 ms)',
        '',
        fo.map((r) => r.sent),
        0,
      ),
      row(
        f,
        'unanswered / refused',
        '',
        fo.map((r) => r.missing + r.refused),
        0,
      ),
      row(
        f,
        'duplicate replies on the stream',
        '',
        fo.map((r) => r.duplicateReplies),
        0,
      ),
      row(
        f,
        'duplicate replies stored',
        '',
        fo.map((r) => r.storedDuplicates),
        0,
      ),
      row(
        f,
        'bot events beyond one per message',
        '',
        fo.map((r) => r.botEventsExtra),
        0,
      ),
      row(
        f,
        'replies out of order',
        '',
        fo.map((r) => r.outOfOrder),
        0,
      ),
    );
  }
  return { rows, results };
}

/** Medians side by side, one column per variant, and the ratios asked for (e.g. after ÷ before). */
function comparison(
  variants: Variant[],
  rowsOf: Map<Variant, Row[]>,
  ratios: Array<{ title: string; of: Variant; to: Variant }>,
): { text: string; markdown: string } {
  const keys: Array<{ scenario: string; figure: string; unit: string; digits: number }> = [];
  const seen = new Set<string>();
  for (const v of variants)
    for (const r of rowsOf.get(v) ?? []) {
      const key = `${r.scenario}\u0000${r.figure}`;
      if (seen.has(key)) continue;
      seen.add(key);
      keys.push(r);
    }
  const find = (v: Variant, k: { scenario: string; figure: string }) =>
    rowsOf.get(v)?.find((r) => r.scenario === k.scenario && r.figure === k.figure);
  const head = ['Scenario', 'Figure', ...variants.map((v) => `${v.label} (median)`), ...ratios.map((r) => r.title)];
  const body = keys.map((k) => [
    k.scenario,
    `${k.figure}${k.unit ? ` (${k.unit})` : ''}`,
    ...variants.map((v) => {
      const r = find(v, k);
      return r ? fmt(r.spread.median, k.digits) : '';
    }),
    ...ratios.map(({ of, to }) => {
      const a = find(of, k)?.spread.median;
      const b = find(to, k)?.spread.median;
      return a === undefined || b === undefined || !b || !Number.isFinite(a / b) ? '' : `${fmt((a / b) * 100, 0)} %`;
    }),
  ]);
  return rendered(head, body, (i) => i >= 2);
}

async function main(): Promise<void> {
  const startedAt = new Date();
  if (process.env.BENCH_PIN)
    execFileSync('taskset', ['-p', '-c', process.env.BENCH_PIN.split('/')[1], String(process.pid)], {
      stdio: 'ignore',
    });
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
  };
  log(
    `botbridge benchmark — ${machine.cores} × ${machine.cpu}, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}`,
  );
  log(`the load generator (this process), the server and the bot share these ${machine.cores} cores`);
  const roots = config.against ? [config.against, config.serverRoot] : [config.serverRoot];
  if (config.server === 'dist' && option('build', '1') === '1') {
    for (const root of roots) {
      log(`building the server (tsc -p tsconfig.build.json)${root !== ROOT ? ` in ${root}` : ''}…`);
      buildServer(root);
    }
  }
  const variants: Variant[] = [];
  for (const store of config.stores) {
    const dbs = store === 'postgres' ? await postgresDatabases() : sqliteDatabases();
    for (const root of roots) {
      const revision = revisionOf(root);
      const label = [...(config.stores.length > 1 ? [store] : []), ...(roots.length > 1 ? [`@${revision}`] : [])]
        .join(' ')
        .trim();
      variants.push({ store, root, revision, label: label || store, dbs });
    }
  }
  log(
    `servers: ${variants.map((v) => `${v.revision} on ${v.store}`).join(', ')}; server LOG_LEVEL=${config.logLevel}; ${config.rounds} rounds per scenario${config.quick ? ' (quick)' : ''}`,
  );
  const bot = await startBot(join(work, 'logs'));
  const rowsOf = new Map<Variant, Row[]>(variants.map((v) => [v, []]));
  const resultsOf = new Map<Variant, Record<string, unknown>>(variants.map((v) => [v, {}]));
  try {
    // Scenario by scenario, the variants back to back: what is compared ran minutes apart, not a whole run.
    for (const scenario of config.only) {
      for (const v of variants) {
        if (variants.length > 1) log(`\n== ${v.label} (${v.revision} on ${v.store}) ==`);
        const { rows, results } = await runScenario(scenario, v, bot, machine);
        rowsOf.get(v)!.push(...rows);
        Object.assign(resultsOf.get(v)!, results);
      }
    }
  } finally {
    await bot.stop();
    for (const dbs of new Set(variants.map((v) => v.dbs))) await dbs.stop();
  }

  const noise = spread(othersBefore);
  const setting = `${machine.cores} × ${machine.cpu}, ${machine.memoryGb} GB RAM, ${machine.os}, Node ${machine.node}; server LOG_LEVEL=${config.logLevel}; ${config.rounds} rounds; generator, server and bot share the cores${othersBefore.length ? `; other processes before the rounds: ${noise.min}–${noise.max}% of a core` : ''}`;
  for (const v of variants) {
    const { text, markdown } = tables(rowsOf.get(v)!);
    log(`\n${v.label}: server ${v.revision}, store ${v.store}\n\n${text}\n\nMarkdown:\n\n${markdown}\n`);
  }
  let compared: { text: string; markdown: string } | undefined;
  if (variants.length > 1) {
    const ratios: Array<{ title: string; of: Variant; to: Variant }> = [];
    if (config.against)
      for (const store of config.stores) {
        const [before, after] = variants.filter((v) => v.store === store);
        ratios.push({ title: `${config.stores.length > 1 ? `${store}: ` : ''}after ÷ before`, of: after, to: before });
      }
    if (config.stores.length > 1) {
      const current = variants.filter((v) => v.root === config.serverRoot);
      const sqlite = current.find((v) => v.store === 'sqlite');
      const postgres = current.find((v) => v.store === 'postgres');
      if (sqlite && postgres) ratios.push({ title: 'postgres ÷ sqlite', of: postgres, to: sqlite });
    }
    compared = comparison(variants, rowsOf, ratios);
    log(`\nSide by side (medians):\n\n${compared.text}\n\nMarkdown:\n\n${compared.markdown}\n`);
  }
  log(setting);
  const out = join(ROOT, 'bench', 'results.json');
  writeFileSync(
    out,
    `${JSON.stringify(
      {
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        machine,
        config,
        othersCpuBeforeRounds: othersBefore,
        variants: variants.map((v) => ({
          label: v.label,
          revision: v.revision,
          store: v.store,
          table: rowsOf.get(v)!.map((r) => ({
            scenario: r.scenario,
            figure: r.figure,
            unit: r.unit,
            values: r.values,
            ...r.spread,
            target: r.target?.text,
            verdict: verdict(r) || undefined,
          })),
          rounds: resultsOf.get(v),
        })),
        ...(compared ? { comparison: compared.markdown } : {}),
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${out}${config.profile ? `; CPU profiles in ${profileDir}` : ''}`);
  rmSync(work, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the server and the bot…\n`);
    void stopAll().finally(() => process.exit(130));
  });
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n(logs kept in ${work})\n`,
    );
    process.exit(1);
  },
);
