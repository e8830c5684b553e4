import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
// @ts-expect-error plain JS module shared with the test runner script
import { startPgCluster } from '../../scripts/pg-cluster.mjs';
import { botTexts, consumerTexts, hash } from './crash-load.js';
import { startProcess, type Proc } from './process.js';
import { seeded } from './random.js';
import { TcpProxy } from './tcp-proxy.js';
import { TestBot, text } from './test-bot.js';
import { timedCall } from './timed-http.js';
import { client } from './app.js';
import { setupBotOn } from './connector.js';

/**
 * Jepsen-style faults against a cluster of three instances on one PostgreSQL, under steady
 * consumer load on one Custom Endpoint bot: the bot's driver is killed, frozen, cut off from the
 * database, and the database itself is restarted. Each fault's messages are then held against what
 * the consumers were told (201 = accepted), the conversation logs and what the bot received. Shared
 * by `test/cluster/nemesis.test.ts` (small, fixed seed) and `npm run nemesis` (full size).
 *
 * The cluster is this run's own: it is restarted, so it cannot be a suite's shared one. Each
 * instance reaches it through its own TCP proxy, which is what a cut partitions.
 */
export type FaultKind = 'kill' | 'pause' | 'pg-restart-fast' | 'pg-restart-immediate' | 'cut';
export const FAULTS: FaultKind[] = ['kill', 'pause', 'pg-restart-fast', 'pg-restart-immediate', 'cut'];
/** The faults that take one instance (the bot's driver) away while the others carry on. */
const DRIVER_FAULTS: FaultKind[] = ['kill', 'pause', 'cut'];

export interface NemesisOptions {
  conversations: number;
  /** Consumer messages per second, per conversation (jittered from the seed). */
  ratePerConversation: number;
  /** LEASE_TTL_MS and LEASE_RENEW_MS of every instance. */
  leaseTtlMs: number;
  renewMs: number;
  faults?: FaultKind[];
  /** Fixed, so the consumers' rhythm and the bot's think times repeat from run to run. */
  seed: number;
  /** How long the driver stays frozen (SIGSTOP); default lease + 3 s, so it is taken over meanwhile. */
  pauseMs?: number;
  /** How long the driver is cut off from the database; default lease + 3 s. */
  cutMs?: number;
  /** Load before each fault, and after it before the wait for every answer. */
  beforeFaultMs?: number;
  afterFaultMs?: number;
  /** Bound on the wait for every conversation to be answered, between faults and at the end. */
  settleMs?: number;
  /** A consumer gives up on a POST after this: its outcome is unknown then. */
  postTimeoutMs?: number;
  /** The bot thinks 0..maxThinkMs per message. */
  maxThinkMs?: number;
  log?: (line: string) => void;
  /** Another checkout's server (its dependencies installed), for a before/after comparison. */
  serverRoot?: string;
  /** Where each instance process's output is written at the end (`A-1.log`, …), to follow a finding up. */
  logDir?: string;
}

export interface InstanceExit {
  instance: string;
  code: number | null;
  signal: string | null;
  /** Since the fault began. */
  atMs: number;
  /** The end of its stderr, or its last error log line. */
  cause: string;
}

