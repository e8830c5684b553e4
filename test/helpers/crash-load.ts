import { setTimeout as sleep } from 'node:timers/promises';
import { client } from './app.js';
import { startProcess, type Proc } from './process.js';
import type { TestStore } from './stores.js';
import { TestBot, text } from './test-bot.js';
import { seeded } from './random.js';

/**
 * kill -9 under load: consumers write to many conversations of a Custom Endpoint bot while the
 * server process is killed and started again on the same store, then every conversation's log
 * is read back and held against what the consumers were told (2xx = accepted) and what the bot
 * received. Shared by the crash test (small) and `npm run crash` (the figures in the README).
 */
export interface CrashLoadOptions {
  conversations: number;
  messagesPerConversation: number;
  kills: number;
  /** Fixed, so the bot's think times and the consumers' pauses repeat from run to run. */
  seed: number;
  /** The bot thinks 0..maxThinkMs per answer. */
  maxThinkMs: number;
  /** Every n-th message is answered text, DELAY 1 s, text: an answer a kill can cut in two. */
  delayEvery: number;
  log?: (line: string) => void;
  /** Another checkout's server, for a before/after comparison. */
  serverRoot?: string;
}

export interface CrashLoadReport {
  kills: number;
  /** Consumer messages answered 2xx. */
  accepted: number;
  /** Sent, but the server died before it answered: in the log or not, both are allowed. */
  unknown: number;
  /** Of those, the ones the log holds (and that are then owed an answer like any other). */
  unknownKept: number;
  /** Accepted, yet missing from the conversation's log. */
  lost: number;
  /** In the log, never answered by the bot (nor escalated). */
  neverAnswered: number;
  /** Answers (or parts of answers) that reached the conversation more than once. */
  duplicated: number;
  /** Answers that came out of the order of their messages. */
  outOfOrder: number;
  /** Conversations escalated instead of answered. */
  escalated: number;
  /** Events the bot received again after a crash (same conversation and lpEvent.sequence). */
  redelivered: number;
  /** Redeliveries whose content differed from the first: a broken event identity. */
  identityBroken: number;
  /** Events the bot received out of the conversation's sequence order. */
  botOutOfOrder: number;
}

const ADMIN = 'crash-admin-token';

export async function crashUnderLoad(store: TestStore, options: CrashLoadOptions): Promise<CrashLoadReport> {
  const log = options.log ?? (() => {});
  const random = seeded(options.seed);
  const bot = await new TestBot().start();
  /** Per conversation: [sequence, message] in the order the bot received them. */
  const received = new Map<string, Array<[number, string]>>();
  bot.onEvent = async (req) => {
    const conversationId = /conversations\/([^/]+)\/events/.exec(req.path)![1];
    const message: string = req.body?.data?.message ?? '';
    const sequence: number = req.body?.context?.lpEvent?.sequence ?? 0;
    const list = received.get(conversationId) ?? [];
    list.push([sequence, message]);
    received.set(conversationId, list);
    // The think time comes from the message, so a redelivery thinks as long as the first time.
    await sleep(Math.floor(hash(message) * options.maxThinkMs));
    if (message.endsWith('!'))
      return {
        json: {
          response: [text(`echo: ${message}`), { type: 'DELAY', data: { seconds: 1 } }, text(`later: ${message}`)],
        },
      };
    return { json: { response: [text(`echo: ${message}`)] } };
  };

  const env = { ADMIN_TOKEN: ADMIN, DEMO: '0', LOG_LEVEL: 'warn' };
  let proc: Proc = await startProcess(store, env, options.serverRoot);
  const procs: Proc[] = [proc];
  try {
    const admin = () => client(proc.url, { token: ADMIN });
    const acc = 'crash';
    const ok = async (r: Promise<{ status: number; body: any }>, what: string) => {
      const res = await r;
      if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    await ok(admin().post('/admin/v1/accounts', { accountId: acc }), 'account');
    for (const name of ['bot', 'escalation'])
      await ok(admin().post(`/admin/v1/accounts/${acc}/skills`, { name }), 'skill');
    const app = await ok(
      admin().post(`/admin/v1/accounts/${acc}/apps`, { name: 'bot', scope: 'thirdpartybots.customendpoint.bot' }),
      'app',
    );
    const created = await ok(
      admin().post(`/admin/v1/accounts/${acc}/bots`, {
        name: 'crash bot',
        conversationType: 'MESSAGING',
        skills: ['bot'],
        vendor: {
          type: 'CUSTOM_ENDPOINT',
          baseUrl: bot.url,
          clientId: app.client_id,
          clientSecret: app.client_secret,
          botId: 'crash',
        },
        escalation: { skill: 'escalation', messageToCustomer: 'ESCALATED' },
      }),
      'bot',
    );
    await ok(admin().post(`/admin/v1/accounts/${acc}/bots/${created.id}/start`), 'start');

    const conversations: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < options.conversations; i++) {
      const opened = await ok(
        client(proc.url).post(`/api/account/${acc}/consumer/conversations`, { skill: 'bot' }),
        'open',
      );
      conversations.push({ id: opened.conversationId, token: opened.consumerToken });
    }
    log(`opened ${conversations.length} conversations`);

    const accepted = new Map<string, string[]>();
    const unknown = new Set<string>();
    const total = options.conversations * options.messagesPerConversation;
    let done = 0;
    // Pauses drawn up front from the seed: the consumers' rhythm repeats from run to run.
    const pauses = conversations.map(() =>
      Array.from({ length: options.messagesPerConversation }, () => 10 + Math.floor(random() * 150)),
    );
    const consumers = conversations.map(async (conversation, c) => {
      const mine: string[] = [];
      accepted.set(conversation.id, mine);
      for (let m = 0; m < options.messagesPerConversation; m++) {
        const message = `c${c}-m${m}${(c + m) % options.delayEvery === 0 ? '!' : ''}`;
        // Until the server answers: a refused connection is retried (the server is restarting);
        // a request cut off mid-way has an unknown outcome and is not sent again.
        for (;;) {
          try {
            const r = await client(proc.url, { token: conversation.token }).post(
              `/api/account/${acc}/consumer/conversations/${conversation.id}/messages`,
              { text: message },
            );
            if (r.status === 201) mine.push(message);
            else throw new Error(`message refused: ${r.status} ${JSON.stringify(r.body)}`);
            break;
          } catch (error) {
            const code = (error as { cause?: { code?: string } }).cause?.code;
            if (code === 'ECONNREFUSED') {
              await sleep(50);
              continue;
            }
            if (error instanceof Error && error.message.startsWith('message refused')) throw error;
            unknown.add(message);
            break;
          }
        }
        done++;
        await sleep(pauses[c][m]);
      }
    });

    for (let k = 1; k <= options.kills; k++) {
      while (done < (total * k) / (options.kills + 1)) await sleep(20);
      proc.child.kill('SIGKILL');
      await proc.exited;
      log(`kill ${k}: after ${done} of ${total} messages`);
      proc = await startProcess(store, env, options.serverRoot);
      procs.push(proc);
    }
    await Promise.all(consumers);
    log(`all ${total} messages sent; waiting for every answer`);

    // Every message in a log is owed an answer; wait until each has one (or give up and count).
    const logs = new Map<string, any[]>();
    const deadline = Date.now() + 90_000;
    for (const conversation of conversations) {
      for (;;) {
        const view = (await admin().get(`/admin/v1/accounts/${acc}/conversations/${conversation.id}`)).body;
        logs.set(conversation.id, view.events);
        if (settled(view.events) || Date.now() > deadline) break;
        await sleep(100);
      }
    }
    const report = judge(conversations, accepted, unknown, logs, received);
    return { ...report, kills: options.kills };
  } finally {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await bot.stop();
  }
}

