/**
 * 5. Cluster mode (PostgreSQL only): several server processes on one database.
 *
 * Throughput: the throughput scenario's closed loop (C conversations, a message counted when the
 * bot's reply reaches the consumer's stream) against 1 instance, then 2 instances on the same
 * database, the conversations spread round-robin over them (open, messages and stream on the same
 * instance, as a sticky load balancer would). With one bot, one instance drives it and the other
 * only accepts messages and serves streams, hearing of replies through LISTEN/NOTIFY; a third
 * phase splits the conversations over two bots, which the leases share out one per instance.
 *
 * Failover: N instances, a started bot; kill -9 of the instance the bot view names as driver,
 * then a message every ~100 ms through a survivor on one conversation: the time from the kill to
 * the first reply reaching that survivor's stream, and to the bot view naming the new driver.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { ADMIN_TOKEN, type Proc } from '../lib/procs.js';
import { Http, openConversation, sayAndAwait, setupAccount, type BenchAccount } from '../lib/platform.js';
import { forEachLimited, sleep } from '../lib/stats.js';
import { openPlaced, platformPhase, type Phase, type Placed } from './throughput.js';

/** What the harness provides: fresh databases and instances of the server on them. */
export interface ClusterHost {
  freshDatabase(name: string): Promise<{ databaseUrl: string; drop(): Promise<void> }>;
  /** Starts one instance (INSTANCE_ID `instance`) on the database; `group` names its logs. */
  startInstance(group: string, instance: string, databaseUrl: string, secretKey: string): Promise<Proc>;
}

export interface ClusterOptions {
  conversations: number;
  warmupMs: number;
  durationMs: number;
  rounds: number;
  /** Instances in the failover rounds (at least 2). */
  failoverInstances: number;
}

type ClusterPhase = Phase & { db: DatabaseWork };

export interface ClusterThroughputRound {
  one: ClusterPhase;
  /** 2 instances, the same single bot (driven by one of them). */
  twoOneBot: ClusterPhase;
  /** 2 instances, conversations over two bots, one driven by each instance. */
  twoTwoBots: ClusterPhase;
  ratioOneBot: number;
  ratioTwoBots: number;
  drivers: { oneBot: string; twoBots: string[] };
  /** warn/error lines the instances logged during the round (level ≥ 40), by message. */
  serverLogProblems: Record<string, number>;
}

export interface FailoverRound {
  killed: string;
  /** The survivor the messages (and the stream) went through. */
  via: string;
  newDriver: string | null;
  /** kill -9 → first reply of a message sent after the kill, on the survivor's stream (ms). */
  firstReplyMs: number;
  /** kill -9 → a survivor's bot view names a survivor as the driver (ms). */
  viewMs: number;
  /** Which survivor's view named it first. */
  viewVia: string | null;
  /** kill -9 → the last message sent before the first reply was answered (ms): backlog drained. */
  backlogDrainedMs: number;
  sent: number;
  /** Messages refused by the survivor (non-201 or a failed request). */
  refused: number;
  /** Sent messages whose reply never reached the stream (within 20 s after the last send). */
  missing: number;
  /** Extra copies of a reply on the stream. */
  duplicateReplies: number;
  /** Replies in the stored conversation beyond one per message (the store's view of duplicates). */
  storedDuplicates: number;
  /** Replies that came before the reply of a message sent earlier. */
  outOfOrder: number;
  /** Event requests the bot received in the round minus the messages sent (0: each reached it once). */
  botEventsExtra: number;
  serverLogProblems: Record<string, number>;
}

const until = async <T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
  ms = 60_000,
  every = 50,
): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== null && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(every);
  }
};

async function driverOf(http: Http, account: BenchAccount): Promise<string | null> {
  const r = await http.call('GET', `/admin/v1/accounts/${account.acc}/bots/${account.botId}`, undefined, ADMIN_TOKEN);
  return r.status === 200 ? ((r.body?.instance as string | null) ?? null) : null;
}

/**
 * pino lines at warn or above that the instances logged since the last call (per log file),
 * counted by message: errors the load provoked that the figures alone would not show.
 */
class LogProblems {
  private readonly offsets = new Map<string, number>();

