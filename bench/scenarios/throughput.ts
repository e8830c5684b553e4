/**
 * 1. Throughput and added latency. C consumer conversations each send messages back-to-back; a
 * message counts when the bot's reply reaches the consumer's WebSocket stream. Same round:
 * the raw-bot baseline (C concurrent requests straight to the bot's events endpoint), and the
 * platform at half the rate it just reached, open loop, where latency is the added cost rather
 * than queueing.
 */
import { randomUUID } from 'node:crypto';
import { measureWindow, type CpuReading, type Proc } from '../lib/procs.js';
import { Http, openConversation, setupAccount, type BenchAccount, type Conversation } from '../lib/platform.js';
import { distribution, forEachLimited, sleep, spread, type Distribution } from '../lib/stats.js';
import { consumerTextEvent } from '../lib/events.js';

export interface ThroughputOptions {
  conversations: number;
  warmupMs: number;
  durationMs: number;
  rounds: number;
}

export interface Phase {
  rate: number;
  latencyMs: Distribution;
  addedMs: Distribution;
  botMicros: Distribution;
  cpu: CpuReading;
  /** Server CPU time per message counted (µs): the platform's own cost, robust to a busy machine. */
  serverMicrosPerMessage: number;
  /** Messages refused, or not answered within 60 s. */
  errors: number;
  /** Bot texts on a stream that were not the reply awaited there (a duplicate, or a late one); platform phases only. */
  strays?: number;
}

export interface ThroughputRound {
  baseline: Phase;
  max: Phase;
  half: Phase & { targetRate: number };
  ratio: number;
  /** The minimal relay (bench/floor.ts) in the same closed loop, when it runs. */
  floor?: Phase;
  /** The floor at botbridge's half rate, open loop: the latency this machine adds to any relay at that load. */
  floorHalf?: Phase;
  /**
   * botbridge ÷ floor again, from short phases of the two taken in turn (each pair seconds apart,
   * where the long phases are tens of seconds apart): the median pair's ratios. This machine's
   * speed drifts between long phases by more than the steps worth measuring.
   */
  alternating?: { pairs: number; cpuRatio: number; throughputRatio: number };
}

/** Pairs of short phases, botbridge then the floor, per round. */
const ALTERNATING_PAIRS = 5;
const ALTERNATING_PHASE = { warmupMs: 500, durationMs: 2_000 };

interface Sample {
  latency: number;
  botMicros: number;
}

function summarize(
  samples: Sample[],
  completedInWindow: number,
  windowMs: number,
  cpu: Phase['cpu'],
  serverMs: number,
  errors: number,
): Phase {
  return {
    serverMicrosPerMessage: (serverMs * 1000) / completedInWindow,
    rate: (completedInWindow * 1000) / windowMs,
    latencyMs: distribution(samples.map((s) => s.latency)),
    addedMs: distribution(samples.map((s) => s.latency - s.botMicros / 1000)),
    botMicros: distribution(samples.map((s) => s.botMicros)),
    cpu,
    errors,
  };
}

/** The cost if the platform were free: C loops posting the connector's event body straight to the bot. */
async function baselinePhase(bot: Proc, options: ThroughputOptions, conversationIds: string[]): Promise<Phase> {
  const http = new Http(bot.url, options.conversations);
  const token = 'bench-baseline-token';
  const samples: Sample[] = [];
  let completed = 0;
  let errors = 0;
  let stop = false;
  const phase = { measuring: false };
  const loop = async (i: number) => {
    const id = conversationIds[i];
    const path = `/v1/bots/bench/environments/draft/conversations/${id}/events`;
    for (let n = 0; !stop; n++) {
      const message = `m${i}-${n}`;
      const body = JSON.stringify(consumerTextEvent(id, n + 1, message));
      const sent = performance.now();
      const inWindow = phase.measuring;
      try {
        const r = await http.call('POST', path, body, token);
        if (r.status !== 200 || !Array.isArray(r.body?.response)) throw new Error(`bot answered ${r.status}`);
        if (inWindow && phase.measuring) {
          completed++;
          samples.push({ latency: performance.now() - sent, botMicros: Number(r.headers['x-bot-handling-us'] ?? 0) });
        }
      } catch {
        errors++;
        await sleep(10);
      }
    }
  };
  const loops = conversationIds.map((_, i) => loop(i));
  const { windowMs, cpu } = await measureWindow(phase, options, undefined, bot);
  stop = true;
  await Promise.all(loops);
  await http.close();
  return summarize(samples, completed, windowMs, cpu, NaN, errors);
}

/**
 * A conversation and the server it was opened on, which also takes its messages and serves its
 * stream: a load balancer's sticky placement. One server, or several cluster instances.
 */
export interface Placed {
  c: Conversation;
  http: Http;
}

