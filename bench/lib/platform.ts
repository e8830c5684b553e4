/**
 * The load generator's side of botbridge: one undici keep-alive pool per origin, admin set-up of
 * an account and a started bot, consumer conversations with their realtime stream (WebSocket).
 */
import { Pool } from 'undici';
import WebSocket from 'ws';
import { ADMIN_TOKEN } from './procs.js';
import { forEachLimited } from './stats.js';

export interface Reply {
  status: number;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

export class Http {
  readonly pool: Pool;
  constructor(
    readonly origin: string,
    connections: number,
  ) {
    this.pool = new Pool(origin, {
      connections,
      pipelining: 1,
      keepAliveTimeout: 120_000,
      keepAliveMaxTimeout: 120_000,
      headersTimeout: 120_000,
      bodyTimeout: 120_000,
    });
  }

  async call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, token?: string): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await this.pool.request({ method, path, headers, body: payload });
    const text = await res.body.text();
    let parsed: unknown = text;
    if (text && (text[0] === '{' || text[0] === '[')) parsed = JSON.parse(text);
    return { status: res.statusCode, body: parsed, headers: res.headers };
  }

  async ok(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    token?: string,
    expected = [200, 201],
  ): Promise<Reply> {
    const r = await this.call(method, path, body, token);
    if (!expected.includes(r.status))
      throw new Error(`${method} ${path} answered ${r.status}: ${JSON.stringify(r.body).slice(0, 500)}`);
    return r;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export interface BenchAccount {
  acc: string;
  botId: string;
  skill: string;
}

/**
 * What the Public API scenarios start from: an account (setupAccount), a HUMAN user signed in
 * to the Public API (its bearer), and `count` conversations the bot holds, each with its stream.
 */
export async function setupPublicApi(
  http: Http,
  botUrl: string,
  acc: string,
  count: number,
): Promise<{ account: BenchAccount; bearer: string; conversations: Conversation[] }> {
  const account = await setupAccount(http, botUrl, acc);
  const password = 'bench password 1';
  await http.ok(
    'POST',
    `/admin/v1/accounts/${acc}/users`,
    { loginName: 'api', password, userType: 'HUMAN', skills: ['human'] },
    ADMIN_TOKEN,
  );
  const bearer: string = (await http.ok('POST', `/api/account/${acc}/login?v=1.3`, { username: 'api', password })).body
    .bearer;
  return { account, bearer, conversations: await openConversations(http, account, count, 50) };
}

/** An account with skills `bench` (served by the bot) and `human`, an app, and a started bot pointing at `botUrl`. */
export async function setupAccount(http: Http, botUrl: string, acc: string): Promise<BenchAccount> {
  const admin = (path: string, body: unknown) => http.ok('POST', `/admin/v1${path}`, body, ADMIN_TOKEN);
  await admin('/accounts', { accountId: acc });
  await admin(`/accounts/${acc}/skills`, { name: 'bench' });
  await admin(`/accounts/${acc}/skills`, { name: 'human' });
  const app = (await admin(`/accounts/${acc}/apps`, { name: 'bench bot', scope: 'thirdpartybots.customendpoint.bot' }))
    .body;
  const bot = (
    await admin(`/accounts/${acc}/bots`, {
      name: 'bench bot',
      conversationType: 'MESSAGING',
      skills: ['bench'],
      vendor: {
        type: 'CUSTOM_ENDPOINT',
        baseUrl: botUrl,
        clientId: app.client_id,
        clientSecret: app.client_secret,
        botId: 'bench',
        environment: 'draft',
      },
      welcomeEvent: false,
      escalation: { skill: 'human' },
      // The default cap (999) would escalate the scale scenario's conversations.
      maxOpenConversations: 1_000_000,
    })
  ).body;
  await http.ok('POST', `/admin/v1/accounts/${acc}/bots/${bot.id}/start`, undefined, ADMIN_TOKEN);
  return { acc, botId: bot.id, skill: 'bench' };
}

/** A text the bot wrote, as the consumer's stream delivered it. */
export interface BotText {
  text: string;
  /** The bot's own handling time, from the metadata it attaches (µs). */
  botMicros: number;
  at: number;
}

export class Conversation {
  ws?: WebSocket;
  /** Called for every bot TEXT event arriving on the stream. */
  onBotText: (t: BotText) => void = () => {};
  constructor(
    readonly acc: string,
    readonly id: string,
    readonly token: string,
  ) {}

  get messagesPath(): string {
    return `/api/account/${this.acc}/consumer/conversations/${this.id}/messages`;
  }

  /** Opens the consumer's WebSocket stream; resolves once the server said `ready`. */
  openStream(origin: string): Promise<void> {
    const url = `${origin.replace(/^http/, 'ws')}/api/account/${this.acc}/consumer/conversations/${this.id}/stream`;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.token}` }, perMessageDeflate: false });
    this.ws = ws;
    return new Promise((resolve, reject) => {
      ws.on('message', (data) => {
        const at = performance.now();
        const text = data.toString();
        // Only bot texts matter; skip parsing the rest (the consumer's own echo, typing).
        if (!text.includes('"role":"BOT"')) {
          if (text === '{"kind":"ready"}') resolve();
          return;
        }
        const m = JSON.parse(text) as {
          kind: string;
          event?: { type: string; text?: string; metadata?: { type?: string; micros?: number }[] };
        };
        if (m.kind !== 'event' || m.event?.type !== 'TEXT') return;
        const micros = m.event.metadata?.find((x) => x.type === 'BotHandlingTime')?.micros ?? 0;
        this.onBotText({ text: m.event.text ?? '', botMicros: micros, at });
      });
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`stream refused: HTTP ${res.statusCode}`)));
    });
  }

  close(): void {
    this.ws?.terminate();
  }
}

/** Opens a consumer conversation on the skill (it is routed to the bot) and its stream. */
export async function openConversation(http: Http, account: BenchAccount, withStream = true): Promise<Conversation> {
  const r = await http.ok('POST', `/api/account/${account.acc}/consumer/conversations`, { skill: account.skill });
  const c = new Conversation(account.acc, r.body.conversationId, r.body.consumerToken);
  if (withStream) await c.openStream(http.origin);
  return c;
}

export async function openConversations(
  http: Http,
  account: BenchAccount,
  n: number,
  concurrency: number,
): Promise<Conversation[]> {
  const out: Conversation[] = new Array(n);
  await forEachLimited(n, concurrency, async (i) => {
    out[i] = await openConversation(http, account);
  });
  return out;
}

/** Sends a consumer text and resolves when the bot's reply `expect` reaches the stream. */
export function sayAndAwait(
  http: Http,
  c: Conversation,
  text: string,
  expect: string,
  timeoutMs = 60_000,
): Promise<BotText> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no reply '${expect}' in conversation ${c.id} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    c.onBotText = (t) => {
      if (t.text !== expect) return;
      clearTimeout(timer);
      resolve(t);
    };
    http.ok('POST', c.messagesPath, { text }, c.token).catch((err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