/** A number in [0, 1) from the text: think times that repeat from run to run and on a redelivery. */
export function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) / 4294967296;
}

export const consumerTexts = (events: any[]) =>
  events.filter((e) => e.originator.role === 'CONSUMER' && e.type === 'TEXT').map((e) => e.text as string);
export const botTexts = (events: any[]) =>
  events
    .filter((e) => e.originator.role === 'BOT' && e.type === 'TEXT' && e.audience === 'ALL')
    .map((e) => e.text as string);

/** Every consumer message has its echo (and, for "!" messages, its later part), or the conversation was escalated. */
function settled(events: any[]): boolean {
  const answers = new Set(botTexts(events));
  if (answers.has('ESCALATED')) return true;
  return consumerTexts(events).every(
    (m) => answers.has(`echo: ${m}`) && (!m.endsWith('!') || answers.has(`later: ${m}`)),
  );
}

function judge(
  conversations: Array<{ id: string }>,
  accepted: Map<string, string[]>,
  unknown: Set<string>,
  logs: Map<string, any[]>,
  received: Map<string, Array<[number, string]>>,
): Omit<CrashLoadReport, 'kills'> {
  const report = {
    accepted: 0,
    unknown: unknown.size,
    unknownKept: 0,
    lost: 0,
    neverAnswered: 0,
    duplicated: 0,
    outOfOrder: 0,
    escalated: 0,
    redelivered: 0,
    identityBroken: 0,
    botOutOfOrder: 0,
  };
  for (const { id } of conversations) {
    const events = logs.get(id) ?? [];
    const messages = consumerTexts(events);
    const answers = botTexts(events);
    const mine = accepted.get(id) ?? [];
    report.accepted += mine.length;
    report.lost += mine.filter((m) => !messages.includes(m)).length;
    report.unknownKept += messages.filter((m) => unknown.has(m)).length;
    if (answers.includes('ESCALATED')) report.escalated++;
    const owed = answers.includes('ESCALATED') ? [] : messages;
    for (const m of owed) {
      const echoes = answers.filter((a) => a === `echo: ${m}`).length;
      const laters = answers.filter((a) => a === `later: ${m}`).length;
      if (echoes === 0 || (m.endsWith('!') && laters === 0)) report.neverAnswered++;
      report.duplicated += Math.max(0, echoes - 1) + Math.max(0, laters - 1);
    }
    // Echoes in the order of their messages, each after its own message.
    const echoOrder = answers.filter((a) => a.startsWith('echo: ')).map((a) => a.slice('echo: '.length));
    const expected = owed.filter((m) => echoOrder.includes(m));
    const firstEchoes = echoOrder.filter((m, i) => echoOrder.indexOf(m) === i);
    if (JSON.stringify(firstEchoes) !== JSON.stringify(expected)) report.outOfOrder++;
    for (const e of events) {
      if (e.originator.role !== 'BOT' || typeof e.text !== 'string' || !e.text.startsWith('echo: ')) continue;
      const asked = events.find((x) => x.originator.role === 'CONSUMER' && x.text === e.text.slice('echo: '.length));
      if (!asked || asked.sequence > e.sequence) report.outOfOrder++;
    }
    // The bot's side: a redelivery carries the same sequence and the same content.
    const seen = new Map<number, string>();
    let last = 0;
    for (const [sequence, message] of received.get(id) ?? []) {
      const before = seen.get(sequence);
      if (before !== undefined) {
        report.redelivered++;
        if (before !== message) report.identityBroken++;
      } else {
        if (sequence < last) report.botOutOfOrder++;
        seen.set(sequence, message);
        last = Math.max(last, sequence);
      }
    }
  }
  return report;
}
