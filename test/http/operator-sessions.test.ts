import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { STORES, freshStore, type StoreKind, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Reply, type Running } from '../helpers/app.js';
import { assertError, openConversation, setUpAccount } from '../public-api/support.js';
import { operatorSessionTimes, type OperatorSessionTimes } from '../../src/config.js';
import { SESSION_COOKIE, crossOriginRefusal, sessionCookie, sessionIdOf } from '../../src/http/operator-sessions.js';

/**
 * The console's operator sessions through the real server on loopback: sign-in with the admin
 * token for a cookie, what the cookie may do (and what another origin's page may not), sign-out,
 * idle and absolute expiry on a clock the test moves, a restart and, on PostgreSQL, a second
 * instance. The admin bearer beside it works as it always has.
 */

const MINUTE = 60_000;
const TIMES: OperatorSessionTimes = { idleMs: 30 * MINUTE, maxMs: 120 * MINUTE };
const CONSOLE = { 'x-botbridge-console': '1' };
const acc = 'acme';

function manualClock(start = 1_700_000_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

interface SetCookie {
  /** `botbridge_operator=<value>`, as a browser sends it back. */
  pair: string;
  value: string;
  attributes: string[];
}

function setCookieOf(res: Reply): SetCookie | undefined {
  const [line, ...more] = res.headers.getSetCookie();
  assert.equal(more.length, 0, 'one cookie at most');
  if (!line) return undefined;
  const [pair, ...attributes] = line.split(';').map((part) => part.trim());
  return { pair, value: pair.slice(pair.indexOf('=') + 1), attributes };
}

/** A browser's view of the admin API: its cookie sent with every call, the console header on writes. */
function browser(url: string, cookie: string, extra: Record<string, string> = {}) {
  const base = client(url);
  const headers = (write: boolean) => ({ cookie, ...(write ? CONSOLE : {}), ...extra });
  return {
    get: (path: string) => base.get(path, { headers: headers(false) }),
    post: (path: string, body?: unknown) => base.post(path, body, { headers: headers(true) }),
    delete: (path: string) => base.delete(path, { headers: headers(true) }),
  };
}

async function signIn(url: string, cookie?: string): Promise<{ res: Reply; cookie: string }> {
  const res = await client(url).post(
    '/admin/v1/session',
    { token: ADMIN_TOKEN },
    { headers: { ...CONSOLE, ...(cookie ? { cookie } : {}) } },
  );
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const set = setCookieOf(res);
  assert.ok(set, 'a sign-in sets the cookie');
  return { res, cookie: set.pair };
}

describe('operator sessions: the cookie, the cross-origin rule and the times, as pure functions', () => {
  const id = `${'A'.repeat(42)}b`;

  it('finds the session id among the cookies, only in its exact form', () => {
    assert.equal(sessionIdOf(`theme=dark; botbridge_operator=${id}; x=1`), id);
    assert.equal(sessionIdOf(`botbridge_operator=${id}`), id);
    for (const header of [
      undefined,
      '',
      'botbridge_operator=',
      `botbridge_operator=${id}x`,
      `xbotbridge_operator=${id}`,
    ])
      assert.equal(sessionIdOf(header), undefined, String(header));
  });

  it('writes the cookie, and the one that clears it', () => {
    assert.equal(
      sessionCookie({ id, maxAgeMs: 7_200_500 }, { secure: true }),
      `botbridge_operator=${id}; Path=/admin/v1; Max-Age=7200; HttpOnly; SameSite=Strict; Secure`,
    );
    assert.equal(
      sessionCookie(undefined, { secure: false }),
      'botbridge_operator=; Path=/admin/v1; Max-Age=0; HttpOnly; SameSite=Strict',
    );
  });

  it('refuses writes without the console header, and reads naming another origin', () => {
    const own = { host: 'console.example:8080' };
    const refused = (request: Parameters<typeof crossOriginRefusal>[0], hosts: string[] = []) =>
      crossOriginRefusal(request, hosts) !== undefined;
    assert.ok(refused({ ...own, method: 'POST' }));
    assert.ok(refused({ ...own, method: 'DELETE', origin: 'http://console.example:8080' }));
    assert.ok(!refused({ ...own, method: 'PATCH', console: '1' }));
    assert.ok(!refused({ ...own, method: 'GET' }));
    assert.ok(!refused({ ...own, method: 'GET', origin: 'https://CONSOLE.example:8080' }));
    assert.ok(!refused({ ...own, method: 'GET', origin: 'https://public.example' }, ['public.example']));
    for (const origin of ['https://console.example', 'http://evil.example', 'null', 'file:///x', 'not a url'])
      assert.ok(refused({ ...own, method: 'GET', origin }), origin);
  });

  it('reads the times from the environment, in minutes and days', () => {
    assert.deepEqual(operatorSessionTimes({}), { idleMs: 720 * MINUTE, maxMs: 7 * 24 * 60 * MINUTE });
    assert.deepEqual(operatorSessionTimes({ OPERATOR_SESSION_IDLE_MINUTES: '15', OPERATOR_SESSION_MAX_DAYS: '1' }), {
      idleMs: 15 * MINUTE,
      maxMs: 24 * 60 * MINUTE,
    });
    for (const value of ['0', '-1', '1.5', 'soon'])
      assert.throws(() => operatorSessionTimes({ OPERATOR_SESSION_IDLE_MINUTES: value }), /whole number/);
    assert.throws(
      () => operatorSessionTimes({ OPERATOR_SESSION_IDLE_MINUTES: '2000', OPERATOR_SESSION_MAX_DAYS: '1' }),
      /not be longer/,
    );
  });
});

for (const kind of STORES) {
  describe(`operator sessions (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let url: string;
    const clock = manualClock();
    const bearer = () => client(url, { token: ADMIN_TOKEN });

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(
        store,
        { operatorSessions: TIMES, trustProxy: 'loopback' },
        { operatorSessions: { now: clock.now } },
      );
      url = running.url;
      await setUpAccount(url, { acc, skills: ['support'], users: [] });
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('signs in with the admin token for an httpOnly, SameSite=Strict cookie lasting the session', async () => {
      const { res, cookie } = await signIn(url);
      const now = clock.now();
      assert.deepEqual(res.body, { signedInAt: now, expiresAt: now + TIMES.idleMs, endsAt: now + TIMES.maxMs });
      assert.equal(res.headers.get('cache-control'), 'no-store');
      const set = setCookieOf(res)!;
      assert.match(set.pair, /^botbridge_operator=[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(set.attributes.sort(), ['HttpOnly', 'Max-Age=7200', 'Path=/admin/v1', 'SameSite=Strict']);

      const session = await browser(url, cookie).get('/admin/v1/session');
      assert.equal(session.status, 200);
      assert.deepEqual(session.body, res.body);
      const accounts = await browser(url, cookie).get('/admin/v1/accounts');
      assert.equal(accounts.status, 200);
      assert.ok(accounts.body.accounts.some((a: { accountId: string }) => a.accountId === acc));
      const created = await browser(url, cookie).post('/admin/v1/accounts', { accountId: 'by-cookie' });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      for (const secret of [set.value, ADMIN_TOKEN])
        assert.ok(!running.logs.some((line) => line.includes(secret)), 'no log line holds the session id or the token');
    });

    it('marks the cookie Secure when the page came over HTTPS (a trusted proxy says so)', async () => {
      const res = await client(url).post(
        '/admin/v1/session',
        { token: ADMIN_TOKEN },
        { headers: { ...CONSOLE, 'x-forwarded-proto': 'https' } },
      );
      assert.equal(res.status, 201);
      assert.ok(setCookieOf(res)!.attributes.includes('Secure'));
    });

    it('lists the three session routes in /openapi.json, and the cookie as a way into every admin route', async () => {
      const doc = await client(url).get('/openapi.json');
      assert.deepEqual(Object.keys(doc.body.paths['/admin/v1/session']).sort(), ['delete', 'get', 'post']);
      assert.deepEqual(doc.body.components.securitySchemes.operatorSession, {
        type: 'apiKey',
        in: 'cookie',
        name: SESSION_COOKIE,
        description: doc.body.components.securitySchemes.operatorSession.description,
      });
      for (const [path, methods] of Object.entries<any>(doc.body.paths))
        if (path.startsWith('/admin/v1/accounts'))
          for (const operation of Object.values<any>(methods))
            assert.deepEqual(operation.security, [{ bearer: [] }, { operatorSession: [] }], path);
    });

    it('refuses a wrong token, a sign-in without the console header and malformed bodies, setting no cookie', async () => {
      const anon = client(url);
      const wrong = await anon.post('/admin/v1/session', { token: `${ADMIN_TOKEN}x` }, { headers: CONSOLE });
      assertError(wrong, 401, 'unauthorized', 'invalid admin token');
      const forged = await anon.post('/admin/v1/session', { token: ADMIN_TOKEN });
      assertError(forged, 403, 'cross-origin-refused', 'x-botbridge-console');
      for (const body of [{}, { token: 5 }, { token: '' }, { token: ADMIN_TOKEN, extra: 1 }, 'token']) {
        const res = await anon.post('/admin/v1/session', body, { headers: CONSOLE });
        assertError(res, 400);
      }
      const form = await anon.call('POST', '/admin/v1/session', undefined, {
        raw: new URLSearchParams({ token: ADMIN_TOKEN }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assertError(form, 403, 'cross-origin-refused');
      for (const res of [wrong, forged, form]) assert.equal(setCookieOf(res), undefined);
    });

    it('keeps the admin bearer as it was: alone when given, no console header needed', async () => {
      const { cookie } = await signIn(url);
      assert.equal((await bearer().get('/admin/v1/accounts')).status, 200);
      const write = await bearer().post('/admin/v1/accounts', { accountId: 'by-bearer' });
      assert.equal(write.status, 201);
      // A wrong bearer is refused even beside a good cookie: the bearer, once named, decides.
      const both = await client(url, { token: 'wrong' }).get('/admin/v1/accounts', { headers: { cookie } });
      assertError(both, 401, 'unauthorized', 'invalid admin token');
      assertError(await client(url).get('/admin/v1/accounts'), 401, 'unauthorized', 'admin bearer token required');
      // The session route is about the cookie: a bearer alone is no session.
      assertError(await bearer().get('/admin/v1/session'), 401, 'no-session');
    });

    it('refuses cookies that name no session', async () => {
      const unknown = `botbridge_operator=${'A'.repeat(43)}`;
      assertError(await browser(url, unknown).get('/admin/v1/accounts'), 401, 'session-ended');
      assertError(await browser(url, unknown).get('/admin/v1/session'), 401, 'session-ended');
      for (const cookie of [
        'botbridge_operator=short',
        'botbridge_operator=',
        'other=x',
        `botbridge_operator=${'!'.repeat(43)}`,
      ]) {
        assertError(await browser(url, cookie).get('/admin/v1/accounts'), 401, 'unauthorized');
        assertError(await browser(url, cookie).get('/admin/v1/session'), 401, 'no-session');
      }
    });

    it('refuses what another origin’s page could make a browser send with the cookie', async () => {
      const { cookie } = await signIn(url);
      const anon = client(url);
      // A write without the console header: what a form or a fetch from another origin can send.
      const forged = await anon.post('/admin/v1/accounts', { accountId: 'forged' }, { headers: { cookie } });
      assertError(forged, 403, 'cross-origin-refused');
      const list = await bearer().get('/admin/v1/accounts');
      assert.ok(!list.body.accounts.some((a: { accountId: string }) => a.accountId === 'forged'));
      const signOut = await anon.delete('/admin/v1/session', { headers: { cookie } });
      assertError(signOut, 403, 'cross-origin-refused');
      assert.equal((await browser(url, cookie).get('/admin/v1/session')).status, 200, 'still signed in');
      // A read naming another origin (a cross-origin fetch, or a WebSocket opened by its page).
      for (const origin of ['http://evil.example', 'http://127.0.0.1:1', 'null']) {
        const read = await browser(url, cookie, { origin }).get('/admin/v1/accounts');
        assertError(read, 403, 'cross-origin-refused');
      }
      assert.equal((await browser(url, cookie, { origin: url }).get('/admin/v1/accounts')).status, 200);

      const { conversationId } = await openConversation(url, acc, { skill: 'support' });
      const stream = `${url.replace('http', 'ws')}/admin/v1/accounts/${acc}/conversations/${conversationId}/stream`;
      assert.equal(await upgrade(stream, { cookie, origin: 'http://evil.example' }), 403);
      assert.equal(await upgrade(stream, { cookie, origin: url }), 101);
    });

    it('signs out: that session ends for every tab, its cookie is cleared, other browsers stay in', async () => {
      const first = await signIn(url);
      const second = await signIn(url);
      const out = await browser(url, first.cookie).delete('/admin/v1/session');
      assert.equal(out.status, 204);
      const cleared = setCookieOf(out)!;
      assert.equal(cleared.pair, 'botbridge_operator=');
      assert.ok(cleared.attributes.includes('Max-Age=0'));
      assertError(await browser(url, first.cookie).get('/admin/v1/accounts'), 401, 'session-ended');
      assertError(await browser(url, first.cookie).get('/admin/v1/session'), 401, 'session-ended');
      assert.equal((await browser(url, second.cookie).get('/admin/v1/accounts')).status, 200);
      // Again, or with no cookie at all: nothing to end, the same answer.
      assert.equal((await browser(url, first.cookie).delete('/admin/v1/session')).status, 204);
      assert.equal((await client(url).delete('/admin/v1/session', { headers: CONSOLE })).status, 204);
      // Signing in again from a browser replaces its session.
      const again = await signIn(url, second.cookie);
      assertError(await browser(url, second.cookie).get('/admin/v1/session'), 401, 'session-ended');
      assert.equal((await browser(url, again.cookie).get('/admin/v1/session')).status, 200);
    });

    it('expires after the idle time without use, each use moving it on', async () => {
      const { cookie } = await signIn(url);
      const use = () => browser(url, cookie).get('/admin/v1/session');
      clock.advance(TIMES.idleMs - MINUTE);
      const used = await use();
      assert.equal(used.status, 200);
      assert.equal(used.body.expiresAt, clock.now() + TIMES.idleMs);
      clock.advance(TIMES.idleMs - MINUTE);
      assert.equal((await browser(url, cookie).get('/admin/v1/accounts')).status, 200);
      clock.advance(TIMES.idleMs);
      assertError(await use(), 401, 'session-ended');
    });

    it('ends at its absolute end however busy', async () => {
      const { cookie, res } = await signIn(url);
      const { endsAt } = res.body;
      while (clock.now() < endsAt - 10 * MINUTE) {
        clock.advance(10 * MINUTE);
        const used = await browser(url, cookie).get('/admin/v1/session');
        assert.equal(used.status, 200);
        assert.ok(used.body.expiresAt <= endsAt, 'never past the absolute end');
      }
      clock.advance(10 * MINUTE);
      assertError(await browser(url, cookie).get('/admin/v1/session'), 401, 'session-ended');
    });

    it('survives a restart; a new admin token ends every session', async () => {
      const { cookie } = await signIn(url);
      await running.close();
      running = await startApp(store, { operatorSessions: TIMES }, { operatorSessions: { now: clock.now } });
      url = running.url;
      assert.equal((await browser(url, cookie).get('/admin/v1/accounts')).status, 200);
      await running.close();
      running = await startApp(
        store,
        { operatorSessions: TIMES, adminToken: 'a-new-admin-token' },
        { operatorSessions: { now: clock.now } },
      );
      url = running.url;
      assertError(await browser(url, cookie).get('/admin/v1/accounts'), 401, 'session-ended');
      await running.close();
      running = await startApp(store, { operatorSessions: TIMES }, { operatorSessions: { now: clock.now } });
      url = running.url;
    });
  });
}

if (STORES.includes('postgres'))
  describe('operator sessions across instances (postgres)', () => {
    let store: TestStore;
    const instances: Running[] = [];

    before(async () => {
      store = await freshStore('postgres' satisfies StoreKind);
      for (const id of ['a', 'b']) instances.push(await startApp(store, { instanceId: `sessions-${id}` }));
    });
    after(async () => {
      for (const instance of instances) await instance.close();
      await store?.dispose();
    });

    it('a session signed in on one instance works on another, and a sign-out on either ends it on both', async () => {
      const [a, b] = instances;
      const { cookie } = await signIn(a.url);
      assert.equal((await browser(b.url, cookie).get('/admin/v1/accounts')).status, 200);
      assert.equal((await browser(b.url, cookie).delete('/admin/v1/session')).status, 204);
      assertError(await browser(a.url, cookie).get('/admin/v1/accounts'), 401, 'session-ended');
    });
  });

/** The status a WebSocket upgrade is answered with (101 when it opens). */
function upgrade(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const { origin, ...rest } = headers;
    const socket = new WebSocket(url, { headers: rest, origin });
    socket.once('open', () => {
      socket.close();
      resolve(101);
    });
    socket.once('unexpected-response', (_request, response) => {
      resolve(response.statusCode ?? 0);
      socket.terminate();
    });
    socket.once('error', reject);
  });
}
