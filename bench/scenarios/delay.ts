/**
 * 3. Delay fan-out: N conversations each send a message at once (as fast as the generator can
 * send them); the bot answers text, a 2-second DELAY, text. For each conversation, the second
 * text should arrive 2 s after the first; how late it is shows whether DELAYs block anything.
 */
import { randomUUID } from 'node:crypto';
import { CpuMeter, type CpuReading, type Proc } from '../lib/procs.js';
import { Http, openConversations, setupAccount, type Conversation } from '../lib/platform.js';
import { distribution, forEachLimited, sleep, type Distribution } from '../lib/stats.js';

export interface DelayOptions {
  conversations: number;
  rounds: number;
  /** Messages in flight while sending the burst. */
  concurrency: number;
  delaySeconds: number;
}

export interface DelayRound {
  conversations: number;
  /** Time to send the N messages (all answered 201). */
  sendSeconds: number;
  /** From the first send until every first text arrived. */
  firstTextsSeconds: number;
  /** Per conversation: second text arrival − first text arrival − the delay (ms). */
  lateMs: Distribution;
  /** From the first send until the last second text arrived, minus the delay (s). */
  totalSeconds: number;
  missing: number;
  cpu: CpuReading;
}

export async function runDelay(
  server: Proc,
  bot: Proc,
  options: DelayOptions,
  log: (s: string) => void,
  quiet: () => Promise<unknown>,
): Promise<DelayRound[]> {
  const http = new Http(server.url, options.concurrency + 8);
  const account = await setupAccount(http, bot.url, `dl${randomUUID().slice(0, 8)}`);
  const started = performance.now();
  const conversations = await openConversations(http, account, options.conversations, 100);
  log(
    `  ${conversations.length} conversations open with streams in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const rounds: DelayRound[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    await quiet();
    rounds.push(await delayRound(http, server, bot, conversations, options, round));
    const r = rounds[rounds.length - 1];
    log(
      `  round ${round}: sent ${r.conversations} in ${r.sendSeconds.toFixed(2)} s; second text late by p50/p99/max ${r.lateMs.p50.toFixed(0)}/${r.lateMs.p99.toFixed(0)}/${r.lateMs.max.toFixed(0)} ms${r.missing ? `, ${r.missing} missing` : ''} (others ${r.cpu.others}%)`,
    );
    await sleep(1000);
  }
  for (const c of conversations) c.close();
  await http.close();
  return rounds;
}

async function delayRound(
  http: Http,
  server: Proc,
  bot: Proc,
  conversations: Conversation[],
  options: DelayOptions,
  round: number,
): Promise<DelayRound> {
  const n = conversations.length;
  const first = new Float64Array(n).fill(NaN);
  const second = new Float64Array(n).fill(NaN);
  let seconds = 0;
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  conversations.forEach((c, i) => {
    const tag = `${round}-${i}`;
    c.onBotText = (t) => {
      if (t.text === `first ${tag}`) first[i] = t.at;
      else if (t.text === `second ${tag}` && Number.isNaN(second[i])) {
        second[i] = t.at;
        if (++seconds === n) allDone();
      }
    };
  });
  const meter = new CpuMeter(server, bot);
  const start = performance.now();
  await forEachLimited(n, options.concurrency, async (i) => {
    const c = conversations[i];
    await http.ok('POST', c.messagesPath, { text: `delay:${round}-${i}` }, c.token);
  });
  const sendSeconds = (performance.now() - start) / 1000;
  await Promise.race([done, sleep(60_000 + options.delaySeconds * 1000)]);
  const cpu = meter.read();
  const late: number[] = [];
  let lastFirst = start;
  let lastSecond = start;
  for (let i = 0; i < n; i++) {
    if (!Number.isNaN(first[i])) lastFirst = Math.max(lastFirst, first[i]);
    if (Number.isNaN(first[i]) || Number.isNaN(second[i])) continue;
    lastSecond = Math.max(lastSecond, second[i]);
    late.push(second[i] - first[i] - options.delaySeconds * 1000);
  }
  return {
    conversations: n,
    sendSeconds,
    firstTextsSeconds: (lastFirst - start) / 1000,
    lateMs: distribution(late),
    totalSeconds: (lastSecond - start) / 1000 - options.delaySeconds,
    missing: n - late.length,
    cpu,
  };
}
