import assert from 'node:assert/strict';
import { ADMIN_TOKEN, client, type Client, type Reply } from '../helpers/app.js';

/** What the Public API tests share: an account with an API user, and the calls of the page. */

export const PASSWORD = 'correct horse battery';

export interface AccountSetup {
  acc: string;
  skills: string[];
  /** HUMAN users that can log in, all with PASSWORD. */
  users: string[];
}

/** Creates the account, its skills and HUMAN users (password PASSWORD); returns user ids by login. */
export async function setUpAccount(baseUrl: string, setup: AccountSetup): Promise<Record<string, string>> {
  const admin = client(baseUrl, { token: ADMIN_TOKEN });
  assert.equal((await admin.post('/admin/v1/accounts', { accountId: setup.acc })).status, 201);
  for (const name of setup.skills)
    assert.equal((await admin.post(`/admin/v1/accounts/${setup.acc}/skills`, { name })).status, 201);
  const ids: Record<string, string> = {};
  for (const loginName of setup.users) {
    const user = await admin.post(`/admin/v1/accounts/${setup.acc}/users`, {
      loginName,
      password: PASSWORD,
      userType: 'HUMAN',
      skills: [],
    });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    ids[loginName] = user.body.id;
  }
  return ids;
}

export async function login(baseUrl: string, acc: string, username: string, password = PASSWORD): Promise<string> {
  const res = await client(baseUrl).post(`/api/account/${acc}/login?v=1.3`, { username, password });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.bearer;
}

/** Opens a conversation as a consumer would. */
export async function openConversation(
  baseUrl: string,
  acc: string,
  body: { skill: string; type?: 'MESSAGING' | 'CHAT'; sdes?: object; visitor?: object },
): Promise<{ conversationId: string; consumerToken: string }> {
  const res = await client(baseUrl).post(`/api/account/${acc}/consumer/conversations`, body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

/** The conversation with its full event log, as the admin API shows it. */
export async function conversationOf(baseUrl: string, acc: string, conversationId: string): Promise<any> {
  const res = await client(baseUrl, { token: ADMIN_TOKEN }).get(
    `/admin/v1/accounts/${acc}/conversations/${conversationId}`,
  );
  assert.equal(res.status, 200);
  return res.body;
}

export const TERMINAL = ['done', 'expired', 'failed'];

/** The Public API as the page's curl examples call it. */
export function publicApi(baseUrl: string, acc: string, bearer: string) {
  const http: Client = client(baseUrl, { token: bearer });
  const path = (conversationId: string, action: string, ttl?: string) =>
    `/api/v1/account/${acc}/conversation/${conversationId}/${action}${ttl === undefined ? '' : `?ttl=${ttl}`}`;
  return {
    http,
    path,
    send(
      action: string,
      conversationId: string,
      body?: unknown,
      options: { method?: 'PUT' | 'POST'; ttl?: string; token?: string | null } = {},
    ): Promise<Reply> {
      const { method = 'POST', ttl, token } = options;
      return http.call(method, path(conversationId, action, ttl), body, token === undefined ? {} : { token });
    },
    /** Like curl with `-H 'Content-Type: application/json' -d '<raw>'`. */
    sendRaw(
      action: string,
      conversationId: string,
      raw: string,
      headers: Record<string, string> = { 'content-type': 'application/json' },
    ): Promise<Reply> {
      return http.call('POST', path(conversationId, action), undefined, { raw, headers });
    },
    job(jobId: string, token?: string): Promise<Reply> {
      return http.get(`/api/v1/account/${acc}/jobs/${jobId}`, token === undefined ? {} : { token });
    },
    /** Polls the job until it has ended (generous deadline; nothing here measures time). */
    async settled(jobId: string): Promise<{ jobId: string; status: string; error?: string }> {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const res = await http.get(`/api/v1/account/${acc}/jobs/${jobId}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        if (TERMINAL.includes(res.body.status)) return res.body;
        if (Date.now() > deadline) assert.fail(`job ${jobId} still ${res.body.status}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    /** Sends and waits for the job to end; asserts the 200 {jobId} answer on the way. */
    async run(
      action: string,
      conversationId: string,
      body?: unknown,
      options: { method?: 'PUT' | 'POST'; ttl?: string } = {},
    ) {
      const res = await this.send(action, conversationId, body, options);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(Object.keys(res.body), ['jobId']);
      return this.settled(res.body.jobId);
    },
  };
}

export type PublicApi = ReturnType<typeof publicApi>;

/** An error answer: status, `{error: {code, message}}` and nothing else. */
export function assertError(res: Reply, status: number, code?: string, messageIncludes?: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.deepEqual(Object.keys(res.body), ['error']);
  assert.equal(typeof res.body.error.message, 'string');
  assert.equal(typeof res.body.error.code, 'string');
  if (code) assert.equal(res.body.error.code, code, res.body.error.message);
  if (messageIncludes)
    assert.ok(
      res.body.error.message.includes(messageIncludes),
      `'${res.body.error.message}' should mention '${messageIncludes}'`,
    );
}
