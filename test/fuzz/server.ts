import assert from 'node:assert/strict';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { closedPort } from '../helpers/net.js';
import { setupBot } from '../helpers/connector.js';
import type { TestStore } from '../helpers/stores.js';
import type { World } from './requests.js';

/**
 * The app under fuzz, in a process of its own: built by startApp exactly as the other tests
 * build it, on the store the test made, then seeded. Its own process because a request that
 * blocks the event loop would otherwise freeze the test with it, and the test could neither
 * time the stall nor say which request caused it.
 *
 * In: FUZZ_SERVER = {kind, dataDir, databaseUrl?, botUrl}. Out, on stdout: one line
 * `FUZZ_READY {url, world}`; on stderr, each error the app logs, as `FUZZ_LOG <json>` (the test
 * names the cause of a 5xx from them). SIGTERM closes the app and ends the process.
 */

const PASSWORD = 'fuzz-pass-word-1';

async function seed(running: Running, botUrl: string): Promise<World> {
  const http = client(running.url);
  const ok = (res: { status: number; body: unknown }, expected: number, what: string) =>
    assert.equal(res.status, expected, `${what}: ${JSON.stringify(res.body)}`);
  const A = 'fz-a';
  const B = 'fz-b';
  const main = await setupBot(running, botUrl, { acc: A });
  const admin: Client = main.admin;
  ok(await admin.post(`/admin/v1/accounts/${A}/skills`, { name: 'sales' }), 201, 'skill sales');
  ok(await admin.post('/admin/v1/accounts', { accountId: B }), 201, 'account B');
  ok(await admin.post(`/admin/v1/accounts/${B}/skills`, { name: 'human' }), 201, 'B skill');

  const userIds: string[] = [];
  for (const [acc, loginName, skills] of [
    [A, 'alice', ['human', 'escalation', 'sales']],
    [A, 'bob', ['sales']],
    [B, 'carol', ['human']],
  ] as const) {
    const user = await admin.post(`/admin/v1/accounts/${acc}/users`, {
      loginName,
      password: PASSWORD,
      userType: 'HUMAN',
      skills,
      maxConversations: 1000,
    });
    ok(user, 201, `user ${loginName}`);
    userIds.push(user.body.id);
  }
  const agentTokens: Record<string, string> = {};
  const apiBearers: Record<string, string> = {};
  for (const [acc, name] of [
    [A, 'alice'],
    [B, 'carol'],
  ]) {
    const login = await http.post(`/api/account/${acc}/agent/login`, { username: name, password: PASSWORD });
    ok(login, 200, `agent login ${name}`);
    agentTokens[acc] = login.body.token;
    const api = await http.post(`/api/account/${acc}/login?v=1.3`, { username: name, password: PASSWORD });
    ok(api, 200, `api login ${name}`);
    apiBearers[acc] = api.body.bearer;
  }
  const grant = await fetch(`${running.url}/sentinel/api/account/${A}/app/token?v=1.0&grant_type=client_credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: main.app.client_id, client_secret: main.app.client_secret }).toString(),
  });
  assert.equal(grant.status, 200);
  const appToken = ((await grant.json()) as { access_token: string }).access_token;

  // Spare bots on `sales`, stopped: the fuzz may start, patch or delete them; the main bot it never deletes.
  const bots: World['bots'] = [{ id: main.botId, acc: A, deletable: false }];
  for (const name of ['spare one', 'spare two']) {
    const spare = await admin.post(`/admin/v1/accounts/${A}/bots`, {
      name,
      conversationType: 'MESSAGING',
      skills: ['sales'],
      vendor: {
        type: 'CUSTOM_ENDPOINT',
        baseUrl: botUrl,
        clientId: main.app.client_id,
        clientSecret: main.app.client_secret,
        botId: 'bot-2',
      },
    });
    ok(spare, 201, name);
    bots.push({ id: spare.body.id, acc: A, deletable: true });
  }
  const closed = `http://127.0.0.1:${await closedPort()}`;
  const fn = await admin.post(`/admin/v1/accounts/${A}/functions`, { url: `${closed}/hook`, name: 'hook' });
  ok(fn, 201, 'function');

  const conversations: World['conversations'] = [];
  const open = async (acc: string, skill: string, type: 'MESSAGING' | 'CHAT', closable: boolean, accept = false) => {
    const res = await http.post(`/api/account/${acc}/consumer/conversations`, { skill, type });
    ok(res, 201, `open on ${skill}`);
    const id: string = res.body.conversationId;
    if (accept)
      ok(
        await http.post(`/api/account/${acc}/agent/conversations/${id}/accept`, undefined, { token: agentTokens[acc] }),
        200,
        'accept',
      );
    conversations.push({ id, acc, token: res.body.consumerToken, closable, agentHeld: accept });
  };
  // With the bot (its answers go through the connector), with the agent, and waiting in a queue.
  for (let i = 0; i < 6; i++) await open(A, 'bot', 'MESSAGING', i % 2 === 0);
  for (let i = 0; i < 6; i++) await open(A, 'human', i < 4 ? 'MESSAGING' : 'CHAT', i % 2 === 0, true);
  for (let i = 0; i < 2; i++) await open(A, 'sales', 'MESSAGING', i === 0);
  for (let i = 0; i < 2; i++) await open(B, 'human', 'MESSAGING', i === 0, true);

  const jobs: World['jobs'] = [];
  for (const acc of [A, B]) {
    const target = conversations.find((c) => c.acc === acc && !c.closable)!;
    const job = await client(running.url, { token: apiBearers[acc] }).post(
      `/api/v1/account/${acc}/conversation/${target.id}/sdes`,
      {
        sdes: [{ type: 'ctmrinfo', info: { customerId: 'c1' } }],
        sharkVisitorId: 'v1',
        sharkSessionId: 's1',
      },
    );
    ok(job, 200, 'job');
    jobs.push({ id: job.body.jobId, acc });
  }

  return {
    acc: A,
    other: B,
    adminToken: ADMIN_TOKEN,
    skills: { [A]: ['bot', 'human', 'escalation', 'sales'], [B]: ['human'] },
    conversations,
    bots,
    jobs,
    agentTokens,
    apiBearers,
    appTokens: { [A]: appToken },
    login: { username: 'alice', password: PASSWORD },
    app: main.app,
    userIds,
    lambdaUuid: fn.body.lambdaUuid,
    vendorBotId: 'bot-1',
    botUrl,
    closedUrl: closed,
  };
}

const input = JSON.parse(process.env.FUZZ_SERVER ?? '{}') as Pick<TestStore, 'kind' | 'dataDir' | 'databaseUrl'> & {
  botUrl: string;
};
// warn: thousands of refusals would otherwise fill the log.
const running = await startApp({ ...input, dispose: async () => {} }, { logLevel: 'warn' });
let forwarded = 0;
const forward = () => {
  for (; forwarded < running.logs.length; forwarded++) {
    const line = running.logs[forwarded];
    if (/"level":(50|60)/.test(line)) process.stderr.write(`FUZZ_LOG ${line}\n`);
  }
};
const forwarding = setInterval(forward, 50);
const world = await seed(running, input.botUrl);
process.stdout.write(`FUZZ_READY ${JSON.stringify({ url: running.url, world })}\n`);

process.once('SIGTERM', () => {
  clearInterval(forwarding);
  void running.close().finally(() => {
    forward();
    process.exit(0);
  });
});