/** One fault, and everything sent from its start to the next fault's start. */
export interface FaultRow {
  fault: FaultKind;
  /** The bot's driver when the fault began (the instance faulted, for kill, pause and cut). */
  driver: string;
  /** Who drove the bot when the next phase began. */
  driverAfter: string | null;
  /** Consumer POSTs answered 201. */
  accepted: number;
  /** Answered 4xx/5xx, or the connection refused: the consumer knows it was not taken. */
  refused: number;
  /** Timed out or cut off mid-way: taken or not, either is allowed (and not sent again). */
  unknown: number;
  /** Accepted, yet not in the conversation's log. */
  lost: number;
  /** In the log, never answered `echo: <message>` by the end of the run. */
  unanswered: number;
  /** Messages answered more than once in the log. */
  answeredTwice: number;
  /** Messages answered before their own message, or before an earlier message's answer. */
  outOfOrder: number;
  /** Deliveries to the bot, in this window, of a conversation and sequence it had received already. */
  botDuplicates: number;
  /**
   * Of those, ones whose first delivery came after the faulted driver lost its lease (`lossAtMs`):
   * not a retry of an answer in flight when the fault struck, but a driver acting without a lease.
   */
  botDuplicatesAfterLoss: number;
  /**
   * From the fault's start, when whatever was in flight had surely ended: kill and pause 0 (the
   * driver cannot act on); cut, the lease TTL (the cut driver may act until its lease lapses, and
   * an answer it could not commit is owed a retry); a pg restart, when PostgreSQL was back (an
   * answer that could not commit meanwhile is owed one too).
   */
  lossAtMs: number;
  /** kill, pause, cut: from the fault until a healthy instance's bot view names another driver; null: never. */
  takeoverMs?: number | null;
  /** The longest the bot went without a delivery, from the fault until the load paused. */
  botSilentMs: number;
  /** The slowest POST (accepted or timed out) to an instance not faulted, from the fault until the load paused. */
  worstHealthyAcceptMs: number | null;
  /** pg restarts: from the restart until every /healthz is 200 and a POST sent through each is accepted; null: never. */
  serveAgainMs?: number | null;
  /** Instances that exited without the harness killing them. */
  exits: InstanceExit[];
  /** What the refusals were: HTTP status and code, or ECONNREFUSED. */
  refusedBy: Record<string, number>;
  /** What the unknown outcomes were (timeout, reset, ...), by instance. */
  unknownBy: Record<string, number>;
  /** A few of each finding, told in full (times from the fault's start). */
  examples: string[];
}

export interface NemesisReport {
  rows: FaultRow[];
  /** Whether every conversation was answered before the run ended. */
  settled: boolean;
  messagesSent: number;
  botDeliveries: number;
  durationMs: number;
}

/** The targets a row must meet; the names of those it misses (empty: all met). */
export function targetsMissed(
  row: FaultRow,
  bounds: { leaseTtlMs: number; takeoverSlackMs?: number; healthyAcceptMs?: number; serveAgainMs?: number },
): string[] {
  const missed: string[] = [];
  for (const column of ['lost', 'unanswered', 'answeredTwice', 'outOfOrder', 'botDuplicatesAfterLoss'] as const)
    if (row[column] !== 0) missed.push(`${column} ${row[column]}`);
  if (row.exits.length) missed.push(`exits ${row.exits.map((e) => e.instance).join(',')}`);
  if (DRIVER_FAULTS.includes(row.fault)) {
    const takeoverBound = bounds.leaseTtlMs + (bounds.takeoverSlackMs ?? 6_000);
    if (row.takeoverMs == null || row.takeoverMs > takeoverBound)
      missed.push(`takeoverMs ${row.takeoverMs ?? 'never'} > ${takeoverBound}`);
    const acceptBound = bounds.healthyAcceptMs ?? 3_000;
    if (row.worstHealthyAcceptMs != null && row.worstHealthyAcceptMs > acceptBound)
      missed.push(`worstHealthyAcceptMs ${row.worstHealthyAcceptMs} > ${acceptBound}`);
  } else {
    const serveBound = bounds.serveAgainMs ?? 15_000;
    if (row.serveAgainMs == null || row.serveAgainMs > serveBound)
      missed.push(`serveAgainMs ${row.serveAgainMs ?? 'never'} > ${serveBound}`);
  }
  return missed;
}

const COLUMNS: Array<keyof FaultRow> = [
  'fault',
  'driver',
  'accepted',
  'refused',
  'unknown',
  'lost',
  'unanswered',
  'answeredTwice',
  'outOfOrder',
  'botDuplicates',
  'botDuplicatesAfterLoss',
  'takeoverMs',
  'botSilentMs',
  'worstHealthyAcceptMs',
  'serveAgainMs',
  'exits',
];

