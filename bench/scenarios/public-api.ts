/**
 * 4. Public API: send-messages jobs (`POST /api/v1/account/{acc}/conversation/{id}/messages`)
 * into conversations the bot holds; a job is delivered when its text reaches the consumer's
 * stream. Two phases per round:
 *  - closed loop: C clients each send a job and wait for its delivery → executed jobs/s and
 *    request-to-delivery latency at the rate the system sustains;
 *  - burst: C clients send jobs back-to-back without waiting → jobs/s accepted (200 with a
 *    jobId), and jobs/s executed until the last of them was delivered.
 */
import { randomUUID } from 'node:crypto';
import { CpuMeter, measureWindow, type CpuReading, type Proc } from '../lib/procs.js';
import { Http, setupPublicApi, type Conversation } from '../lib/platform.js';
import { distribution, sleep, type Distribution } from '../lib/stats.js';

export interface PublicApiOptions {
  clients: number;
  warmupMs: number;
  durationMs: number;
  rounds: number;
}

export interface PublicApiRound {
  closedLoop: {
    executedPerSecond: number;
    latencyMs: Distribution;
    cpu: CpuReading;
    serverMicrosPerJob: number;
    errors: number;
  };
  burst: {
    acceptedPerSecond: number;
    executedPerSecond: number;
    accepted: number;
    delivered: number;
    latencyMs: Distribution;
    cpu: CpuReading;
    errors: number;
  };
}

export async function runPublicApi(
  server: Proc,
  bot: Proc,
  options: PublicApiOptions,
  log: (s: string) => void,
  quiet: () => Promise<unknown>,
): Promise<PublicApiRound[]> {
  const http = new Http(server.url, options.clients + 8);
  const { bearer, conversations } = await setupPublicApi(
    http,
    bot.url,
    `pa${randomUUID().slice(0, 8)}`,
    options.clients,
  );
  const rounds: PublicApiRound[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    await quiet();
    const closedLoop = await closedLoopPhase(http, server, bot, conversations, bearer, options, round);
    log(
      `  round ${round}: closed loop ${closedLoop.executedPerSecond.toFixed(0)} jobs/s executed, request→delivery p50/p99 ${closedLoop.latencyMs.p50.toFixed(1)}/${closedLoop.latencyMs.p99.toFixed(1)} ms (server cpu ${closedLoop.cpu.server}% = ${closedLoop.serverMicrosPerJob.toFixed(0)} µs/job, others ${closedLoop.cpu.others}%)${closedLoop.errors ? `, ${closedLoop.errors} errors` : ''}`,
    );
    const burst = await burstPhase(http, server, bot, conversations, bearer, options, round);
    log(
      `  round ${round}: burst ${burst.acceptedPerSecond.toFixed(0)} jobs/s accepted, ${burst.executedPerSecond.toFixed(0)} jobs/s executed (${burst.delivered}/${burst.accepted} delivered), request→delivery p99 ${burst.latencyMs.p99.toFixed(0)} ms, others ${burst.cpu.others}%${burst.errors ? `, ${burst.errors} errors` : ''}`,
    );
    rounds.push({ closedLoop, burst });
  }
  for (const c of conversations) c.close();
  await http.close();
  return rounds;
}

const jobPath = (c: Conversation) => `/api/v1/account/${c.acc}/conversation/${c.id}/messages?ttl=120`;

