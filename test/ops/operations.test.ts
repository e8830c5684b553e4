import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { openSse, openWebSocket, type StreamReader } from '../helpers/stream.js';

/** Polls until `check` returns a value (never asserts on time, only waits for the condition). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function metricsText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

/** The value of one sample line, `name{labels} value`, where every given label matches. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

for (const kind of STORES) {
  describe(`operations: health, metrics, OpenAPI, request ids, logs (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let http: Client;
    const acc = 'ops-acc';
    const streams: StreamReader[] = [];

    before(async () => {
      store = await freshStore(kind);
      // Debug level: every request is logged, so the secrets check sees the most there is.
      running = await startApp(store, { logLevel: 'debug' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      http = client(running.url);
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name: 'sales' })).status, 201);
    });
    after(async () => {
      for (const stream of streams) stream.close();
      await running?.close();
      await store?.dispose();
    });

    it('/healthz answers 200 {status:"ok", instance, store}', async () => {
      const res = await http.get('/healthz');
      assert.equal(res.status, 200);
      const listener = kind === 'postgres' ? { listener: { ok: true } } : {};
      assert.deepEqual(res.body, {
        status: 'ok',
        instance: running.app.config.instanceId,
        store: { dialect: kind, ok: true },
        ...listener,
      });
    });

    it('/metrics: latency buckets per route pattern, open conversations, events written', async () => {
      const before = await metricsText(running.url);
      assert.equal(sample(before, 'botbridge_open_conversations'), 0);

      const a = await http.post(`/api/account/${acc}/consumer/conversations`, { skill: 'sales' });
      const b = await http.post(`/api/account/${acc}/consumer/conversations`, { skill: 'sales' });
      assert.equal(a.status, 201);
      assert.equal(b.status, 201);
      for (const text of ['one', 'two', 'three']) {
        assert.equal(
          (
            await http.post(
              `/api/account/${acc}/consumer/conversations/${a.body.conversationId}/messages`,
              { text },
              { token: a.body.consumerToken },
            )
          ).status,
          201,
        );
      }
      assert.equal(
        (
          await http.post(`/api/account/${acc}/consumer/conversations/${b.body.conversationId}/close`, undefined, {
            token: b.body.consumerToken,
          })
        ).status,
        200,
      );
      assert.equal((await http.get(`/nowhere/${a.body.conversationId}`)).status, 404);

      const route = '/api/account/:acc/consumer/conversations/:id/messages';
      const text = await eventually('the messages route in the latency histogram', async () => {
        const t = await metricsText(running.url);
        return sample(t, 'botbridge_http_request_duration_seconds_count', { route, method: 'POST', status: '201' }) ===
          3
          ? t
          : undefined;
      });
      assert.match(text, /# TYPE botbridge_http_request_duration_seconds histogram/);
      for (const le of ['0.001', '0.1', '1', '+Inf']) {
        assert.notEqual(
          sample(text, 'botbridge_http_request_duration_seconds_bucket', { route, le }),
          undefined,
          `bucket le=${le}`,
        );
      }
      assert.equal(sample(text, 'botbridge_http_request_duration_seconds_bucket', { route, le: '+Inf' }), 3);
      assert.equal(
        sample(text, 'botbridge_http_request_duration_seconds_count', {
          route: '/api/account/:acc/consumer/conversations',
          method: 'POST',
        }),
        2,
      );
      // Labels are route patterns, never concrete ids: one series per route, not per conversation.
      assert.ok(!text.includes(a.body.conversationId), 'no conversation id in any label');
      assert.notEqual(
        sample(text, 'botbridge_http_request_duration_seconds_count', { route: 'unmatched', status: '404' }),
        undefined,
      );

      // Two opened, one closed: one open conversation, as the store says.
      assert.equal(sample(text, 'botbridge_open_conversations'), 1);
      assert.equal(await running.app.conversations.countOpen(), 1);
      assert.match(text, /# TYPE botbridge_conversation_events_written_total counter/);
      assert.equal(sample(text, 'botbridge_conversation_events_written_total', { type: 'TEXT' }), 3);
      assert.equal(sample(text, 'botbridge_conversation_events_written_total', { type: 'CLOSE' }), 1);
    });

    it('/openapi.json is an OpenAPI 3 document listing every route family', async () => {
      const res = await http.get('/openapi.json');
      assert.equal(res.status, 200);
      assert.match(res.body.openapi, /^3\./);
      const paths = Object.keys(res.body.paths);
      for (const path of [
        '/api/account/{acc}/consumer/conversations',
        '/api/account/{acc}/consumer/conversations/{id}/messages',
        '/api/account/{acc}/agent/login',
        '/api/account/{acc}/agent/queue',
        '/api/account/{acc}/agent/conversations/{id}/accept',
        '/admin/v1/accounts',
        '/admin/v1/accounts/{acc}/apps',
        '/admin/v1/sentinel/rotate-keys',
        '/sentinel/api/account/{acc}/app/token',
        '/sentinel/well-known/jwks',
        '/sentinel/api/account/{acc}/.well-known/jwks',
        '/api/account/{acc}/service/baseURI.json',
        '/healthz',
        '/metrics',
      ]) {
        assert.ok(paths.includes(path), `openapi lists ${path}; it has ${paths.join(', ')}`);
      }
      const open = res.body.paths['/api/account/{acc}/consumer/conversations'].post;
      assert.ok(open.requestBody, 'request bodies are documented from the route schemas');
    });

    it('every response carries x-request-id, and an incoming one is echoed', async () => {
      const seen = new Set<string>();
      const responses = [
        await fetch(`${running.url}/healthz`),
        await fetch(`${running.url}/no/such/route`),
        await fetch(`${running.url}/admin/v1/accounts`),
        await fetch(`${running.url}/api/account/${acc}/consumer/conversations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{oops',
        }),
        await fetch(`${running.url}/api/account/${acc}/consumer/conversations`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ skill: 'x'.repeat(1024 * 1024 + 1) }),
        }),
        await fetch(`${running.url}/sentinel/well-known/jwks`),
      ];
      for (const res of responses) {
        const id = res.headers.get('x-request-id');
        assert.ok(id, `${res.url} (${res.status}) has x-request-id`);
        seen.add(id);
        await res.arrayBuffer();
      }
      assert.deepEqual(
        responses.map((r) => r.status),
        [200, 404, 401, 400, 413, 200],
      );
      assert.equal(seen.size, responses.length, 'each request has its own id');

      const given = 'trace-1234-abcd';
      const echoed = await fetch(`${running.url}/healthz`, { headers: { 'x-request-id': given } });
      assert.equal(echoed.headers.get('x-request-id'), given);
      const echoedError = await fetch(`${running.url}/admin/v1/accounts`, { headers: { 'x-request-id': given } });
      assert.equal(echoedError.status, 401);
      assert.equal(echoedError.headers.get('x-request-id'), given);

      // Streams too: the SSE response carries it.
      const opened = await http.post(`/api/account/${acc}/consumer/conversations`, { skill: 'sales' });
      const ctl = new AbortController();
      const sse = await fetch(
        `${running.url}/api/account/${acc}/consumer/conversations/${opened.body.conversationId}/stream`,
        {
          headers: { authorization: `Bearer ${opened.body.consumerToken}`, 'x-request-id': 'sse-trace' },
          signal: ctl.signal,
        },
      );
      assert.equal(sse.status, 200);
      assert.equal(sse.headers.get('x-request-id'), 'sse-trace');
      ctl.abort();
    });

    it('no secret reaches the logs: passwords, client secrets, access, consumer, agent and admin tokens', async () => {
      const secrets: Record<string, string> = { admin: ADMIN_TOKEN };
      const password = 'hunter2-the-password';
      secrets.password = password;
      assert.equal(
        (
          await admin.post(`/admin/v1/accounts/${acc}/users`, {
            loginName: 'alice',
            password,
            userType: 'HUMAN',
            skills: ['sales'],
          })
        ).status,
        201,
      );
      assert.equal(
        (await http.post(`/api/account/${acc}/agent/login`, { username: 'alice', password: `${password}-wrong` }))
          .status,
        401,
      );
      secrets.wrongPassword = `${password}-wrong`;
      const login = await http.post(`/api/account/${acc}/agent/login`, { username: 'alice', password });
      assert.equal(login.status, 200);
      secrets.agentToken = login.body.token;

      const app = await admin.post(`/admin/v1/accounts/${acc}/apps`, { name: 'connector', scope: 'thirdpartybots' });
      assert.equal(app.status, 201);
      secrets.clientSecret = app.body.client_secret;
      const tokenPath = `/sentinel/api/account/${acc}/app/token?v=1.0&grant_type=client_credentials`;
      const query = await fetch(
        `${running.url}${tokenPath}&client_id=${app.body.client_id}&client_secret=${encodeURIComponent(app.body.client_secret)}`,
        { method: 'POST' },
      );
      assert.equal(query.status, 200);
      secrets.accessTokenQuery = ((await query.json()) as { access_token: string }).access_token;
      // Percent-encoded key: the server decodes it to client_secret, so the log must hide it too.
      const encodedKey = await fetch(
        `${running.url}${tokenPath}&client%5Fid=${app.body.client_id}&client%5Fsecret=${encodeURIComponent(app.body.client_secret)}`,
        { method: 'POST' },
      );
      assert.equal(encodedKey.status, 200);
      await encodedKey.arrayBuffer();
      const form = await fetch(`${running.url}${tokenPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: app.body.client_id, client_secret: app.body.client_secret }).toString(),
      });
      assert.equal(form.status, 200);
      secrets.accessTokenForm = ((await form.json()) as { access_token: string }).access_token;
      // A wrong secret is a secret too (someone's typo of the real one).
      const wrong = await fetch(
        `${running.url}${tokenPath}&client_id=${app.body.client_id}&client_secret=not-the-secret-${app.body.client_id}`,
        { method: 'POST' },
      );
      assert.equal(wrong.status, 401);
      secrets.wrongSecret = `not-the-secret-${app.body.client_id}`;

      const opened = await http.post(`/api/account/${acc}/consumer/conversations`, { skill: 'sales' });
      secrets.consumerToken = opened.body.consumerToken;
      const conv = `/api/account/${acc}/consumer/conversations/${opened.body.conversationId}`;
      assert.equal(
        (await http.post(`${conv}/messages`, { text: 'hello' }, { token: opened.body.consumerToken })).status,
        201,
      );
      assert.equal(
        (
          await http.get(`${conv}/events?after=0&token=${opened.body.consumerToken}`, {
            token: opened.body.consumerToken,
          })
        ).status,
        200,
      );
      // Browsers put the token in the query of streams.
      streams.push(await openSse(`${running.url}${conv}/stream?token=${opened.body.consumerToken}`));
      streams.push(await openWebSocket(`${running.url}/api/account/${acc}/agent/stream?token=${login.body.token}`));
      // A WebSocket upgrade on a route without a WebSocket handler is logged by the plugin itself.
      await new Promise<void>((resolve) => {
        const ws = new WebSocket(
          `${running.url.replace(/^http/, 'ws')}${conv}/events?token=${opened.body.consumerToken}`,
        );
        ws.once('close', () => resolve());
        ws.once('error', () => resolve());
      });
      assert.equal((await http.get(`/api/account/${acc}/agent/queue`, { token: login.body.token })).status, 200);
      assert.equal((await admin.get('/admin/v1/accounts')).status, 200);
      assert.equal((await http.get('/admin/v1/accounts', { token: `${ADMIN_TOKEN}-typo` })).status, 401);
      secrets.adminTypo = `${ADMIN_TOKEN}-typo`;
      // A token where it does not belong, on a route that does not exist.
      assert.equal((await http.get(`/nope?access_token=${secrets.accessTokenForm}&password=${password}`)).status, 404);

      await eventually('request logs of the stream requests', async () =>
        running.logs.some((l) => l.includes('/stream?token=[REDACTED]')) ? true : undefined,
      );
      const all = running.logs.join('\n');
      assert.ok(running.logs.length > 20, 'requests were logged');
      assert.ok(all.includes('client_secret=[REDACTED]'), 'the token URL is logged, redacted');
      for (const [name, secret] of Object.entries(secrets)) {
        assert.ok(secret && secret.length >= 8);
        assert.ok(
          !all.includes(secret),
          `the ${name} appears in the logs: ${running.logs.find((l) => l.includes(secret))}`,
        );
        assert.ok(!all.includes(encodeURIComponent(secret)), `the ${name} appears URL-encoded in the logs`);
      }
      // Every line is JSON (a log shipper can parse it).
      for (const line of running.logs) JSON.parse(line);
    });
  });
}