/**
 * Opens `n` conversations round-robin over the servers (one Http per server), as a load balancer
 * would spread them; with several accounts, each server gets conversations of every account.
 */
export async function openPlaced(
  servers: Http[],
  accounts: BenchAccount[],
  n: number,
  concurrency: number,
): Promise<Placed[]> {
  const out: Placed[] = new Array(n);
  await forEachLimited(n, concurrency, async (i) => {
    const http = servers[i % servers.length];
    const account = accounts[Math.floor(i / servers.length) % accounts.length];
    out[i] = { c: await openConversation(http, account), http };
  });
  return out;
}

/**
 * The platform: each conversation sends its next message when the bot's answer to the previous
 * one reached its stream (closed loop), or, with `rate`, messages are scheduled at that rate on
 * idle conversations and latency counts from the scheduled time (no coordinated omission).
 * `servers` are the processes whose CPU is counted (all the instances the conversations use);
 * `tag` makes this phase's texts unique.
 */
export async function platformPhase(
  placed: Placed[],
  servers: Proc[],
  bot: Proc,
  timing: { warmupMs: number; durationMs: number },
  tag: string,
  rate?: number,
): Promise<Phase> {
  const samples: Sample[] = [];
  let completed = 0;
  let errors = 0;
  let strays = 0;
  let stop = false;
  const phase = { measuring: false };
  let inFlight = 0;

  // One message in flight per conversation: send, resolve on the bot's echo of it.
  const send = ({ c, http }: Placed, n: number, scheduledAt: number) =>
    new Promise<void>((resolve) => {
      const text = `${tag}-${n}`;
      const expect = `echo ${text}`;
      const inWindow = phase.measuring;
      inFlight++;
      let done = false;
      const finish = (failed: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (failed) errors++;
        inFlight--;
        // A later copy of this reply (or of an earlier one) is a stray, not another completion.
        c.onBotText = () => strays++;
        resolve();
      };
      const timer = setTimeout(() => finish(true), 60_000);
      c.onBotText = (t) => {
        if (t.text !== expect) {
          strays++;
          return;
        }
        if (inWindow && phase.measuring) {
          completed++;
          samples.push({ latency: t.at - scheduledAt, botMicros: t.botMicros });
        }
        finish(false);
      };
      http.call('POST', c.messagesPath, { text }, c.token).then(
        (r) => {
          if (r.status !== 201) finish(true);
        },
        () => finish(true),
      );
    });

  let loops: Promise<void>[] = [];
  let scheduler: NodeJS.Timeout | undefined;
  if (rate === undefined) {
    loops = placed.map(async (p) => {
      for (let n = 0; !stop; n++) await send(p, n, performance.now());
    });
  } else {
    // Open loop at `rate`: every millisecond, the sends now due go to idle conversations.
    const idle = [...placed];
    const backlog: number[] = [];
    const started = performance.now();
    let scheduled = 0;
    let n = 0;
    const dispatch = () => {
      const now = performance.now();
      const due = Math.floor(((now - started) * rate) / 1000);
      for (; scheduled < due; scheduled++) backlog.push(started + (scheduled * 1000) / rate);
      while (backlog.length && idle.length) {
        const c = idle.pop()!;
        void send(c, n++, backlog.shift()!).then(() => idle.push(c));
      }
    };
    scheduler = setInterval(dispatch, 1);
  }
  const { windowMs, cpu, serverMs } = await measureWindow(phase, timing, servers, bot);
  stop = true;
  if (scheduler) clearInterval(scheduler);
  await Promise.all(loops);
  const deadline = Date.now() + 60_000;
  while (inFlight > 0 && Date.now() < deadline) await sleep(20);
  return { ...summarize(samples, completed, windowMs, cpu, serverMs, errors), strays };
}