/** The rows as a markdown table: `—` where a column does not apply to the fault, `never` where it did not happen. */
export function markdownTable(rows: FaultRow[]): string {
  const cell = (row: FaultRow, column: keyof FaultRow) => {
    const value = row[column];
    if (column === 'exits')
      return row.exits.length ? row.exits.map((e) => `${e.instance} (${e.code ?? e.signal})`).join(', ') : '0';
    if (value === undefined) return '—';
    if (value === null) return 'never';
    return String(value);
  };
  return [
    `| ${COLUMNS.join(' | ')} |`,
    `| ${COLUMNS.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((row) => `| ${COLUMNS.map((c) => cell(row, c)).join(' | ')} |`),
  ].join('\n');
}

interface PgCluster {
  port: number;
  adminUrl: string;
  url(db: string): string;
  stop(): void;
  restart(mode: 'fast' | 'immediate'): Promise<unknown>;
}

interface Member {
  name: string;
  proxy: TcpProxy;
  proc?: Proc;
  /** Not running: killed, or exited on its own; started again when the next phase begins. */
  down: boolean;
  /** The harness is ending it: its exit is the fault (or the clean-up), not a finding. */
  killing: boolean;
  /** SIGSTOPped now. */
  frozen: boolean;
}

interface Send {
  conversation: number;
  text: string;
  instance: string;
  sentAt: number;
  latencyMs: number;
  outcome: 'accepted' | 'refused' | 'unknown';
  why: string;
}

interface Delivery {
  conversationId: string;
  sequence: number;
  message: string;
  at: number;
}

interface Phase {
  fault: FaultKind;
  driver: string;
  /** The instances the fault took away; a pg restart takes them all. */
  faulted: string[];
  start: number;
  /** See FaultRow.lossAtMs. */
  lossAt: number;
  /** When the load paused for the wait for every answer. */
  loadPaused: number;
  /** The next fault's start, or the end of the run. */
  end: number;
  takeoverMs?: number | null;
  serveAgainMs?: number | null;
  driverAfter: string | null;
}

interface Conversation {
  id: string;
  token: string;
}

const NAMES = ['A', 'B', 'C'];
const ADMIN = 'nemesis-admin-token';
const ACC = 'nemesis';
const DATABASE = 'nemesis';
/** How late the harness may stamp a delivery to the bot (see judge). */
const STAMP_SLACK_MS = 100;
/** Admin reads and health checks: an instance that does not answer by then is not healthy. */
const READ_TIMEOUT_MS = 3_000;

/** Why a request failed without an answer: the timeout, or the socket's error code. */
function failureOf(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timeout';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? String(error);
}

/**
 * Why an instance died, in a line: the error Node printed (and, for an unhandled 'error' event,
 * what emitted it), else the last error it logged.
 */
function causeOf(proc: Proc): string {
  const err = proc.stderr();
  const banner = err.lastIndexOf('botbridge listening on');
  const lines = (banner >= 0 ? err.slice(banner).split('\n').slice(1) : err.split('\n')).map((l) => l.trim());
  const error = lines.find((l) => /^([A-Za-z]*Error|Error)\b.*:/.test(l) || /^botbridge failed/.test(l));
  const emitter = lines.find((l) => l.startsWith("Emitted 'error' event on"));
  const frame = lines.find((l) => l.startsWith('at ') && l.includes('/src/'));
  if (error) return [error, emitter, frame].filter(Boolean).join(' | ').slice(0, 600);
  for (const line of proc.stdout().trim().split('\n').reverse()) {
    try {
      const entry = JSON.parse(line);
      if (entry.level >= 50) return `${entry.msg ?? ''} ${entry.err?.message ?? ''}`.trim().slice(0, 600);
    } catch {
      /* not a log line */
    }
  }
  return lines.filter(Boolean).slice(0, 3).join(' | ').slice(0, 600) || '(nothing on stderr)';
}

export async function runNemesis(options: NemesisOptions): Promise<NemesisReport> {
  const log = options.log ?? (() => {});
  const o = {
    faults: FAULTS,
    pauseMs: options.leaseTtlMs + 3_000,
    cutMs: options.leaseTtlMs + 3_000,
    beforeFaultMs: 3_000,
    afterFaultMs: 3_000,
    settleMs: 60_000,
    postTimeoutMs: 5_000,
    maxThinkMs: 50,
    ...options,
  };
  // Past these the fault's effect is recorded as never having ended (null), and the run goes on.
  const takeoverBoundMs = 2 * o.leaseTtlMs + 10_000;
  const serveAgainBoundMs = 30_000;
  const startBoundMs = 30_000;
  // Every loop below ends by this, whatever the cluster does.
  const runBoundMs =
    120_000 +
    o.faults.length *
      (o.beforeFaultMs +
        o.afterFaultMs +
        o.settleMs +
        takeoverBoundMs +
        serveAgainBoundMs +
        Math.max(o.pauseMs, o.cutMs) +
        2 * startBoundMs);
  const runDeadline = Date.now() + runBoundMs;
  const began = Date.now();

  const dirs: string[] = [];
  /** Every process started, in order, for logDir. */
  const started: Array<{ name: string; proc: Proc }> = [];
  const members = new Map<string, Member>();
  const exits: Array<InstanceExit & { at: number }> = [];
  const secretKey = randomBytes(32).toString('base64');
  let cluster: PgCluster | undefined;
  const bot = new TestBot();
  let load: Load | undefined;

  try {
    // Durable commits: an immediate restart must not take back what PostgreSQL acknowledged.
    cluster = (await startPgCluster({ durable: true })) as PgCluster;
    const admin = new pg.Client({ connectionString: cluster.adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${DATABASE}`);
    await admin.end();
    for (const name of NAMES)
      members.set(name, { name, proxy: await TcpProxy.start(cluster.port), down: true, killing: false, frozen: false });
    log(`PostgreSQL on port ${cluster.port}; proxies ${[...members.values()].map((m) => m.proxy.port).join(', ')}`);

    const launch = async (m: Member) => {
      for (let attempt = 1; ; attempt++) {
        const dataDir = mkdtempSync(join(tmpdir(), `botbridge-nemesis-${m.name}-`));
        dirs.push(dataDir);
        try {
          const proc = await startProcess(
            {
              kind: 'postgres',
              dataDir,
              databaseUrl: `postgres://postgres@127.0.0.1:${m.proxy.port}/${DATABASE}`,
              dispose: async () => {},
            },
            {
              ADMIN_TOKEN: ADMIN,
              DEMO: '0',
              LOG_LEVEL: process.env.NEMESIS_LOG_LEVEL ?? 'warn',
              INSTANCE_ID: m.name,
              SECRET_KEY: secretKey,
              LEASE_TTL_MS: String(o.leaseTtlMs),
              LEASE_RENEW_MS: String(o.renewMs),
            },
            o.serverRoot,
          );
          m.proc = proc;
          started.push({ name: m.name, proc });
          m.down = false;
          m.killing = false;
          m.frozen = false;
          void proc.exited.then(({ code, signal }) => {
            if (m.proc !== proc) return;
            m.down = true;
            if (!m.killing) {
              const at = Date.now();
              exits.push({ instance: m.name, code, signal, at, atMs: 0, cause: causeOf(proc) });
              log(`instance ${m.name} exited by itself (${code ?? signal}): ${causeOf(proc)}`);
            }
          });
          return;
        } catch (error) {
          // An instance that cannot start (its database just restarted) is a finding, but the run goes on.
          log(`instance ${m.name} did not start (attempt ${attempt}): ${String(error).slice(0, 400)}`);
          if (attempt >= 3) throw error;
          await sleep(1_000);
        }
      }
    };
    const urlOf = (name: string) => members.get(name)!.proc?.url;
    const healthy = () =>
      [...members.values()].filter((m) => !m.down && !m.frozen && !m.proxy.isCut).map((m) => m.name);
    /** The bot's driver as an instance not in `excluded` names it; undefined when none answers. */
    const driverSeenBy = async (excluded: string[]): Promise<string | null | undefined> => {
      for (const name of healthy().filter((n) => !excluded.includes(n))) {
        try {
          const r = await timedCall(urlOf(name)!, 'GET', `/admin/v1/accounts/${ACC}/bots/${botId}`, {
            token: ADMIN,
            timeoutMs: READ_TIMEOUT_MS,
          });
          if (r.status === 200) return (r.body.instance as string | null) ?? null;
        } catch {
          /* try the next one */
        }
      }
      return undefined;
    };
    const waitForDriver = async (): Promise<string> => {
      const deadline = Date.now() + takeoverBoundMs;
      while (Date.now() < deadline) {
        const named = await driverSeenBy([]);
        if (named && healthy().includes(named)) return named;
        await sleep(100);
      }
      throw new Error(`no live instance drives the bot after ${takeoverBoundMs} ms`);
    };
    const healthz = async (name: string) => {
      const url = urlOf(name);
      if (!url) return false;
      try {
        return (await timedCall(url, 'GET', '/healthz', { timeoutMs: READ_TIMEOUT_MS })).status === 200;
      } catch {
        return false;
      }
    };
    const readLog = async (conversation: Conversation): Promise<any[] | undefined> => {
      for (const name of healthy()) {
        try {
          const r = await timedCall(urlOf(name)!, 'GET', `/admin/v1/accounts/${ACC}/conversations/${conversation.id}`, {
            token: ADMIN,
            timeoutMs: READ_TIMEOUT_MS,
          });
          if (r.status === 200) return r.body.events as any[];
        } catch {
          /* try the next one */
        }
      }
      return undefined;
    };

    // One first: it migrates the empty database; the others join it.
    await launch(members.get('A')!);
    await Promise.all([launch(members.get('B')!), launch(members.get('C')!)]);
    log('instances A, B, C listening');

    // The bot records what it receives, and answers each message once with its echo.
    const deliveries: Delivery[] = [];
    await bot.start();
    bot.onEvent = async (req) => {
      const message = req.body?.data?.message;
      if (req.body?.type !== 'TEXT' || typeof message !== 'string') return { json: { response: [text('hello')] } };
      deliveries.push({
        conversationId: /conversations\/([^/]+)\/events/.exec(req.path)?.[1] ?? '',
        sequence: req.body?.context?.lpEvent?.sequence ?? -1,
        message,
        at: req.at,
      });
      // From the message, so a redelivery thinks as long as the first time.
      await sleep(Math.floor(hash(message) * o.maxThinkMs));
      // Combined messages arrive as one text, a line each: each is answered.
      return { json: { response: message.split('\n').map((m) => text(`echo: ${m}`)) } };
    };

    const { botId } = await setupBotOn(client(urlOf('A')!, { token: ADMIN }), bot.url, {
      acc: ACC,
      vendor: { botId: 'nemesis' },
    });
    log(`bot ${botId} driven by ${await waitForDriver()}`);

    const conversations: Conversation[] = [];
    for (let i = 0; i < o.conversations; i++) {
      const r = await timedCall(urlOf(NAMES[i % NAMES.length])!, 'POST', `/api/account/${ACC}/consumer/conversations`, {
        body: { skill: 'bot' },
        timeoutMs: 10_000,
      });
      if (r.status !== 201) throw new Error(`open: ${r.status} ${JSON.stringify(r.body)}`);
      conversations.push({ id: r.body.conversationId, token: r.body.consumerToken });
    }
    log(`opened ${conversations.length} conversations`);

    /** Every message in every log has its echo; bounded by settleMs. */
    const settle = async (): Promise<boolean> => {
      const pending = new Set(conversations);
      const deadline = Math.min(Date.now() + o.settleMs, runDeadline);
      while (pending.size && Date.now() < deadline) {
        for (const conversation of [...pending]) {
          const events = await readLog(conversation);
          if (events && answered(events)) pending.delete(conversation);
        }
        if (pending.size) await sleep(200);
      }
      if (pending.size) log(`${pending.size} conversations still owed answers after ${o.settleMs} ms`);
      return pending.size === 0;
    };

    load = new Load(conversations, urlOf, { ...o, runDeadline });
    load.start();
    const phases: Phase[] = [];
    for (const fault of o.faults) {
      // A member killed (or dead by itself) comes back as a fresh process under the same name.
      for (const m of members.values()) {
        if (!m.down) continue;
        await launch(m);
        const deadline = Date.now() + startBoundMs;
        while (!(await healthz(m.name)) && Date.now() < deadline) await sleep(100);
        log(`instance ${m.name} started again`);
      }
      await sleep(o.beforeFaultMs);
      const driver = await waitForDriver();
      const target = members.get(driver)!;
      const phase: Phase = {
        fault,
        driver,
        faulted: DRIVER_FAULTS.includes(fault) ? [driver] : [...NAMES],
        start: Date.now(),
        lossAt: 0,
        loadPaused: 0,
        end: 0,
        driverAfter: null,
      };
      phase.lossAt = phase.start + (fault === 'cut' ? o.leaseTtlMs : 0);
      if (phases.length) phases[phases.length - 1].end = phase.start;
      phases.push(phase);
      log(`${fault}: driver ${driver}`);

      /** From the fault until an instance other than the faulted one names another driver. */
      const takeover = async (): Promise<number | null> => {
        const deadline = phase.start + takeoverBoundMs;
        while (Date.now() < deadline) {
          const named = await driverSeenBy([driver]);
          if (named && named !== driver) return Date.now() - phase.start;
          await sleep(100);
        }
        return null;
      };
      if (fault === 'kill') {
        target.killing = true;
        target.proc!.child.kill('SIGKILL');
        await target.proc!.exited;
        phase.takeoverMs = await takeover();
      } else if (fault === 'pause') {
        target.frozen = true;
        target.proc!.child.kill('SIGSTOP');
        const taken = takeover();
        await sleep(o.pauseMs);
        target.proc!.child.kill('SIGCONT');
        target.frozen = false;
        phase.takeoverMs = await taken;
      } else if (fault === 'cut') {
        target.proxy.cut();
        const taken = takeover();
        await sleep(o.cutMs);
        target.proxy.heal();
        phase.takeoverMs = await taken;
      } else {
        await cluster.restart(fault === 'pg-restart-fast' ? 'fast' : 'immediate');
        const restarted = Date.now();
        phase.lossAt = restarted;
        log(`${fault}: PostgreSQL back after ${restarted - phase.start} ms`);
        // Serving again: every instance healthy, and a message sent through each since accepted.
        const ok = new Set<string>();
        const deadline = restarted + serveAgainBoundMs;
        phase.serveAgainMs = null;
        while (Date.now() < deadline) {
          for (const name of NAMES) if (!ok.has(name) && (await healthz(name))) ok.add(name);
          const served = NAMES.every((name) =>
            load!.sends.some((s) => s.instance === name && s.sentAt >= restarted && s.outcome === 'accepted'),
          );
          if (ok.size === NAMES.length && served) {
            phase.serveAgainMs = Date.now() - phase.start;
            break;
          }
          await sleep(100);
        }
      }
      log(
        `${fault}: ${phase.takeoverMs !== undefined ? `takeover ${phase.takeoverMs ?? 'never'} ms` : `serving again ${phase.serveAgainMs ?? 'never'} ms`}`,
      );
      await sleep(o.afterFaultMs);
      phase.loadPaused = Date.now();
      await load.pause();
      await settle();
      phase.driverAfter = (await driverSeenBy([])) ?? null;
      load.resume();
    }
    await load.stop();
    const settled = await settle();
    const ended = Date.now();
    if (phases.length) phases[phases.length - 1].end = ended;

    const logs = new Map<string, any[]>();
    for (const conversation of conversations) {
      let events: any[] | undefined;
      for (let attempt = 0; !events && attempt < 20; attempt++) {
        events = await readLog(conversation);
        if (!events) await sleep(250);
      }
      if (!events) throw new Error(`could not read conversation ${conversation.id} from any instance`);
      logs.set(conversation.id, events);
    }
    const rows = judge(phases, conversations, load.sends, logs, deliveries, exits);
    return {
      rows,
      settled,
      messagesSent: load.sends.length,
      botDeliveries: deliveries.length,
      durationMs: ended - began,
    };
  } finally {
    await load?.stop();
    for (const m of members.values()) {
      m.killing = true;
      const child = m.proc?.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) continue;
      // A stopped process takes SIGKILL too, but SIGCONT first leaves nothing frozen behind if it does not.
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await Promise.all([...members.values()].map((m) => m.proc?.exited));
    if (o.logDir) {
      mkdirSync(o.logDir, { recursive: true });
      for (const [i, { name, proc }] of started.entries())
        writeFileSync(join(o.logDir, `${name}-${i + 1}.log`), `${proc.stdout()}\n--- stderr ---\n${proc.stderr()}`);
      log(`instance logs in ${o.logDir}`);
    }
    await bot.stop();
    for (const m of members.values()) await m.proxy.close();
    try {
      cluster?.stop();
    } catch (error) {
      log(`stopping PostgreSQL: ${String(error).slice(0, 200)}`);
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

/** Every consumer message in the log has its echo. */
function answered(events: any[]): boolean {
  const answers = new Set(botTexts(events));
  return consumerTexts(events).every((m) => answers.has(`echo: ${m}`));
}

/**
 * The consumers: each conversation sends `c{i}-m{j}` at about the rate, message j through instance
 * (i + j) % 3, as a load balancer spreading requests would; a POST is never sent again.
 */
class Load {
  readonly sends: Send[] = [];
  private paused = false;
  private stopped = false;
  private inFlight = 0;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly conversations: Conversation[],
    private readonly urlOf: (name: string) => string | undefined,
    private readonly o: {
      ratePerConversation: number;
      seed: number;
      postTimeoutMs: number;
      runDeadline: number;
    },
  ) {}

  start(): void {
    this.loops = this.conversations.map((conversation, i) => this.consumer(conversation, i));
  }

  /** Until every POST under way has its outcome (each is bounded by its timeout). */
  async pause(): Promise<void> {
    this.paused = true;
    const deadline = Date.now() + this.o.postTimeoutMs + 2_000;
    while (this.inFlight > 0 && Date.now() < deadline) await sleep(20);
  }

  resume(): void {
    this.paused = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async consumer(conversation: Conversation, i: number): Promise<void> {
    const random = seeded(this.o.seed * 7919 + i);
    const interval = 1000 / this.o.ratePerConversation;
    // Not all at once: each conversation starts somewhere in its first interval.
    await sleep(Math.floor(random() * interval));
    const most = Math.ceil((this.o.runDeadline - Date.now()) / interval) * 2;
    for (let j = 0; j < most && !this.stopped && Date.now() < this.o.runDeadline; ) {
      if (this.paused) {
        await sleep(20);
        continue;
      }
      const started = Date.now();
      await this.send(conversation, i, j);
      j++;
      const wait = interval * (0.5 + random()) - (Date.now() - started);
      if (wait > 0) await sleep(wait);
    }
  }

  private async send(conversation: Conversation, i: number, j: number): Promise<void> {
    const instance = NAMES[(i + j) % NAMES.length];
    const message = `c${i}-m${j}`;
    const url = this.urlOf(instance);
    const sentAt = Date.now();
    const record = (outcome: Send['outcome'], why: string) => {
      this.sends.push({
        conversation: i,
        text: message,
        instance,
        sentAt,
        latencyMs: Date.now() - sentAt,
        outcome,
        why,
      });
    };
    if (!url) return record('refused', 'ECONNREFUSED');
    this.inFlight++;
    try {
      const r = await timedCall(url, 'POST', `/api/account/${ACC}/consumer/conversations/${conversation.id}/messages`, {
        body: { text: message },
        token: conversation.token,
        timeoutMs: this.o.postTimeoutMs,
      });
      if (r.status === 201) record('accepted', '201');
      else record('refused', `${r.status} ${r.body?.error?.code ?? ''}`.trim());
    } catch (error) {
      const why = failureOf(error);
      // Refused before anything was sent: the consumer knows it was not taken.
      record(why === 'ECONNREFUSED' ? 'refused' : 'unknown', why);
    } finally {
      this.inFlight--;
    }
  }
}

function judge(
  phases: Phase[],
  conversations: Conversation[],
  sends: Send[],
  logs: Map<string, any[]>,
  deliveries: Delivery[],
  exits: Array<InstanceExit & { at: number }>,
): FaultRow[] {
  const rows: FaultRow[] = phases.map((phase) => ({
    fault: phase.fault,
    driver: phase.driver,
    driverAfter: phase.driverAfter,
    accepted: 0,
    refused: 0,
    unknown: 0,
    lost: 0,
    unanswered: 0,
    answeredTwice: 0,
    outOfOrder: 0,
    botDuplicates: 0,
    botDuplicatesAfterLoss: 0,
    lossAtMs: phase.lossAt - phase.start,
    ...(phase.takeoverMs !== undefined ? { takeoverMs: phase.takeoverMs } : {}),
    botSilentMs: 0,
    worstHealthyAcceptMs: null,
    ...(phase.serveAgainMs !== undefined ? { serveAgainMs: phase.serveAgainMs } : {}),
    exits: [],
    refusedBy: {},
    unknownBy: {},
    examples: [],
  }));
  const told = new Map<string, number>();
  /** At most four examples of a kind per fault: enough to follow one up. */
  const tell = (k: number, kind: string, what: string) => {
    const key = `${k} ${kind}`;
    if ((told.get(key) ?? 0) >= 4) return;
    told.set(key, (told.get(key) ?? 0) + 1);
    rows[k].examples.push(`${kind}: ${what}`);
  };
  const delivered = new Map<string, number[]>();
  for (const d of deliveries)
    for (const line of d.message.split('\n')) delivered.set(line, [...(delivered.get(line) ?? []), d.at]);
  const sendStory = (send: Send, k: number) => {
    const times = (delivered.get(send.text) ?? []).map((at) => at - phases[k].start);
    return `${send.text} of ${conversations[send.conversation].id} via ${send.instance} (${send.why} in ${send.latencyMs} ms, sent at ${send.sentAt - phases[k].start} ms; bot got it at [${times.join(', ')}] ms)`;
  };
  // A fault's window runs from its start to the next one's; what came before the first is the first's.
  const windowOf = (at: number) => {
    for (let k = phases.length - 1; k > 0; k--) if (at >= phases[k].start) return k;
    return 0;
  };
  const bump = (counts: Record<string, number>, key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };

  // What each message became in its conversation's log.
  const fate = new Map<string, { inLog: boolean; answers: number; outOfOrder: boolean }>();
  for (const conversation of conversations) {
    const events = logs.get(conversation.id) ?? [];
    const echoes = new Map<string, number[]>();
    for (const e of events)
      if (e.originator.role === 'BOT' && e.type === 'TEXT' && typeof e.text === 'string' && e.text.startsWith('echo: '))
        echoes.set(e.text.slice('echo: '.length), [...(echoes.get(e.text.slice('echo: '.length)) ?? []), e.sequence]);
    let latestAnswer = -1;
    for (const e of events) {
      if (e.originator.role !== 'CONSUMER' || e.type !== 'TEXT') continue;
      const answers = echoes.get(e.text) ?? [];
      const first = answers.length ? Math.min(...answers) : undefined;
      // An answer before its message, or before the answer to a message sent earlier.
      const outOfOrder = first !== undefined && (first < e.sequence || first < latestAnswer);
      if (first !== undefined) latestAnswer = Math.max(latestAnswer, first);
      fate.set(e.text, { inLog: true, answers: answers.length, outOfOrder });
    }
  }
  for (const send of sends) {
    const k = windowOf(send.sentAt);
    const row = rows[k];
    row[send.outcome]++;
    if (send.outcome === 'refused') bump(row.refusedBy, send.why);
    if (send.outcome === 'unknown') bump(row.unknownBy, `${send.instance} ${send.why}`);
    const f = fate.get(send.text);
    if (!f) {
      if (send.outcome === 'accepted') {
        row.lost++;
        tell(k, 'lost', sendStory(send, k));
      }
      continue;
    }
    if (f.answers === 0) {
      row.unanswered++;
      tell(k, 'unanswered', sendStory(send, k));
    }
    if (f.answers > 1) {
      row.answeredTwice++;
      tell(k, 'answered twice', sendStory(send, k));
    }
    if (f.outOfOrder) {
      row.outOfOrder++;
      tell(k, 'out of order', sendStory(send, k));
    }
  }

  // The bot's side: a second delivery of one conversation's sequence.
  const firstDelivery = new Map<string, number>();
  for (const d of [...deliveries].sort((a, b) => a.at - b.at)) {
    const key = `${d.conversationId} ${d.sequence}`;
    const first = firstDelivery.get(key);
    if (first === undefined) {
      firstDelivery.set(key, d.at);
      continue;
    }
    const k = windowOf(d.at);
    rows[k].botDuplicates++;
    const story = `${d.message} (sequence ${d.sequence}) again at ${d.at - phases[k].start} ms, first at ${first - phases[k].start} ms`;
    // The bot stamps a delivery once its body is read, on the harness's busy event loop: one
    // written just before the fault can be stamped a little after it.
    if (first >= phases[k].lossAt + STAMP_SLACK_MS) {
      rows[k].botDuplicatesAfterLoss++;
      tell(k, 'bot duplicate after loss', story);
    } else tell(k, 'bot duplicate', story);
  }

  const byTime = [...deliveries].sort((a, b) => a.at - b.at);
  phases.forEach((phase, k) => {
    const row = rows[k];
    const upTo = phase.loadPaused || phase.end;
    // The bot's longest silence, counting from the fault itself.
    let last = phase.start;
    for (const d of byTime) {
      if (d.at < phase.start || d.at > upTo) continue;
      row.botSilentMs = Math.max(row.botSilentMs, d.at - last);
      last = Math.max(last, d.at);
    }
    row.botSilentMs = Math.max(row.botSilentMs, upTo - last);
    for (const send of sends) {
      if (send.sentAt < phase.start || send.sentAt > upTo || send.outcome === 'refused') continue;
      if (phase.faulted.length < NAMES.length && phase.faulted.includes(send.instance)) continue;
      row.worstHealthyAcceptMs = Math.max(row.worstHealthyAcceptMs ?? 0, send.latencyMs);
    }
    row.exits = exits.filter((e) => windowOf(e.at) === k).map(({ at, ...e }) => ({ ...e, atMs: at - phase.start }));
  });
  return rows;
}