  read(procs: Proc[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of procs) {
      let text: string;
      try {
        text = readFileSync(p.logFile, 'utf8');
      } catch {
        continue;
      }
      const from = this.offsets.get(p.logFile) ?? 0;
      this.offsets.set(p.logFile, text.length);
      for (const line of text.slice(from).split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
          if ((entry.level ?? 0) < 40) continue;
          const key = `${entry.msg ?? '?'}${entry.err?.message ? `: ${entry.err.message.slice(0, 160)}` : ''}`;
          out[key] = (out[key] ?? 0) + 1;
        } catch {
          // not a log record
        }
      }
    }
    return out;
  }
}

function describeProblems(problems: Record<string, number>): string {
  const entries = Object.entries(problems);
  return entries.length ? entries.map(([m, n]) => `${n}× ${m}`).join('; ') : 'none';
}

/** The database's work per consumer message (answered), from pg_stat_database. */
export interface DatabaseWork {
  messages: number;
  /** Transactions committed or rolled back: each statement outside a transaction is one. */
  transactions: number;
  rowsRead: number;
  rowsWritten: number;
  /** Per table (the six most read): scans (sequential + index) and rows they read, per message. */
  tables: { table: string; scans: number; rows: number }[];
}

type TableCounters = { scans: number; rows: number };
type PgCounters = { xacts: number; read: number; written: number; tables: Map<string, TableCounters> };

async function pgCounters(databaseUrl: string): Promise<PgCounters> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ xacts: string; read: string; written: string }>(
      `select xact_commit + xact_rollback as xacts, tup_returned + tup_fetched as read, tup_inserted + tup_updated + tup_deleted as written
       from pg_stat_database where datname = current_database()`,
    );
    const perTable = await client.query<{ relname: string; scans: string; rows: string }>(
      'select relname, seq_scan + coalesce(idx_scan, 0) as scans, seq_tup_read + coalesce(idx_tup_fetch, 0) as rows from pg_stat_user_tables',
    );
    const tables = new Map(perTable.rows.map((t) => [t.relname, { scans: Number(t.scans), rows: Number(t.rows) }]));
    return { xacts: Number(rows[0].xacts), read: Number(rows[0].read), written: Number(rows[0].written), tables };
  } finally {
    await client.end();
  }
}

/**
 * A backend that goes idle with unreported statistics reports them after 10 s (PostgreSQL 15's
 * PGSTAT_IDLE_INTERVAL), so the counters are read once that long has passed without load.
 */
const STATS_SETTLE_MS = 11_000;
const COUNTED_MESSAGES_PER_CONVERSATION = 3;

/**
 * Counts what a known number of messages cost the database: every conversation sends a few
 * messages (awaiting each reply), between two readings of the counters. The closed loop's own
 * count would mix in the warm-up and the statistics still pending at its end.
 */
async function databaseWork(databaseUrl: string, placed: Placed[], tag: string): Promise<DatabaseWork> {
  await sleep(STATS_SETTLE_MS);
  const before = await pgCounters(databaseUrl);
  for (let k = 0; k < COUNTED_MESSAGES_PER_CONVERSATION; k++) {
    await forEachLimited(placed.length, placed.length, async (i) => {
      await sayAndAwait(placed[i].http, placed[i].c, `${tag}-db${k}`, `echo ${tag}-db${k}`);
    });
  }
  await sleep(STATS_SETTLE_MS);
  const after = await pgCounters(databaseUrl);
  const messages = placed.length * COUNTED_MESSAGES_PER_CONVERSATION;
  const zero: TableCounters = { scans: 0, rows: 0 };
  const tables = [...after.tables]
    .map(([table, a]) => {
      const b = before.tables.get(table) ?? zero;
      return { table, scans: (a.scans - b.scans) / messages, rows: (a.rows - b.rows) / messages };
    })
    .filter((t) => t.scans > 0)
    .sort((p, q) => q.rows - p.rows || q.scans - p.scans)
    .slice(0, 6);
  return {
    tables,
    messages,
    // Minus the reading itself (one transaction).
    transactions: (after.xacts - before.xacts - 1) / messages,
    rowsRead: (after.read - before.read) / messages,
    rowsWritten: (after.written - before.written) / messages,
  };
}

