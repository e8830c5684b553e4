import assert from 'node:assert/strict';
import { ADMIN_TOKEN, client, type Client, type Running } from './app.js';

export const BOT_SCOPE = 'thirdpartybots.customendpoint.bot';

export interface BotSetup {
  acc: string;
  admin: Client;
  botId: string;
  userId: string;
  app: { client_id: string; client_secret: string };
}

/**
 * An account with skills `bot`, `human`, `escalation`, an app installation for the bot's
 * credentials and a Custom Endpoint bot on skill `bot` pointing at `baseUrl`, started unless
 * told otherwise.
 */
export async function setupBot(running: Running, baseUrl: string, options: SetupOptions = {}): Promise<BotSetup> {
  const setup = await setupBotOn(client(running.url, { token: ADMIN_TOKEN }), baseUrl, options);
  return { ...setup, userId: await botUserId(running, setup.acc, setup.botId) };
}

type SetupOptions = {
  acc?: string;
  settings?: Record<string, unknown>;
  vendor?: Record<string, unknown>;
  start?: boolean;
};

/** setupBot through any server's admin API (a server process of the test's own, say), without the bot's user id. */
export async function setupBotOn(
  admin: Client,
  baseUrl: string,
  options: SetupOptions = {},
): Promise<Omit<BotSetup, 'userId'>> {
  const acc = options.acc ?? `acc${Math.random().toString(36).slice(2, 8)}`;
  const ok = (status: number, expected: number, what: string, body: unknown) =>
    assert.equal(status, expected, `${what}: ${JSON.stringify(body)}`);
  let r = await admin.post('/admin/v1/accounts', { accountId: acc });
  ok(r.status, 201, 'account', r.body);
  for (const name of ['bot', 'human', 'escalation']) {
    r = await admin.post(`/admin/v1/accounts/${acc}/skills`, { name });
    ok(r.status, 201, `skill ${name}`, r.body);
  }
  const app = await admin.post(`/admin/v1/accounts/${acc}/apps`, { name: 'bot', scope: BOT_SCOPE });
  ok(app.status, 201, 'app', app.body);
  const botId = await createBot(admin, acc, app.body, baseUrl, {
    vendor: options.vendor,
    settings: {
      escalation: {
        skill: 'escalation',
        messageToCustomer: 'Let me find a human for you.',
        messageToAgent: 'Bot failed, please take over.',
        transferFailureMessage: 'No human is available right now.',
      },
      ...options.settings,
    },
  });
  if (options.start !== false) {
    const started = await admin.post(`/admin/v1/accounts/${acc}/bots/${botId}/start`);
    ok(started.status, 200, 'start', started.body);
  }
  return { acc, admin, botId, app: app.body };
}

/**
 * A MESSAGING Custom Endpoint bot on skill `bot` with the app's credentials, pointing at
 * `baseUrl` (bot id `bot-1`, environment `draft` unless `vendor` says otherwise); its id.
 */
export async function createBot(
  admin: Client,
  acc: string,
  app: { client_id: string; client_secret: string },
  baseUrl: string,
  options: { name?: string; vendor?: Record<string, unknown>; settings?: Record<string, unknown> } = {},
): Promise<string> {
  const created = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
    name: options.name ?? 'test bot',
    conversationType: 'MESSAGING',
    skills: ['bot'],
    vendor: {
      type: 'CUSTOM_ENDPOINT',
      baseUrl,
      clientId: app.client_id,
      clientSecret: app.client_secret,
      botId: 'bot-1',
      environment: 'draft',
      ...options.vendor,
    },
    ...options.settings,
  });
  assert.equal(created.status, 201, `bot: ${JSON.stringify(created.body)}`);
  return created.body.id;
}

async function botUserId(running: Running, acc: string, botId: string): Promise<string> {
  const users = await running.app.directory.listUsers(acc);
  const user = users.find((u) => u.botId === botId);
  assert.ok(user, 'bot user exists');
  return user.id;
}

/** Opens a consumer conversation and returns a client bound to its token. */
export async function openConversation(
  running: Running,
  acc: string,
  body: Record<string, unknown> = { skill: 'bot' },
) {
  const http = client(running.url);
  const opened = await http.post(`/api/account/${acc}/consumer/conversations`, body);
  assert.equal(opened.status, 201, JSON.stringify(opened.body));
  const consumer = client(running.url, { token: opened.body.consumerToken });
  const id: string = opened.body.conversationId;
  return {
    id,
    token: opened.body.consumerToken as string,
    consumer,
    say: async (text: string) => {
      const r = await consumer.post(`/api/account/${acc}/consumer/conversations/${id}/messages`, { text });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.sequence as number;
    },
  };
}

/** Polls the admin view of a conversation until the predicate holds (conditions, never durations). */
export async function waitForConversation(
  admin: Client,
  acc: string,
  id: string,
  predicate: (c: any) => boolean,
  what: string,
): Promise<any> {
  const deadline = Date.now() + 20_000;
  let last: any;
  while (Date.now() < deadline) {
    last = (await admin.get(`/admin/v1/accounts/${acc}/conversations/${id}`)).body;
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}; conversation: ${JSON.stringify(last, null, 1).slice(0, 4000)}`);
}

/** Polls until the predicate holds for a value fetched again each time. */
export async function eventually<T>(fetch: () => Promise<T>, predicate: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 20_000;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fetch();
    if (predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(last).slice(0, 4000)}`);
}

export const botTexts = (conversation: any) =>
  conversation.events.filter((e: any) => e.originator.role === 'BOT' && e.type === 'TEXT').map((e: any) => e.text);

/**
 * The bot's exchange log (newest first), once it holds at least `count` entries: the connector
 * writes an exchange after carrying it out, so the conversation can change before its row lands.
 */
export async function exchangesOf(
  admin: Client,
  acc: string,
  botId: string,
  conversationId?: string,
  count = 1,
): Promise<any[]> {
  const query = conversationId ? `?conversationId=${conversationId}` : '';
  return eventually(
    async () => (await admin.get(`/admin/v1/accounts/${acc}/bots/${botId}/logs${query}`)).body.exchanges as any[],
    (list) => list.length >= count,
    `${count} exchange(s) logged`,
  );
}