export async function runThroughput(
  server: Proc,
  bot: Proc,
  options: ThroughputOptions,
  log: (s: string) => void,
  quiet: () => Promise<unknown>,
  floor?: Proc,
): Promise<ThroughputRound[]> {
  const http = new Http(server.url, options.conversations + 16);
  const account: BenchAccount = await setupAccount(http, bot.url, `tp${randomUUID().slice(0, 8)}`);
  const conversations = await openPlaced([http], [account], options.conversations, 50);
  // The floor takes the same conversations' worth of load through the same routes and loop.
  const floorHttp = floor ? new Http(floor.url, options.conversations + 16) : undefined;
  const floorConversations = floorHttp
    ? await openPlaced([floorHttp], [{ acc: 'floor', botId: 'bench', skill: 'bench' }], options.conversations, 50)
    : [];
  const baselineIds = conversations.map(() => randomUUID());
  const rounds: ThroughputRound[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    await quiet();
    const baseline = await baselinePhase(bot, options, baselineIds);
    log(
      `  round ${round}: baseline ${baseline.rate.toFixed(0)} msg/s, p99 ${baseline.latencyMs.p99.toFixed(2)} ms (bot cpu ${baseline.cpu.bot}%, generator ${baseline.cpu.generator}%, others ${baseline.cpu.others}%)`,
    );
    const max = await platformPhase(conversations, [server], bot, options, `r${round}m`);
    log(
      `  round ${round}: platform ${max.rate.toFixed(0)} msg/s, e2e p50/p99 ${max.latencyMs.p50.toFixed(2)}/${max.latencyMs.p99.toFixed(2)} ms (server cpu ${max.cpu.server}% = ${max.serverMicrosPerMessage.toFixed(0)} µs/msg, ${max.cpu.database ? `postgres ${max.cpu.database}%, ` : ''}bot ${max.cpu.bot}%, generator ${max.cpu.generator}%, others ${max.cpu.others}%)${max.errors ? `, ${max.errors} errors` : ''}`,
    );
    let floorPhase: Phase | undefined;
    if (floor) {
      await quiet();
      floorPhase = await platformPhase(floorConversations, [floor], bot, options, `r${round}f`);
      log(
        `  round ${round}: floor ${floorPhase.rate.toFixed(0)} msg/s, e2e p50/p99 ${floorPhase.latencyMs.p50.toFixed(2)}/${floorPhase.latencyMs.p99.toFixed(2)} ms (floor cpu ${floorPhase.cpu.server}% = ${floorPhase.serverMicrosPerMessage.toFixed(0)} µs/msg); botbridge ÷ floor: ${((max.rate / floorPhase.rate) * 100).toFixed(0)} % of its throughput, ${(max.serverMicrosPerMessage / floorPhase.serverMicrosPerMessage).toFixed(2)}× its CPU per message${floorPhase.errors ? `, ${floorPhase.errors} errors` : ''}`,
      );
    }
    const targetRate = max.rate / 2;
    const half = await platformPhase(conversations, [server], bot, options, `r${round}h`, targetRate);
    log(
      `  round ${round}: half rate ${half.rate.toFixed(0)}/${targetRate.toFixed(0)} msg/s, added p50/p95/p99 ${half.addedMs.p50.toFixed(2)}/${half.addedMs.p95.toFixed(2)}/${half.addedMs.p99.toFixed(2)} ms (server cpu ${half.cpu.server}%)${half.errors ? `, ${half.errors} errors` : ''}`,
    );
    let floorHalf: Phase | undefined;
    if (floor) {
      floorHalf = await platformPhase(floorConversations, [floor], bot, options, `r${round}fh`, targetRate);
      log(
        `  round ${round}: floor at botbridge's half rate ${floorHalf.rate.toFixed(0)}/${targetRate.toFixed(0)} msg/s, added p50/p95/p99 ${floorHalf.addedMs.p50.toFixed(2)}/${floorHalf.addedMs.p95.toFixed(2)}/${floorHalf.addedMs.p99.toFixed(2)} ms (floor cpu ${floorHalf.cpu.server}%)`,
      );
    }
    let alternating: ThroughputRound['alternating'];
    if (floor) {
      const cpu: number[] = [];
      const throughput: number[] = [];
      for (let pair = 1; pair <= ALTERNATING_PAIRS; pair++) {
        const b = await platformPhase(conversations, [server], bot, ALTERNATING_PHASE, `r${round}a${pair}`);
        const f = await platformPhase(floorConversations, [floor], bot, ALTERNATING_PHASE, `r${round}b${pair}`);
        cpu.push(b.serverMicrosPerMessage / f.serverMicrosPerMessage);
        throughput.push(b.rate / f.rate);
      }
      alternating = {
        pairs: ALTERNATING_PAIRS,
        cpuRatio: spread(cpu).median,
        throughputRatio: spread(throughput).median,
      };
      log(
        `  round ${round}: alternating ${ALTERNATING_PAIRS} pairs of ${ALTERNATING_PHASE.durationMs / 1000} s: botbridge ÷ floor CPU per message ${cpu.map((r) => r.toFixed(2)).join(' ')} (median ${alternating.cpuRatio.toFixed(2)}×), throughput ${throughput.map((r) => (r * 100).toFixed(0)).join(' ')} % (median ${(alternating.throughputRatio * 100).toFixed(1)} %)`,
      );
    }
    rounds.push({
      baseline,
      max,
      half: { ...half, targetRate },
      ratio: max.rate / baseline.rate,
      ...(floorPhase ? { floor: floorPhase } : {}),
      ...(floorHalf ? { floorHalf } : {}),
      ...(alternating ? { alternating } : {}),
    });
  }
  for (const p of [...conversations, ...floorConversations]) p.c.close();
  await http.close();
  await floorHttp?.close();
  return rounds;
}