async function closedLoopPhase(
  http: Http,
  server: Proc,
  bot: Proc,
  conversations: Conversation[],
  bearer: string,
  options: PublicApiOptions,
  round: number,
): Promise<PublicApiRound['closedLoop']> {
  const samples: number[] = [];
  let completed = 0;
  let errors = 0;
  const phase = { measuring: false };
  let stop = false;
  const loops = conversations.map(async (c, i) => {
    for (let n = 0; !stop; n++) {
      const text = `c${round}-${i}-${n}`;
      const sent = performance.now();
      const inWindow = phase.measuring;
      const delivered = new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 130_000);
        c.onBotText = (t) => {
          if (t.text !== text) return;
          clearTimeout(timer);
          resolve(t.at);
        };
      });
      const r = await http.call('POST', jobPath(c), { messages: [text] }, bearer).catch(() => undefined);
      if (r?.status !== 200) {
        errors++;
        await sleep(10);
        continue;
      }
      const at = await delivered;
      if (at === undefined) errors++;
      else if (inWindow && phase.measuring) {
        completed++;
        samples.push(at - sent);
      }
    }
  });
  const { windowMs, cpu, serverMs } = await measureWindow(phase, options, server, bot);
  const serverMicrosPerJob = (serverMs * 1000) / completed;
  stop = true;
  await Promise.all(loops);
  return {
    executedPerSecond: (completed * 1000) / windowMs,
    latencyMs: distribution(samples),
    cpu,
    serverMicrosPerJob,
    errors,
  };
}

async function burstPhase(
  http: Http,
  server: Proc,
  bot: Proc,
  conversations: Conversation[],
  bearer: string,
  options: PublicApiOptions,
  round: number,
): Promise<PublicApiRound['burst']> {
  // Indexed by client, then by that client's n-th job. A job's text may reach the stream before
  // its 200 reaches the client (it can run as it is accepted), so each is noted before it is sent.
  const sentAt = conversations.map(() => [] as number[]);
  const deliveredAt = conversations.map(() => [] as number[]);
  const counted = conversations.map(() => [] as boolean[]);
  let accepted = 0;
  let errors = 0;
  let stop = false;
  conversations.forEach((c, i) => {
    const prefix = `b${round}-${i}-`;
    c.onBotText = (t) => {
      if (!t.text.startsWith(prefix)) return;
      const n = Number(t.text.slice(prefix.length));
      if (sentAt[i][n] !== undefined) deliveredAt[i][n] ??= t.at;
    };
  });
  const meter = new CpuMeter(server, bot);
  const start = performance.now();
  const loops = conversations.map(async (c, i) => {
    for (let n = 0; !stop; n++) {
      const text = `b${round}-${i}-${n}`;
      sentAt[i][n] = performance.now();
      const r = await http.call('POST', jobPath(c), { messages: [text] }, bearer).catch(() => undefined);
      if (r?.status === 200 && !stop) {
        counted[i][n] = true;
        accepted++;
      } else if (r?.status !== 200) {
        errors++;
        await sleep(10);
      }
    }
  });
  await sleep(options.durationMs);
  stop = true;
  const windowMs = performance.now() - start;
  const acceptedCpu = meter.read();
  await Promise.all(loops);
  /** The jobs counted as accepted (answered 200 within the window) whose text has reached the stream. */
  const deliveries = () =>
    counted.reduce((sum, jobs, i) => sum + jobs.filter((_, n) => deliveredAt[i][n] !== undefined).length, 0);
  // Jobs answered after the window are not counted, but they are delivered: wait for those too.
  const deadline = Date.now() + 150_000;
  while (deliveries() < accepted && Date.now() < deadline) await sleep(200);
  await sleep(200);
  const latencies: number[] = [];
  let lastDelivery = 0;
  let delivered = 0;
  counted.forEach((jobs, i) => {
    jobs.forEach((_, n) => {
      const at = deliveredAt[i][n];
      if (at === undefined) return;
      delivered++;
      lastDelivery = Math.max(lastDelivery, at);
      latencies.push(at - sentAt[i][n]);
    });
  });
  return {
    acceptedPerSecond: (accepted * 1000) / windowMs,
    executedPerSecond: lastDelivery ? (delivered * 1000) / (lastDelivery - start) : 0,
    accepted,
    delivered,
    latencyMs: distribution(latencies),
    cpu: acceptedCpu,
    errors,
  };
}
