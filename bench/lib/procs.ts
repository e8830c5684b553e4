/**
 * The processes under test: the botbridge server and the fast bot, each spawned as its own
 * process (the load generator never shares their event loop), with their resident memory and
 * CPU time read from /proc.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sleep } from './stats.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const ADMIN_TOKEN = 'bench-admin-token';

let clockTicks: number | undefined;
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly logFile: string;
  /** Resident set size now, in MiB (VmRSS). */
  rssMb(): number;
  /** CPU time used so far (user + system, all threads), in ms. */
  cpuMs(): number;
  stop(): Promise<void>;
  /** kill -9; resolves once the process is gone. */
  kill(): Promise<void>;
}

function rssMbOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return kb / 1024;
  } catch {
    return NaN;
  }
}

function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

async function launch(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  logDir: string,
  readUrl: (log: string) => string | undefined,
  cwd = ROOT,
): Promise<Proc> {
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${name}.log`);
  // Output goes straight to a file: the generator never spends a cycle reading it.
  const fd = openSync(logFile, 'w');
  // BENCH_PIN=server-cpus/others-cpus (e.g. 0/1): fixed placement, for steadier A/B comparisons.
  const pin = process.env.BENCH_PIN?.split('/')[name === 'bot' ? 1 : 0];
  const child: ChildProcess = pin
    ? spawn('taskset', ['-c', pin, process.execPath, ...args], { cwd, env, stdio: ['ignore', fd, fd] })
    : spawn(process.execPath, args, { cwd, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (!url) {
    if (exited !== undefined)
      throw new Error(
        `${name} exited (${exited}) before it was ready; see ${logFile}:\n${readFileSync(logFile, 'utf8').slice(-3000)}`,
      );
    if (Date.now() > deadline) throw new Error(`${name} not ready after 60 s; see ${logFile}`);
    await sleep(50);
    url = readUrl(readFileSync(logFile, 'utf8'));
  }
  const pid = child.pid!;
  const proc: Proc = {
    name,
    pid,
    url,
    logFile,
    rssMb: () => rssMbOf(pid),
    cpuMs: () => cpuMsOf(pid),
    async stop() {
      if (exited !== undefined) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await done;
      clearTimeout(timer);
      running.delete(proc);
    },
    async kill() {
      if (exited === undefined) {
        const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGKILL');
        await done;
      }
      running.delete(proc);
    },
  };
  running.add(proc);
  return proc;
}

/** Every process started here, so an interrupted run stops them too. */
const running = new Set<Proc>();
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

export interface ServerOptions {
  /** The checkout whose server runs (default this one): compare two revisions on the same machine and load. */
  root?: string;
  /** 'dist': node dist/src/main.js (built by the harness, as `npm start` runs it); 'source': through tsx. */
  entry: 'dist' | 'source';
  dataDir: string;
  databaseUrl?: string;
  logLevel: string;
  logDir: string;
  /** Write a V8 CPU profile here when the server stops. */
  profileDir?: string;
  name?: string;
  /** More environment for the server (a cluster instance's INSTANCE_ID and SECRET_KEY). */
  env?: Record<string, string>;
}

/** The Node flags `npm start` gives the server (package.json), so the benchmark runs what users run. */
export function startFlags(root = ROOT): string[] {
  const start =
    (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start ??
    '';
  const flags = /\bnode((?:\s+--\S+)*)\s+dist\/src\/main\.js/.exec(start)?.[1] ?? '';
  return flags.split(/\s+/).filter(Boolean);
}

/** The real server process (`src/main.ts`): DEMO=0, fixed admin token, a free port. */
export function startServer(options: ServerOptions): Promise<Proc> {
  const root = options.root ?? ROOT;
  const main = [
    ...startFlags(root),
    ...(options.entry === 'dist'
      ? [join(root, 'dist', 'src', 'main.js')]
      : ['--import', 'tsx', join(root, 'src', 'main.ts')]),
  ];
  const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: options.dataDir,
    DEMO: '0',
    ADMIN_TOKEN,
    LOG_LEVEL: options.logLevel,
    ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    // Node/V8 flags for the server only (e.g. --max-semi-space-size=32), to try runtime settings.
    ...(process.env.BENCH_SERVER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_SERVER_NODE_OPTIONS } : {}),
    ...options.env,
  };
  return launch(
    options.name ?? 'server',
    [...profile, ...main],
    env,
    options.logDir,
    (log) => /botbridge listening on (http:\/\/\S+)/.exec(log)?.[1],
    root,
  );
}

/** The fast Custom Endpoint bot (bench/fast-bot.ts) in its own process. */
export function startBot(logDir: string): Promise<Proc> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', PORT: '0' };
  return launch('bot', ['--import', 'tsx', join(ROOT, 'bench', 'fast-bot.ts')], env, logDir, (log) => {
    const line = log.split('\n').find((l) => l.startsWith('{"url"'));
    return line ? (JSON.parse(line) as { url: string }).url : undefined;
  });
}

/** The floor (bench/floor.ts): the minimal relay scenario 1 measures botbridge against, in its own process. */
export function startFloor(logDir: string, dataDir: string, botUrl: string): Promise<Proc> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'production',
    PORT: '0',
    BOT_URL: botUrl,
    DATA_DIR: dataDir,
  };
  return launch(
    'floor',
    [...startFlags(), '--import', 'tsx', join(ROOT, 'bench', 'floor.ts')],
    env,
    logDir,
    (log) => /floor listening on (http:\/\/\S+)/.exec(log)?.[1],
  );
}

/** Compiles the server as `npm start` does (the console is not needed). */
export function buildServer(root = ROOT): void {
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: root, stdio: 'inherit' },
  );
  if (!existsSync(join(root, 'dist', 'src', 'main.js')))
    throw new Error(`build did not produce ${root}/dist/src/main.js`);
}

/** Busy CPU time of the whole machine so far (all cores, every process), in ms. */
function machineBusyMs(): number {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    const busy = cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7];
    return (busy * 1000) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** CPU time of every PostgreSQL server process on the machine (the store, when it is PostgreSQL), ms. */
function postgresMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')) !== 'postgres') continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return (total * 1000) / ticksPerSecond();
}

export interface CpuReading {
  /** % of one core. */
  server: number;
  bot: number;
  generator: number;
  /** PostgreSQL server processes (0 with SQLite, which runs inside the server). */
  database: number;
  /** Everything else running on the machine meanwhile (other people's test runs...), % of one core. */
  others: number;
}

/**
 * CPU used by each process between construction and read(), as % of one core. With several
 * servers (cluster instances), `server` is their sum.
 */
export class CpuMeter {
  private readonly start: {
    at: number;
    servers: number[];
    bot?: number;
    self: NodeJS.CpuUsage;
    machine: number;
    database: number;
  };
  private readonly servers: Proc[];
  constructor(
    server?: Proc | Proc[],
    private readonly bot?: Proc,
  ) {
    this.servers = server === undefined ? [] : Array.isArray(server) ? server : [server];
    this.start = {
      at: performance.now(),
      servers: this.servers.map((s) => s.cpuMs()),
      bot: bot?.cpuMs(),
      self: process.cpuUsage(),
      machine: machineBusyMs(),
      database: postgresMs(),
    };
  }
  /** Server CPU time used since construction, ms. */
  serverMs(): number {
    if (!this.servers.length) return NaN;
    return this.servers.reduce((sum, s, i) => sum + s.cpuMs() - this.start.servers[i], 0);
  }
  read(): CpuReading {
    const elapsed = performance.now() - this.start.at;
    const self = process.cpuUsage(this.start.self);
    const pct = (ms: number) => Math.round((ms / elapsed) * 1000) / 10;
    const serverMs = this.serverMs();
    const botMs = this.bot ? this.bot.cpuMs() - (this.start.bot ?? 0) : NaN;
    const generatorMs = (self.user + self.system) / 1000;
    const databaseMs = postgresMs() - this.start.database;
    const othersMs = machineBusyMs() - this.start.machine - (serverMs || 0) - (botMs || 0) - generatorMs - databaseMs;
    return {
      server: pct(serverMs),
      bot: pct(botMs),
      generator: pct(generatorMs),
      database: pct(databaseMs),
      others: Math.max(0, pct(othersMs)),
    };
  }
}

/**
 * Waits (up to `maxMs`) until the rest of the machine is quiet: other processes using less than
 * `thresholdPct` of one core over a 2-second window. Returns what they used in the last window.
 */
export async function waitForQuiet(thresholdPct: number, maxMs: number, log: (s: string) => void): Promise<number> {
  const deadline = Date.now() + maxMs;
  let warned = false;
  for (;;) {
    const meter = new CpuMeter();
    await sleep(2000);
    const others = meter.read().others;
    if (others < thresholdPct || Date.now() > deadline) {
      if (others >= thresholdPct)
        log(`  (the machine is still busy: other processes use ${others}% of a core; measuring anyway)`);
      return others;
    }
    if (!warned) log(`  waiting for a quiet machine: other processes use ${others}% of a core…`);
    warned = true;
  }
}

/** What a measured window of a load phase saw. */
export interface MeasuredWindow {
  windowMs: number;
  cpu: CpuReading;
  /** The server's CPU time in the window (NaN without a server). */
  serverMs: number;
}

/**
 * Lets the running load warm up, then measures one window of it: `phase.measuring` is true only
 * inside the window, so the load counts just what it started and finished there.
 */
export async function measureWindow(
  phase: { measuring: boolean },
  timing: { warmupMs: number; durationMs: number },
  server: Proc | Proc[] | undefined,
  bot: Proc,
): Promise<MeasuredWindow> {
  await sleep(timing.warmupMs);
  phase.measuring = true;
  const meter = new CpuMeter(server, bot);
  const start = performance.now();
  await sleep(timing.durationMs);
  phase.measuring = false;
  const windowMs = performance.now() - start;
  return { windowMs, cpu: meter.read(), serverMs: meter.serverMs() };
}