/** Opens C conversations spread over the servers, runs the closed loop, counts the database's work per message, closes them. */
async function closedLoop(
  https: Http[],
  servers: Proc[],
  bot: Proc,
  accounts: BenchAccount[],
  databaseUrl: string,
  options: ClusterOptions,
  tag: string,
): Promise<Phase & { db: DatabaseWork }> {
  const placed = await openPlaced(https, accounts, options.conversations, 50);
  const phase = await platformPhase(placed, servers, bot, options, tag);
  const db = await databaseWork(databaseUrl, placed, tag);
  // Closed so the next phase runs with the same number of open conversations.
  await forEachLimited(placed.length, 50, async (i) => {
    const { c, http } = placed[i];
    c.close();
    await http.call('POST', `/api/account/${c.acc}/consumer/conversations/${c.id}/close`, undefined, c.token);
  });
  return { ...phase, db };
}

/** PostgreSQL's CPU time per message counted (µs). */
export const pgMicrosPerMessage = (p: Phase) => (p.cpu.database * 10_000) / p.rate;

function phaseLine(label: string, p: ClusterPhase): string {
  return (
    `${label}: ${p.rate.toFixed(0)} msg/s, e2e p50/p99 ${p.latencyMs.p50.toFixed(1)}/${p.latencyMs.p99.toFixed(1)} ms ` +
    `(servers ${p.cpu.server}% = ${p.serverMicrosPerMessage.toFixed(0)} µs/msg, postgres ${p.cpu.database}% = ${pgMicrosPerMessage(p).toFixed(0)} µs/msg, bot ${p.cpu.bot}%, generator ${p.cpu.generator}%, others ${p.cpu.others}%)` +
    `${p.errors ? `, ${p.errors} errors` : ''}${p.strays ? `, ${p.strays} stray replies` : ''}; ` +
    `per message (${p.db.messages} counted): ${p.db.transactions.toFixed(1)} PostgreSQL transactions, ${p.db.rowsRead.toFixed(0)} rows read, ${p.db.rowsWritten.toFixed(1)} written; ` +
    `by table (scans, rows read): ${p.db.tables.map((t) => `${t.table} ${t.scans.toFixed(1)}, ${t.rows.toFixed(1)}`).join('; ')}`
  );
}

export async function runClusterThroughput(
  host: ClusterHost,
  bot: Proc,
  options: ClusterOptions,
  log: (s: string) => void,
  quiet: () => Promise<unknown>,
): Promise<ClusterThroughputRound[]> {
  const rounds: ClusterThroughputRound[] = [];
  const perServer = Math.ceil(options.conversations / 2) + 16;
  for (let round = 1; round <= options.rounds; round++) {
    const group = `cluster${round}`;
    const db = await host.freshDatabase(group);
    const secretKey = randomBytes(32).toString('base64');
    const procs: Proc[] = [];
    const https: Http[] = [];
    try {
      const a = await host.startInstance(group, 'bench-a', db.databaseUrl, secretKey);
      procs.push(a);
      const httpA = new Http(a.url, options.conversations + 16);
      https.push(httpA);
      const x = await setupAccount(httpA, bot.url, `cx${randomUUID().slice(0, 8)}`);
      await until('the bot driven', () => driverOf(httpA, x));
      await quiet();
      const one = await closedLoop([httpA], [a], bot, [x], db.databaseUrl, options, `c${round}one`);
      log(`  round ${round}: ${phaseLine('1 instance', one)}`);

      const b = await host.startInstance(group, 'bench-b', db.databaseUrl, secretKey);
      procs.push(b);
      const httpB = new Http(b.url, perServer);
      https.push(httpB);
      // B has run a lease round (it knows who drives the bot) before it takes load.
      const driverX = await until('B naming the driver', () => driverOf(httpB, x));
      // Each phase after its own quiet check: the ratios compare phases minutes apart on a shared machine.
      await quiet();
      const twoOneBot = await closedLoop([httpA, httpB], [a, b], bot, [x], db.databaseUrl, options, `c${round}two`);
      log(`  round ${round}: ${phaseLine(`2 instances, 1 bot (driven by ${driverX})`, twoOneBot)}`);

      const y = await setupAccount(httpB, bot.url, `cy${randomUUID().slice(0, 8)}`);
      // The leases give each instance one bot within a round or two (2 s each).
      const drivers = await until(
        'the two bots driven by different instances',
        async () => {
          const named = await Promise.all([
            driverOf(httpA, x),
            driverOf(httpA, y),
            driverOf(httpB, x),
            driverOf(httpB, y),
          ]);
          return named.every(Boolean) && named[0] !== named[1] && named[0] === named[2] && named[1] === named[3]
            ? (named.slice(0, 2) as string[])
            : undefined;
        },
        30_000,
        200,
      );
      await quiet();
      const twoTwoBots = await closedLoop(
        [httpA, httpB],
        [a, b],
        bot,
        [x, y],
        db.databaseUrl,
        options,
        `c${round}twob`,
      );
      log(`  round ${round}: ${phaseLine(`2 instances, 2 bots (${drivers.join(', ')})`, twoTwoBots)}`);
      const serverLogProblems = new LogProblems().read(procs);
      log(
        `  round ${round}: 2/1 instances ${((twoOneBot.rate / one.rate) * 100).toFixed(0)} % (one bot), ${((twoTwoBots.rate / one.rate) * 100).toFixed(0)} % (two bots); server warnings/errors: ${describeProblems(serverLogProblems)}`,
      );
      rounds.push({
        one,
        twoOneBot,
        twoTwoBots,
        ratioOneBot: twoOneBot.rate / one.rate,
        ratioTwoBots: twoTwoBots.rate / one.rate,
        drivers: { oneBot: driverX, twoBots: drivers },
        serverLogProblems,
      });
    } finally {
      await Promise.all(https.map((h) => h.close()));
      await Promise.all(procs.map((p) => p.stop()));
      await db.drop();
    }
  }
  return rounds;
}

