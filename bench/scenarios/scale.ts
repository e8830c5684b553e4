/**
 * 2. Open-conversation scale: N conversations on one bot, each with its consumer stream open and
 * an exchange with the bot done (so the connector has created it on the bot service), then kept
 * active (every conversation writes again). Resident memory of the server per open conversation,
 * and the time to open them. Each round runs on a fresh server, so the memory baseline is clean.
 */
import { randomUUID } from 'node:crypto';
import { CpuMeter, type CpuReading, type Proc } from '../lib/procs.js';
import { Http, openConversation, sayAndAwait, setupAccount, type Conversation } from '../lib/platform.js';
import { forEachLimited, sleep } from '../lib/stats.js';

export interface ScaleOptions {
  conversations: number;
  concurrency: number;
}

export interface ScaleRound {
  conversations: number;
  /** Until every conversation was opened, its stream ready and the bot's first answer in. */
  openSeconds: number;
  /** Open + stream only (no message). */
  openOnlySeconds: number;
  activeSeconds: number;
  rssBeforeMb: number;
  rssOpenMb: number;
  rssActiveMb: number;
  rssPeakMb: number;
  kbPerConversation: number;
  cpu: CpuReading;
}

export async function runScaleRound(
  server: Proc,
  bot: Proc,
  options: ScaleOptions,
  log: (s: string) => void,
  quiet: () => Promise<unknown>,
): Promise<ScaleRound> {
  const http = new Http(server.url, options.concurrency + 8);
  const account = await setupAccount(http, bot.url, `sc${randomUUID().slice(0, 8)}`);
  // Warm-up (JIT, pools, prepared statements) before the memory baseline.
  const warm: Conversation[] = [];
  await forEachLimited(100, 20, async (i) => {
    const c = await openConversation(http, account);
    await sayAndAwait(http, c, `warm ${i}`, `echo warm ${i}`);
    warm.push(c);
  });
  for (const c of warm) {
    await http.ok('POST', `/api/account/${c.acc}/consumer/conversations/${c.id}/close`, undefined, c.token);
    c.close();
  }
  await sleep(1000);
  await quiet();
  const rssBeforeMb = server.rssMb();
  let rssPeakMb = rssBeforeMb;
  const sampler = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, server.rssMb())), 250);

  const n = options.conversations;
  const conversations: Conversation[] = new Array(n);
  const meter = new CpuMeter(server, bot);
  const started = performance.now();
  let openedAll = 0;
  let opened = 0;
  await forEachLimited(n, options.concurrency, async (i) => {
    const c = await openConversation(http, account);
    conversations[i] = c;
    if (++opened === n) openedAll = performance.now();
    await sayAndAwait(http, c, `hello ${i}`, `echo hello ${i}`);
  });
  const openSeconds = (performance.now() - started) / 1000;
  const openOnlySeconds = (openedAll - started) / 1000;
  const cpu = meter.read();
  await sleep(1000);
  const rssOpenMb = server.rssMb();
  log(
    `  ${n} conversations open in ${openSeconds.toFixed(1)} s (open+stream alone ${openOnlySeconds.toFixed(1)} s; server cpu ${cpu.server}%, others ${cpu.others}%), server RSS ${rssBeforeMb.toFixed(0)} → ${rssOpenMb.toFixed(0)} MB`,
  );

  // Keep them active: every conversation writes once more and gets its answer.
  const activeStart = performance.now();
  await forEachLimited(n, options.concurrency, async (i) => {
    await sayAndAwait(http, conversations[i], `again ${i}`, `echo again ${i}`);
  });
  const activeSeconds = (performance.now() - activeStart) / 1000;
  await sleep(1000);
  const rssActiveMb = server.rssMb();
  clearInterval(sampler);
  rssPeakMb = Math.max(rssPeakMb, rssActiveMb);
  const kbPerConversation = ((rssActiveMb - rssBeforeMb) * 1024) / n;
  log(
    `  kept active (${activeSeconds.toFixed(1)} s): server RSS ${rssActiveMb.toFixed(0)} MB, peak ${rssPeakMb.toFixed(0)} MB, ${kbPerConversation.toFixed(1)} KB per open conversation`,
  );
  for (const c of conversations) c.close();
  await http.close();
  return {
    conversations: n,
    openSeconds,
    openOnlySeconds,
    activeSeconds,
    rssBeforeMb,
    rssOpenMb,
    rssActiveMb,
    rssPeakMb,
    kbPerConversation,
    cpu,
  };
}
