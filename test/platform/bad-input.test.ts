import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Reply, type Running } from '../helpers/app.js';

/**
 * Every refusal has one shape, `{error: {code, message}}` and nothing else, with the status the
 * contract names. Returns the code for tests that care which refusal it was.
 */
function assertError(res: Reply, status: number, what: string): string {
  assert.equal(res.status, status, `${what}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  assert.equal(typeof res.body, 'object', `${what}: the error body is JSON (${String(res.body)})`);
  assert.deepEqual(Object.keys(res.body), ['error'], `${what}: only {error} in ${JSON.stringify(res.body)}`);
  assert.deepEqual(
    Object.keys(res.body.error).sort(),
    ['code', 'message'],
    `${what}: error has exactly code and message`,
  );
  assert.equal(typeof res.body.error.code, 'string');
  assert.ok(res.body.error.code.length > 0);
  assert.equal(typeof res.body.error.message, 'string');
  return res.body.error.code;
}

/** The status a WebSocket upgrade is refused with (or 101 when it is accepted). */
function upgradeStatus(url: string, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(
      url.replace(/^http/, 'ws'),
      token ? { headers: { authorization: `Bearer ${token}` } } : {},
    );
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

for (const kind of STORES) {
  describe(`bad input is refused with the right status and one error shape (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let http: Client;
    const A = 'bad-a';
    const B = 'bad-b';
    const consumerA = `/api/account/${A}/consumer`;
    const agentA = `/api/account/${A}/agent`;
    /** Conversations: x and y on A (skill sales), z on B. */
    const conv = {} as Record<'x' | 'y' | 'z', { id: string; token: string }>;
    /** Agent bearer tokens: alice and dave serve A/sales, bob A/support, carol B/sales. */
    const agents = {} as Record<'alice' | 'dave' | 'bob' | 'carol', string>;

    const open = async (acc: string, skill = 'sales') => {
      const res = await http.post(`/api/account/${acc}/consumer/conversations`, { skill });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return { id: res.body.conversationId as string, token: res.body.consumerToken as string };
    };

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      http = client(running.url);
      for (const acc of [A, B]) {
        assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
        assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name: 'sales' })).status, 201);
      }
      assert.equal((await admin.post(`/admin/v1/accounts/${A}/skills`, { name: 'support' })).status, 201);
      const users: [keyof typeof agents, string, string[]][] = [
        ['alice', A, ['sales']],
        ['dave', A, ['sales']],
        ['bob', A, ['support']],
        ['carol', B, ['sales']],
      ];
      for (const [name, acc, skills] of users) {
        const created = await admin.post(`/admin/v1/accounts/${acc}/users`, {
          loginName: name,
          password: 'pass-word-1',
          userType: 'HUMAN',
          skills,
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const login = await http.post(`/api/account/${acc}/agent/login`, { username: name, password: 'pass-word-1' });
        assert.equal(login.status, 200);
        agents[name] = login.body.token;
      }
      conv.x = await open(A);
      conv.y = await open(A);
      conv.z = await open(B);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('unknown accounts, skills, conversations and routes answer 404', async () => {
      const checks: [string, Promise<Reply>][] = [
        [
          'consumer open on unknown account',
          http.post('/api/account/nobody/consumer/conversations', { skill: 'sales' }),
        ],
        [
          'agent login on unknown account',
          http.post('/api/account/nobody/agent/login', { username: 'alice', password: 'pass-word-1' }),
        ],
        ['admin skills of unknown account', admin.get('/admin/v1/accounts/nobody/skills')],
        ['admin new skill on unknown account', admin.post('/admin/v1/accounts/nobody/skills', { name: 'x' })],
        [
          'admin new user on unknown account',
          admin.post('/admin/v1/accounts/nobody/users', { loginName: 'u', userType: 'BOT', skills: [] }),
        ],
        ['admin new app on unknown account', admin.post('/admin/v1/accounts/nobody/apps', { name: 'a', scope: 's' })],
        [
          'admin new function on unknown account',
          admin.post('/admin/v1/accounts/nobody/functions', { url: 'https://example.com/f' }),
        ],
        ['consumer open on unknown skill', http.post(`${consumerA}/conversations`, { skill: 'nope' })],
        // Skill names are case-sensitive: "Sales" is not "sales".
        ['consumer open on a skill of another case', http.post(`${consumerA}/conversations`, { skill: 'Sales' })],
        ['agent views unknown conversation', http.get(`${agentA}/conversations/nope`, { token: agents.alice })],
        [
          'agent accepts unknown conversation',
          http.post(`${agentA}/conversations/nope/accept`, undefined, { token: agents.alice }),
        ],
        ['admin views unknown conversation', admin.get(`/admin/v1/accounts/${A}/conversations/nope`)],
        [
          'admin views conversation of unknown account',
          admin.get(`/admin/v1/accounts/nobody/conversations/${conv.x.id}`),
        ],
        ['unknown route', http.get('/api/nothing/here')],
      ];
      for (const [what, pending] of checks) assertError(await pending, 404, what);

      // An agent who holds a conversation transfers it to an unknown skill.
      const y2 = await open(A);
      assert.equal(
        (await http.post(`${agentA}/conversations/${y2.id}/accept`, undefined, { token: agents.alice })).status,
        200,
      );
      assertError(
        await http.post(`${agentA}/conversations/${y2.id}/transfer`, { skill: 'nope' }, { token: agents.alice }),
        404,
        'transfer to unknown skill',
      );
      // An unknown preferred agent (even one no user id could be) falls back to the skill.
      const fallback = await http.post(
        `${agentA}/conversations/${y2.id}/transfer`,
        { skill: 'sales', agentId: '99999999999' },
        { token: agents.alice },
      );
      assert.equal(fallback.status, 200, JSON.stringify(fallback.body));
      assert.equal(fallback.body.assignee, null);
      assert.equal((await admin.get(`/admin/v1/accounts/${A}/conversations/${y2.id}`)).body.status, 'OPEN');
    });

    it('wrong types, missing fields and bad enum values answer 400', async () => {
      const c = { token: conv.x.token };
      const checks: [string, Promise<Reply>][] = [
        ['skill as number', http.post(`${consumerA}/conversations`, { skill: 5 })],
        ['no skill', http.post(`${consumerA}/conversations`, { type: 'MESSAGING' })],
        ['no body at all', http.post(`${consumerA}/conversations`)],
        ['body is not an object', http.post(`${consumerA}/conversations`, ['sales'])],
        ['conversation type VOICE', http.post(`${consumerA}/conversations`, { skill: 'sales', type: 'VOICE' })],
        ['engagementId as string', http.post(`${consumerA}/conversations`, { skill: 'sales', engagementId: '12' })],
        // Numbers beyond what the store's columns hold are bad input, not a store failure (500).
        ['engagementId 2^63', http.post(`${consumerA}/conversations`, { skill: 'sales', engagementId: 2 ** 63 })],
        ['campaignId 1e20', http.post(`${consumerA}/conversations`, { skill: 'sales', campaignId: 1e20 })],
        ['campaignId negative', http.post(`${consumerA}/conversations`, { skill: 'sales', campaignId: -1 })],
        [
          'sdes with an unknown part',
          http.post(`${consumerA}/conversations`, { skill: 'sales', sdes: { secretSdes: {} } }),
        ],
        ['typing as "yes"', http.post(`${consumerA}/conversations/${conv.x.id}/typing`, { typing: 'yes' }, c)],
        ['typing missing', http.post(`${consumerA}/conversations/${conv.x.id}/typing`, {}, c)],
        ['message without text', http.post(`${consumerA}/conversations/${conv.x.id}/messages`, {}, c)],
        ['message with empty text', http.post(`${consumerA}/conversations/${conv.x.id}/messages`, { text: '' }, c)],
        ['message text as number', http.post(`${consumerA}/conversations/${conv.x.id}/messages`, { text: 42 }, c)],
        [
          'message with both text and content',
          http.post(`${consumerA}/conversations/${conv.x.id}/messages`, { text: 'a', content: {} }, c),
        ],
        ['events after=-1', http.get(`${consumerA}/conversations/${conv.x.id}/events?after=-1`, c)],
        ['events after=abc', http.get(`${consumerA}/conversations/${conv.x.id}/events?after=abc`, c)],
        [
          'events after beyond any sequence',
          http.get(`${consumerA}/conversations/${conv.x.id}/events?after=99999999999999999999`, c),
        ],
        ['login without password', http.post(`${agentA}/login`, { username: 'alice' })],
        ['login password as number', http.post(`${agentA}/login`, { username: 'alice', password: 12345678 })],
        [
          'userType ROBOT',
          admin.post(`/admin/v1/accounts/${A}/users`, { loginName: 'r', userType: 'ROBOT', skills: [] }),
        ],
        [
          'maxConversations as "3"',
          admin.post(`/admin/v1/accounts/${A}/users`, {
            loginName: 'm',
            userType: 'HUMAN',
            skills: [],
            maxConversations: '3',
          }),
        ],
        [
          'maxConversations 0',
          admin.post(`/admin/v1/accounts/${A}/users`, {
            loginName: 'm',
            userType: 'HUMAN',
            skills: [],
            maxConversations: 0,
          }),
        ],
        [
          'maxConversations 1e12',
          admin.post(`/admin/v1/accounts/${A}/users`, {
            loginName: 'm',
            userType: 'HUMAN',
            skills: [],
            maxConversations: 1e12,
          }),
        ],
        ['user without skills', admin.post(`/admin/v1/accounts/${A}/users`, { loginName: 'm', userType: 'HUMAN' })],
        [
          'user with an unknown skill',
          admin.post(`/admin/v1/accounts/${A}/users`, { loginName: 'm', userType: 'HUMAN', skills: ['nope'] }),
        ],
        ['skill without name', admin.post(`/admin/v1/accounts/${A}/skills`, {})],
        ['skill name as number', admin.post(`/admin/v1/accounts/${A}/skills`, { name: 7 })],
        ['app without scope', admin.post(`/admin/v1/accounts/${A}/apps`, { name: 'a' })],
        [
          'function with a non-http url',
          admin.post(`/admin/v1/accounts/${A}/functions`, { url: 'file:///etc/passwd' }),
        ],
        ['account id as number', admin.post('/admin/v1/accounts', { accountId: 12 })],
      ];
      for (const [what, pending] of checks) assertError(await pending, 400, what);

      // Nothing of the refused requests was written.
      const users = await admin.get(`/admin/v1/accounts/${A}/users`);
      assert.deepEqual(users.body.users.map((u: { loginName: string }) => u.loginName).sort(), [
        'alice',
        'bob',
        'dave',
      ]);
      const events = await http.get(`${consumerA}/conversations/${conv.x.id}/events`, c);
      assert.deepEqual(events.body.events, []);
    });

    it('text no store can hold (NUL characters) is refused, never a 500', async () => {
      assertError(
        await admin.post(`/admin/v1/accounts/${A}/skills`, { name: 'nul\u0000skill' }),
        400,
        'skill name with NUL',
      );
      assertError(
        await http.post(`${consumerA}/conversations`, { skill: 'sales\u0000' }),
        400,
        'open on a skill name with NUL',
      );
      assertError(
        await admin.post(`/admin/v1/accounts/${A}/users`, { loginName: 'nul\u0000', userType: 'BOT', skills: [] }),
        400,
        'login name with NUL',
      );
      // A login with it is refused one way or the other (no such user), never with a 500.
      const login = await http.post(`${agentA}/login`, { username: 'alice\u0000', password: 'pass-word-1' });
      assert.ok(login.status === 400 || login.status === 401, `login with NUL: ${login.status}`);
      assertError(login, login.status, 'login with NUL');
      const app = await admin.post(`/admin/v1/accounts/${A}/apps`, { name: 'nul\u0000app', scope: 's' });
      assert.ok(
        app.status === 400 || app.status === 201,
        `app name with NUL: ${app.status} ${JSON.stringify(app.body)}`,
      );
      if (app.status === 400) assertError(app, 400, 'app name with NUL');
      // A message text is kept as JSON, so a NUL in it is stored and read back as it was sent.
      const w = await open(A);
      const sent = await http.post(
        `${consumerA}/conversations/${w.id}/messages`,
        { text: 'a\u0000b' },
        { token: w.token },
      );
      assert.equal(sent.status, 201);
      const events = await http.get(`${consumerA}/conversations/${w.id}/events?after=${sent.body.sequence - 1}`, {
        token: w.token,
      });
      assert.equal(events.body.events[0].text, 'a\u0000b');
    });

    it('an SSE Last-Event-ID beyond any sequence replays nothing rather than breaking the stream', async () => {
      const ctl = new AbortController();
      const res = await fetch(`${running.url}${consumerA}/conversations/${conv.x.id}/stream`, {
        headers: { authorization: `Bearer ${conv.x.token}`, 'last-event-id': '99999999999999' },
        signal: ctl.signal,
      });
      assert.equal(res.status, 200);
      let text = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += Buffer.from(chunk).toString();
        if (text.includes('"kind":"ready"')) break;
      }
      ctl.abort();
      assert.match(text, /"kind":"ready"/, `the stream got ready: ${text}`);
      assert.doesNotMatch(text, /"kind":"event"/);
    });

    it('the agent TTR route refuses bad ttrType and CUSTOM values (400)', async () => {
      const held = await open(A);
      const token = { token: agents.dave };
      assert.equal((await http.post(`${agentA}/conversations/${held.id}/accept`, undefined, token)).status, 200);
      const ttr = (body: unknown) => http.post(`${agentA}/conversations/${held.id}/ttr`, body, token);
      assertError(await ttr({ ttrType: 'SOON' }), 400, 'ttrType SOON');
      assertError(await ttr({}), 400, 'no ttrType');
      assertError(await ttr({ ttrType: 'CUSTOM' }), 400, 'CUSTOM without value');
      assertError(await ttr({ ttrType: 'CUSTOM', value: 0 }), 400, 'CUSTOM value 0');
      assertError(await ttr({ ttrType: 'CUSTOM', value: '0' }), 400, 'CUSTOM value "0"');
      assertError(await ttr({ ttrType: 'CUSTOM', value: 'soon' }), 400, 'CUSTOM value "soon"');
      assertError(await ttr({ ttrType: 'CUSTOM', value: 2.5 }), 400, 'CUSTOM value 2.5');
      assertError(await ttr({ ttrType: 'CUSTOM', value: 1e12 }), 400, 'CUSTOM value 1e12');
      assertError(await ttr({ ttrType: 'CUSTOM', value: '99999999999999999999' }), 400, 'CUSTOM value of 20 digits');
      // The good ones pass, so the refusals above are about the values.
      assert.equal((await ttr({ ttrType: 'URGENT' })).status, 200);
      const custom = await ttr({ ttrType: 'CUSTOM', value: '90' });
      assert.equal(custom.status, 200);
      assert.deepEqual(custom.body.ttr, { ttrType: 'CUSTOM', value: 90 });
    });

    it('malformed JSON is 400, an unsupported media type 415, a body over 1 MiB 413', async () => {
      const raw = (path: string, payload: string, token?: string, contentType = 'application/json') =>
        http.call('POST', path, undefined, {
          raw: payload,
          headers: { 'content-type': contentType },
          token: token ?? null,
        });
      const malformed: [string, Promise<Reply>][] = [
        ['consumer open', raw(`${consumerA}/conversations`, '{"skill": "sales"')],
        ['consumer message', raw(`${consumerA}/conversations/${conv.x.id}/messages`, '{text: hi}', conv.x.token)],
        ['agent login', raw(`${agentA}/login`, "{'username': 'alice'}")],
        ['admin account', raw('/admin/v1/accounts', '{"accountId": "x",}', ADMIN_TOKEN)],
        // A route without a body schema still refuses a body that is not JSON.
        ['consumer close', raw(`${consumerA}/conversations/${conv.x.id}/close`, 'not json', conv.x.token)],
        // Prototype poisoning is refused as Fastify's own JSON parser does (SDES are deep-merged).
        [
          '__proto__ key',
          raw(`${consumerA}/conversations`, '{"skill":"sales","sdes":{"unauthenticatedSdes":{"__proto__":{"x":1}}}}'),
        ],
        [
          'constructor.prototype key',
          raw(`${consumerA}/conversations`, '{"skill":"sales","visitor":{"constructor":{"prototype":{"x":1}}}}'),
        ],
      ];
      for (const [what, pending] of malformed) assertError(await pending, 400, `malformed JSON on ${what}`);
      assertError(
        await raw(`${consumerA}/conversations`, '<skill>sales</skill>', undefined, 'application/xml'),
        415,
        'XML body',
      );
      // Text is parsed (as a string), and a string is not the object the schema asks for.
      assertError(
        await raw(`${consumerA}/conversations`, 'skill=sales', undefined, 'text/plain'),
        400,
        'text/plain body',
      );

      const huge = JSON.stringify({ text: 'x'.repeat(1024 * 1024) });
      assertError(
        await raw(`${consumerA}/conversations/${conv.x.id}/messages`, huge, conv.x.token),
        413,
        'over 1 MiB message',
      );
      assertError(
        await raw(
          `${consumerA}/conversations`,
          JSON.stringify({ skill: 'sales', visitor: { pad: 'y'.repeat(1024 * 1024 + 10) } }),
        ),
        413,
        'over 1 MiB open',
      );
      const form = `client_id=a&client_secret=${'z'.repeat(1024 * 1024)}`;
      assertError(
        await raw(
          `/sentinel/api/account/${A}/app/token?v=1.0&grant_type=client_credentials`,
          form,
          undefined,
          'application/x-www-form-urlencoded',
        ),
        413,
        'over 1 MiB token form',
      );
      // Just under the limit is fine (the limit is the body, not the text).
      const fits = JSON.stringify({ text: 'x'.repeat(10000) });
      assert.equal((await raw(`${consumerA}/conversations/${conv.x.id}/messages`, fits, conv.x.token)).status, 201);
      // The conversation is intact and the server still answers.
      const events = await http.get(`${consumerA}/conversations/${conv.x.id}/events`, { token: conv.x.token });
      assert.equal(events.body.events.length, 1);
    });

    it('no, malformed, wrong-kind or expired bearer tokens answer 401', async () => {
      const sessions = running.app.sessions;
      const expiredConsumer = await sessions.issue({ kind: 'consumer', accountId: A, subject: conv.x.id }, -10);
      const expiredAgent = await sessions.issue({ kind: 'agent', accountId: A, subject: '1' }, -10);
      const messages = `${consumerA}/conversations/${conv.x.id}/messages`;
      const events = `${consumerA}/conversations/${conv.x.id}/events`;
      const consumerChecks: [string, string | undefined, Record<string, string>?][] = [
        ['no token', undefined],
        ['garbage token', 'not-a-jwt'],
        ['expired consumer token', expiredConsumer],
        ['agent token as consumer token', agents.alice],
        ['admin token as consumer token', ADMIN_TOKEN],
        ['Basic scheme', undefined, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ];
      for (const [what, token, headers] of consumerChecks) {
        const code = assertError(
          await http.post(messages, { text: 'hi' }, { token: token ?? null, headers }),
          401,
          `message with ${what}`,
        );
        assert.equal(code, 'unauthorized');
        assertError(await http.get(events, { token: token ?? null, headers }), 401, `events with ${what}`);
      }
      const expired = await http.get(events, { token: expiredConsumer });
      assert.match(expired.body.error.message, /expired/);

      for (const [what, token] of [
        ['no token', undefined],
        ['expired agent token', expiredAgent],
        ['consumer token as agent token', conv.x.token],
        ['token signed by someone else', tamper(agents.alice)],
      ] as const) {
        assertError(await http.get(`${agentA}/queue`, { token: token ?? null }), 401, `queue with ${what}`);
        assertError(
          await http.post(`${agentA}/conversations/${conv.y.id}/accept`, undefined, { token: token ?? null }),
          401,
          `accept with ${what}`,
        );
      }

      // Streams: SSE (header or ?token=) and WebSocket upgrades are refused the same way.
      const sse = await fetch(
        `${running.url}${consumerA}/conversations/${conv.x.id}/stream?token=${encodeURIComponent(expiredConsumer)}`,
      );
      assert.equal(sse.status, 401);
      assertError({ status: sse.status, body: await sse.json(), headers: sse.headers }, 401, 'expired consumer SSE');
      const agentSse = await fetch(`${running.url}${agentA}/stream`, {
        headers: { authorization: `Bearer ${expiredAgent}` },
      });
      assertError(
        { status: agentSse.status, body: await agentSse.json(), headers: agentSse.headers },
        401,
        'expired agent SSE',
      );
      assert.equal(await upgradeStatus(`${running.url}${consumerA}/conversations/${conv.x.id}/stream`), 401);
      assert.equal(await upgradeStatus(`${running.url}${agentA}/stream`, expiredAgent), 401);
      // The same upgrade with a good token is accepted, so the 401s above are about the token.
      assert.equal(
        await upgradeStatus(`${running.url}${consumerA}/conversations/${conv.x.id}/stream`, conv.x.token),
        101,
      );
    });

    it('admin routes refuse a missing or wrong admin token (401)', async () => {
      const routes: [string, string, unknown?][] = [
        ['GET', '/admin/v1/accounts'],
        ['POST', '/admin/v1/accounts', { accountId: 'sneaky' }],
        ['GET', `/admin/v1/accounts/${A}/skills`],
        [
          'POST',
          `/admin/v1/accounts/${A}/users`,
          { loginName: 'sneaky', password: 'pass-word-1', userType: 'HUMAN', skills: [] },
        ],
        ['POST', `/admin/v1/accounts/${A}/apps`, { name: 'sneaky', scope: 's' }],
        ['GET', `/admin/v1/accounts/${A}/conversations/${conv.x.id}`],
        ['GET', `/admin/v1/accounts/${A}/conversations/${conv.x.id}/stream`],
        ['POST', '/admin/v1/sentinel/rotate-keys'],
      ];
      for (const [method, path, body] of routes) {
        for (const token of [null, 'wrong-admin-token', `${ADMIN_TOKEN}x`, agents.alice, conv.x.token]) {
          assertError(
            await http.call(method, path, body, { token }),
            401,
            `${method} ${path} with ${token ? 'a wrong' : 'no'} token`,
          );
        }
      }
      assert.equal(
        (await fetch(`${running.url}/admin/v1/accounts/${A}/conversations/${conv.x.id}/stream?token=nope`)).status,
        401,
      );
      // Nothing was created by the refused calls.
      assert.deepEqual(
        (await admin.get('/admin/v1/accounts')).body.accounts.map((a: { accountId: string }) => a.accountId).sort(),
        [A, B],
      );
      assert.ok(
        !(await admin.get(`/admin/v1/accounts/${A}/apps`)).body.apps.some((a: { name: string }) => a.name === 'sneaky'),
      );
    });

    it('a consumer token opens only its own conversation (403)', async () => {
      const x = { token: conv.x.token };
      assertError(
        await http.post(`${consumerA}/conversations/${conv.y.id}/messages`, { text: 'hi' }, x),
        403,
        'message into Y',
      );
      assertError(await http.get(`${consumerA}/conversations/${conv.y.id}/events`, x), 403, 'events of Y');
      assertError(await http.get(`${consumerA}/conversations/${conv.y.id}`, x), 403, 'status of Y');
      assertError(
        await http.post(`${consumerA}/conversations/${conv.y.id}/typing`, { typing: true }, x),
        403,
        'typing in Y',
      );
      assertError(await http.post(`${consumerA}/conversations/${conv.y.id}/close`, undefined, x), 403, 'close Y');
      const sse = await fetch(`${running.url}${consumerA}/conversations/${conv.y.id}/stream`, {
        headers: { authorization: `Bearer ${conv.x.token}` },
      });
      assert.equal(sse.status, 403);
      await sse.body?.cancel();
      assert.equal(
        await upgradeStatus(`${running.url}${consumerA}/conversations/${conv.y.id}/stream`, conv.x.token),
        403,
      );
      // Y is untouched.
      const y = await admin.get(`/admin/v1/accounts/${A}/conversations/${conv.y.id}`);
      assert.equal(y.body.status, 'OPEN');
      assert.deepEqual(y.body.events, []);
    });

    it('a token of account A never reaches account B’s data (403/404, no data)', async () => {
      const consumerB = `/api/account/${B}/consumer`;
      const agentB = `/api/account/${B}/agent`;
      const refusals: [string, Promise<Reply>][] = [
        ['A agent on B queue', http.get(`${agentB}/queue`, { token: agents.alice })],
        [
          'A agent views B conversation via B path',
          http.get(`${agentB}/conversations/${conv.z.id}`, { token: agents.alice }),
        ],
        [
          'A agent accepts B conversation via B path',
          http.post(`${agentB}/conversations/${conv.z.id}/accept`, undefined, { token: agents.alice }),
        ],
        [
          'A agent views B conversation via A path',
          http.get(`${agentA}/conversations/${conv.z.id}`, { token: agents.alice }),
        ],
        [
          'A agent accepts B conversation via A path',
          http.post(`${agentA}/conversations/${conv.z.id}/accept`, undefined, { token: agents.alice }),
        ],
        [
          'A consumer on B conversation path',
          http.get(`${consumerB}/conversations/${conv.z.id}/events`, { token: conv.x.token }),
        ],
        [
          'A consumer posts on B conversation path',
          http.post(`${consumerB}/conversations/${conv.z.id}/messages`, { text: 'hi' }, { token: conv.x.token }),
        ],
        [
          'A consumer token under B prefix for its own id',
          http.get(`${consumerB}/conversations/${conv.x.id}/events`, { token: conv.x.token }),
        ],
        [
          'B consumer token under A prefix',
          http.get(`${consumerA}/conversations/${conv.z.id}/events`, { token: conv.z.token }),
        ],
        ['admin: B conversation under A path', admin.get(`/admin/v1/accounts/${A}/conversations/${conv.z.id}`)],
      ];
      for (const [what, pending] of refusals) {
        const res = await pending;
        assert.ok(res.status === 403 || res.status === 404, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
        assertError(res, res.status, what);
        assert.ok(!JSON.stringify(res.body).includes('"events"'), `${what}: no data`);
      }
      const sse = await fetch(`${running.url}${agentB}/stream`, {
        headers: { authorization: `Bearer ${agents.alice}` },
      });
      assert.equal(sse.status, 403);
      await sse.body?.cancel();
      // Z is still waiting for B's agent, untouched.
      const z = await admin.get(`/admin/v1/accounts/${B}/conversations/${conv.z.id}`);
      assert.equal(z.body.assignee, null);
      assert.deepEqual(z.body.events, []);
      assert.equal((await http.get(`${agentB}/queue`, { token: agents.carol })).body.conversations.length, 1);
    });

    it('conflicts: closed conversations, held conversations and duplicates answer 409; foreign skills 403', async () => {
      // Accept by an agent who does not serve the conversation's skill.
      assertError(
        await http.post(`${agentA}/conversations/${conv.y.id}/accept`, undefined, { token: agents.bob }),
        403,
        'accept off-skill',
      );
      // Accept of a conversation someone else holds.
      assert.equal(
        (await http.post(`${agentA}/conversations/${conv.y.id}/accept`, undefined, { token: agents.alice })).status,
        200,
      );
      assertError(
        await http.post(`${agentA}/conversations/${conv.y.id}/accept`, undefined, { token: agents.dave }),
        409,
        'accept held',
      );
      // An agent who does not hold it cannot write into it either.
      assertError(
        await http.post(`${agentA}/conversations/${conv.y.id}/messages`, { text: 'mine now' }, { token: agents.dave }),
        403,
        'message by non-holder',
      );

      const closing = await open(A);
      const c = { token: closing.token };
      assert.equal(
        (await http.post(`${consumerA}/conversations/${closing.id}/messages`, { text: 'bye' }, c)).status,
        201,
      );
      assert.equal((await http.post(`${consumerA}/conversations/${closing.id}/close`, undefined, c)).status, 200);
      assertError(
        await http.post(`${consumerA}/conversations/${closing.id}/messages`, { text: 'still there?' }, c),
        409,
        'message after close',
      );
      assertError(
        await http.post(`${consumerA}/conversations/${closing.id}/typing`, { typing: true }, c),
        409,
        'typing after close',
      );
      assertError(await http.post(`${consumerA}/conversations/${closing.id}/close`, undefined, c), 409, 'close twice');
      assertError(
        await http.post(`${agentA}/conversations/${closing.id}/accept`, undefined, { token: agents.alice }),
        409,
        'accept closed',
      );
      const events = await http.get(`${consumerA}/conversations/${closing.id}/events`, c);
      assert.deepEqual(
        events.body.events.map((e: { type: string }) => e.type),
        ['TEXT', 'CLOSE'],
      );

      assertError(await admin.post('/admin/v1/accounts', { accountId: A }), 409, 'duplicate account');
      assertError(await admin.post(`/admin/v1/accounts/${A}/skills`, { name: 'sales' }), 409, 'duplicate skill');
      assertError(
        await admin.post(`/admin/v1/accounts/${A}/users`, { loginName: 'alice', userType: 'HUMAN', skills: [] }),
        409,
        'duplicate user',
      );
    });

    it('account ids with bad characters or over 32 characters answer 400, in bodies and paths', async () => {
      for (const accountId of ['', 'a b', 'a.b', 'a/b', 'ä', 'a'.repeat(33), '<script>']) {
        assertError(await admin.post('/admin/v1/accounts', { accountId }), 400, `create account '${accountId}'`);
      }
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: 'a'.repeat(32) })).status, 201);
      for (const acc of ['a.b', 'a%20b', 'a'.repeat(33), '%C3%A4']) {
        assertError(
          await http.post(`/api/account/${acc}/consumer/conversations`, { skill: 'sales' }),
          400,
          `consumer path '${acc}'`,
        );
        assertError(await admin.get(`/admin/v1/accounts/${acc}/skills`), 400, `admin path '${acc}'`);
        assertError(
          await http.get(`/api/account/${acc}/service/baseURI.json?version=1.0`),
          400,
          `domain lookup path '${acc}'`,
        );
      }
    });
  });
}

/** The same token with a changed signature: well-formed, but not ours. */
function tamper(token: string): string {
  const [h, p, s] = token.split('.');
  return `${h}.${p}.${s.slice(0, -4)}${s.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
}