interface Instance {
  name: string;
  proc: Proc;
  http: Http;
}

/** Event requests the fast bot has answered so far. */
async function botEvents(http: Http): Promise<number> {
  const r = await http.ok('GET', '/stats', undefined, 'bench');
  return Number(r.body.events);
}

export async function runFailover(
  host: ClusterHost,
  bot: Proc,
  options: ClusterOptions,
  log: (s: string) => void,
  quiet: () => Promise<unknown>,
): Promise<FailoverRound[]> {
  const n = Math.max(2, options.failoverInstances);
  const names = Array.from({ length: n }, (_, i) => `bench-${String.fromCharCode(97 + i)}`);
  const group = 'failover';
  const db = await host.freshDatabase(group);
  const secretKey = randomBytes(32).toString('base64');
  const live = new Map<string, Instance>();
  const all: Proc[] = [];
  const start = async (name: string) => {
    const proc = await host.startInstance(group, name, db.databaseUrl, secretKey);
    all.push(proc);
    live.set(name, { name, proc, http: new Http(proc.url, 8) });
  };
  const botHttp = new Http(bot.url, 2);
  const problems = new LogProblems();
  const rounds: FailoverRound[] = [];
  try {
    // The first one migrates the empty database; then the others.
    await start(names[0]);
    await Promise.all(names.slice(1).map(start));
    const account = await setupAccount(live.get(names[0])!.http, bot.url, `fo${randomUUID().slice(0, 8)}`);

    for (let round = 1; round <= options.rounds; round++) {
      // Every instance names the same live driver: the cluster is settled (also after a restart).
      const driver = await until('a settled driver', async () => {
        const named = await Promise.all([...live.values()].map((i) => driverOf(i.http, account)));
        return named[0] && live.has(named[0]) && named.every((d) => d === named[0]) ? named[0] : undefined;
      });
      const survivors = [...live.values()].filter((i) => i.name !== driver);
      const via = survivors[(round - 1) % survivors.length];
      const c = await openConversation(via.http, account);
      await sayAndAwait(via.http, c, `before ${round}`, `echo before ${round}`);
      await quiet();
      problems.read(all);
      const eventsBefore = await botEvents(botHttp);

      const sentAt: number[] = [];
      const replies = new Map<number, number[]>();
      const replyOrder: number[] = [];
      let refused = 0;
      let firstReplyAt = NaN;
      let viewAt = NaN;
      let viewVia: string | null = null;
      let newDriver: string | null = null;
      const prefix = `echo f${round}-`;
      c.onBotText = (t) => {
        if (!t.text.startsWith(prefix)) return;
        const k = Number(t.text.slice(prefix.length));
        const seen = replies.get(k) ?? [];
        seen.push(t.at);
        replies.set(k, seen);
        if (seen.length === 1) replyOrder.push(k);
        if (Number.isNaN(firstReplyAt)) firstReplyAt = t.at;
      };

      const killed = live.get(driver)!;
      live.delete(driver);
      const killedAt = performance.now();
      await killed.proc.kill();
      await killed.http.close();

      let sending = true;
      const sender = (async () => {
        for (let k = 0; sending; k++) {
          const at = performance.now();
          sentAt[k] = at;
          via.http.call('POST', c.messagesPath, { text: `f${round}-${k}` }, c.token).then(
            (r) => void (r.status !== 201 && refused++),
            () => refused++,
          );
          await sleep(Math.max(0, 100 - (performance.now() - at)));
        }
      })();
      const viewer = (async () => {
        while (Number.isNaN(viewAt) && performance.now() - killedAt < 60_000) {
          await Promise.all(
            survivors.map(async (s) => {
              const named = await driverOf(s.http, account).catch(() => null);
              if (named && live.has(named) && Number.isNaN(viewAt)) {
                viewAt = performance.now();
                viewVia = s.name;
                newDriver = named;
              }
            }),
          );
          await sleep(100);
        }
      })();
      await until('the first reply after the kill', async () => !Number.isNaN(firstReplyAt), 60_000, 20).catch(
        () => undefined,
      );
      await viewer;
      // A second more of messages through the new driver, then every message should be answered.
      await sleep(1000);
      sending = false;
      await sender;
      const sent = sentAt.length;
      await until('every message answered', async () => replies.size >= sent, 20_000, 50).catch(() => undefined);
      // Late copies, if any, arrive in this second.
      await sleep(1000);

      let outOfOrder = 0;
      for (let i = 1; i < replyOrder.length; i++) if (replyOrder[i] < replyOrder[i - 1]) outOfOrder++;
      let duplicateReplies = 0;
      for (const seen of replies.values()) duplicateReplies += seen.length - 1;
      const firstReplied = replyOrder[0];
      // The backlog: messages sent before the first reply came; drained when the last of them is answered.
      const backlog = sentAt.flatMap((at, k) => (at < firstReplyAt ? [k] : []));
      const backlogDrainedAt = Math.max(...backlog.map((k) => replies.get(k)?.[0] ?? NaN));
      const conversation = await via.http.ok(
        'GET',
        `/admin/v1/accounts/${account.acc}/conversations/${c.id}`,
        undefined,
        ADMIN_TOKEN,
      );
      const storedTexts = (conversation.body.events as { originator: { role: string }; type: string; text?: string }[])
        .filter((e) => e.originator.role === 'BOT' && e.type === 'TEXT' && e.text?.startsWith(prefix))
        .map((e) => e.text);
      const eventsAfter = await botEvents(botHttp);
      const result: FailoverRound = {
        killed: driver,
        via: via.name,
        newDriver,
        firstReplyMs: firstReplyAt - killedAt,
        viewMs: viewAt - killedAt,
        viewVia,
        backlogDrainedMs: backlogDrainedAt - killedAt,
        sent,
        refused,
        missing: sent - replies.size,
        duplicateReplies,
        storedDuplicates: storedTexts.length - new Set(storedTexts).size,
        outOfOrder,
        botEventsExtra: eventsAfter - eventsBefore - sent,
        serverLogProblems: problems.read(all),
      };
      log(
        `  round ${round}: killed ${driver} (the driver); via ${via.name}: first reply ${result.firstReplyMs.toFixed(0)} ms after the kill (message ${firstReplied}, sent at +${(sentAt[firstReplied] - killedAt).toFixed(0)} ms), ` +
          `view names ${newDriver} after ${result.viewMs.toFixed(0)} ms (on ${viewVia}), backlog of ${backlog.length} answered by ${result.backlogDrainedMs.toFixed(0)} ms; ` +
          `${sent} sent, ${refused} refused, ${result.missing} unanswered, ${duplicateReplies} duplicate replies on the stream, ${result.storedDuplicates} stored, ${outOfOrder} out of order, bot saw ${result.botEventsExtra >= 0 ? '+' : ''}${result.botEventsExtra} events beyond one per message; ` +
          `survivors' warnings/errors: ${describeProblems(result.serverLogProblems)}`,
      );
      rounds.push(result);
      c.close();
      // The killed instance comes back as an ordinary member for the next round.
      await start(driver);
    }
  } finally {
    await botHttp.close();
    await Promise.all([...live.values()].map((i) => i.http.close()));
    await Promise.all(all.map((p) => p.stop()));
    await db.drop();
  }
  return rounds;
}
