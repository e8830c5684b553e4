/**
 * Server CPU per Public API send-messages job, in-process: the app (of this checkout, or of
 * `--root=<checkout>`) is built in this process on a temp SQLite data dir; the fast bot and the
 * load (C clients, each POSTing a job into a conversation the bot holds and waiting for its text
 * on the consumer's WebSocket) run in child processes, so process.cpuUsage() here is the server's.
 * `--count` also counts the SQLite statements run per job, `--by-statement` each text apart
 * (wrapping them costs CPU: the CPU figure of a counting run is not comparable). The machine is
 * noisy: compare two checkouts by alternating runs of each.
 *
 *   npx tsx bench/job-cpu.ts [--root=<checkout>] [--clients=200] [--jobs=20000] [--warmup=4000] [--count [--by-statement]]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { randomUUID } from 'node:crypto';
import { ADMIN_TOKEN } from './lib/procs.js';

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;

if (process.argv.includes('--load')) await load();
else await serve();

async function serve(): Promise<void> {
  const root = resolve(arg('root', join(import.meta.dirname, '..')));
  const counting = process.argv.includes('--count');
  let statements = 0;
  let measuring = false;
  const bySource = new Map<string, number>();
  if (counting) {
    const { default: Database } = await import(
      pathToFileURL(join(root, 'node_modules/better-sqlite3/lib/index.js')).href
    );
    const probe = new Database(':memory:');
    const proto = Object.getPrototypeOf(probe.prepare('select 1'));
    for (const method of ['run', 'get', 'all', 'iterate']) {
      const original = proto[method];
      proto[method] = function (this: { source: string }, ...args: unknown[]) {
        statements++;
        if (measuring) bySource.set(this.source, (bySource.get(this.source) ?? 0) + 1);
        return original.apply(this, args);
      };
    }
    probe.close();
  }
  const { buildApp } = await import(pathToFileURL(join(root, 'src/app.ts')).href);
  const { createLogger } = await import(pathToFileURL(join(root, 'src/ops/logger.ts')).href);
  const dataDir = mkdtempSync(join(tmpdir(), 'job-cpu-'));
  const discard = new Writable({ write: (_c, _e, done) => done() });
  const app = await buildApp(
    {
      host: '127.0.0.1',
      port: 0,
      dataDir,
      adminToken: ADMIN_TOKEN,
      demo: false,
      logLevel: 'warn',
      logFormat: 'json',
      sqliteSynchronous: 'NORMAL',
      instanceId: 'job-cpu',
    },
    { logger: createLogger('warn', discard) },
  );
  const url: string = await app.listen();
  const bot = await startBot(root);
  const loader = fork(
    import.meta.filename,
    ['--load', `--server=${url}`, `--bot=${bot.url}`, ...process.argv.slice(2)],
    {
      execArgv: ['--import', 'tsx'],
    },
  );
  // Bytes this process wrote (WAL and sockets): the WAL's share follows the pages each commit touched.
  const written = () => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  let writtenAt = 0;
  let started = process.cpuUsage();
  let statementsAt = 0;
  const result = await new Promise<{ jobs: number; ms: number }>((done, fail) => {
    loader.on('message', (m: { kind: string; jobs?: number; ms?: number }) => {
      if (m.kind === 'start') {
        started = process.cpuUsage();
        writtenAt = written();
        statementsAt = statements;
        measuring = true;
      } else if (m.kind === 'stop') done({ jobs: m.jobs as number, ms: m.ms as number });
    });
    loader.on('exit', (code) => fail(new Error(`load exited ${code}`)));
  });
  const cpu = process.cpuUsage(started);
  const bytes = written() - writtenAt;
  const perJob = (cpu.user + cpu.system) / result.jobs;
  console.log(
    JSON.stringify({
      root,
      jobs: result.jobs,
      jobsPerSecond: Math.round((result.jobs * 1000) / result.ms),
      cpuMicrosPerJob: Math.round(perJob),
      bytesWrittenPerJob: Math.round(bytes / result.jobs),
      ...(counting ? { statementsPerJob: +((statements - statementsAt) / result.jobs).toFixed(2) } : {}),
    }),
  );
  if (counting && process.argv.includes('--by-statement'))
    for (const [source, n] of [...bySource].sort((a, b) => b[1] - a[1]))
      console.log((n / result.jobs).toFixed(2), source.slice(0, 160));
  loader.kill();
  bot.process.kill();
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(0);
}

function startBot(root: string): Promise<{ url: string; process: ChildProcess }> {
  const child = fork(join(root, 'bench', 'fast-bot.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, PORT: '0', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  return new Promise((done) => {
    let out = '';
    child.stdout?.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('{"url"'));
      if (line) done({ url: (JSON.parse(line) as { url: string }).url, process: child });
    });
  });
}

async function load(): Promise<void> {
  const { Http, setupPublicApi } = await import('./lib/platform.js');
  const clients = Number(arg('clients', '200'));
  const jobs = Number(arg('jobs', '20000'));
  const warmup = Number(arg('warmup', '4000'));
  const http = new Http(arg('server', ''), clients + 8);
  const { bearer, conversations } = await setupPublicApi(
    http,
    arg('bot', ''),
    `jc${randomUUID().slice(0, 8)}`,
    clients,
  );
  let sent = 0;
  let measured = 0;
  let startedAt = 0;
  const send = process.send?.bind(process) as (m: unknown) => void;
  await Promise.all(
    conversations.map(async (c, i) => {
      for (let n = 0; ; n++) {
        const ticket = sent++;
        if (ticket >= warmup + jobs) return;
        if (ticket === warmup) {
          startedAt = performance.now();
          send({ kind: 'start' });
        }
        const text = `j-${i}-${n}`;
        const delivered = new Promise<void>((done) => {
          c.onBotText = (t) => {
            if (t.text === text) done();
          };
        });
        const r = await http.call(
          'POST',
          `/api/v1/account/${c.acc}/conversation/${c.id}/messages?ttl=120`,
          {
            messages: [text],
          },
          bearer,
        );
        if (r.status !== 200) throw new Error(`job refused: ${r.status} ${JSON.stringify(r.body)}`);
        await delivered;
        if (ticket >= warmup && ++measured === jobs) send({ kind: 'stop', jobs, ms: performance.now() - startedAt });
      }
    }),
  );
}
