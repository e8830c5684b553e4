import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { client, startApp } from '../helpers/app.js';
import { startProcess, type Proc } from '../helpers/process.js';

/** Resolves with the error code of a fresh TCP connection attempt, or 'connected'. */
function tryConnect(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/**
 * Waits for something the server should do on its own, giving up after 15 s: the same bound the
 * stream helpers use. Without it, a connection the server forgot to close would pass only after
 * Fastify's 72 s keep-alive timeout instead of failing.
 */
function within<T>(what: string, pending: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    pending,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`gave up waiting: ${what}`)), 15_000))),
  ]).finally(() => clearTimeout(timer));
}

for (const kind of STORES) {
  describe(`the process: banner on first start, graceful SIGTERM (${kind})`, () => {
    const stores: TestStore[] = [];
    const procs: Proc[] = [];
    after(async () => {
      for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      for (const s of stores) await s.dispose();
    });

    it('first start on an empty store prints the demo account and a generated admin token once; a restart prints neither', async () => {
      const store = await freshStore(kind);
      stores.push(store);
      const first = await startProcess(store, { LOG_LEVEL: 'warn' });
      procs.push(first);
      await first.waitForOutput(/console: +\S+/, 'the end of the banner');
      // Logs are JSON lines on stdout (not a terminal); the banner is for a person, on stderr.
      for (const line of first.stdout().split('\n').filter(Boolean)) JSON.parse(line);
      const out = first.stderr();
      const adminToken = /admin token \(shown once, kept in (\S+)\): (\S+)/.exec(out);
      assert.ok(adminToken, `admin token printed: ${out}`);
      const token = adminToken[2];
      assert.equal(adminToken[1], `${store.dataDir}/admin-token`);
      const tokenFile = join(store.dataDir, 'admin-token');
      assert.equal(readFileSync(tokenFile, 'utf8').trim(), token);
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600, 'the admin token file is private');

      const account = /demo account: (\S+)/.exec(out)?.[1];
      const agentLogin = /agent login: +(\S+) \/ (\S+)/.exec(out);
      const apiLogin = /Public API login: +(\S+) \/ (\S+)/.exec(out);
      const consoleUrl = /console: +(\S+)/.exec(out)?.[1];
      assert.ok(account && agentLogin && apiLogin && consoleUrl, `demo account printed: ${out}`);
      assert.equal(consoleUrl, `${first.url}/`);

      // What was printed works: the admin token, and both logins (HUMAN users with passwords).
      const admin = client(first.url, { token });
      const accounts = await admin.get('/admin/v1/accounts');
      assert.equal(accounts.status, 200);
      assert.deepEqual(accounts.body.accounts, [{ accountId: account }]);
      for (const [, username, password] of [agentLogin, apiLogin]) {
        const login: { status: number } = await client(first.url).post(`/api/account/${account}/agent/login`, {
          username,
          password,
        });
        assert.equal(login.status, 200, `${username} logs in with the printed password`);
      }

      first.child.kill('SIGTERM');
      assert.deepEqual(await first.exited, { code: 0, signal: null });

      const second = await startProcess(store, { LOG_LEVEL: 'warn' });
      procs.push(second);
      assert.equal(
        (await client(second.url, { token }).get('/admin/v1/accounts')).status,
        200,
        'the stored admin token is reused',
      );
      assert.deepEqual((await client(second.url, { token }).get('/admin/v1/accounts')).body.accounts, [
        { accountId: account },
      ]);
      second.child.kill('SIGTERM');
      assert.deepEqual(await second.exited, { code: 0, signal: null });
      assert.match(second.stderr(), /botbridge listening on/);
      assert.doesNotMatch(second.stderr(), /admin token/, 'the admin token is shown once only');
      assert.doesNotMatch(second.stderr(), /demo account|agent login|Public API login/, 'no second demo account');
      assert.ok(!second.stdout().includes(token) && !second.stderr().includes(token));
      assert.equal(readFileSync(tokenFile, 'utf8').trim(), token, 'the token file is unchanged');
    });

    it('SIGTERM: refuses new connections, finishes in-flight requests, ends streams, exits 0', async () => {
      const store = await freshStore(kind);
      stores.push(store);
      const proc = await startProcess(store, { DEMO: '0', ADMIN_TOKEN: 'proc-admin-token', LOG_LEVEL: 'info' });
      procs.push(proc);
      assert.doesNotMatch(proc.stderr(), /demo account|admin token/);
      const admin = client(proc.url, { token: 'proc-admin-token' });
      const http = client(proc.url);
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: 'sig' })).status, 201);
      assert.equal((await admin.post('/admin/v1/accounts/sig/skills', { name: 'sales' })).status, 201);
      const opened = await http.post('/api/account/sig/consumer/conversations', { skill: 'sales' });
      assert.equal(opened.status, 201);
      const { conversationId, consumerToken } = opened.body;
      const conv = `/api/account/sig/consumer/conversations/${conversationId}`;

      // Clients that keep connections alive and never time them out themselves (as proxies do):
      // the shutdown must not wait on them once their last response is out.
      const agent = new Agent({ keepAlive: true });

      // An SSE stream and a WebSocket stream, both open when the signal comes.
      const sse = await new Promise<IncomingMessage>((resolve, reject) =>
        httpRequest(
          `${proc.url}${conv}/stream`,
          { agent, headers: { authorization: `Bearer ${consumerToken}` } },
          resolve,
        )
          .once('error', reject)
          .end(),
      );
      assert.equal(sse.statusCode, 200);
      let sseText = '';
      sse.on('data', (c) => (sseText += String(c)));
      const sseEnded = new Promise<void>((resolve) => sse.once('end', resolve));
      const sseSocketClosed = new Promise<void>((resolve) => sse.socket.once('close', () => resolve()));
      const ws = new WebSocket(`${proc.url.replace(/^http/, 'ws')}${conv}/stream`, {
        headers: { authorization: `Bearer ${consumerToken}` },
      });
      const wsMessages: any[] = [];
      ws.on('message', (d) => wsMessages.push(JSON.parse(String(d))));
      const wsClosed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      await eventually('both streams ready', async () =>
        sseText.includes('"kind":"ready"') && wsMessages.some((m) => m.kind === 'ready') ? true : undefined,
      );
      assert.equal(
        (await http.post(`${conv}/messages`, { text: 'before the signal' }, { token: consumerToken })).status,
        201,
      );
      await eventually('the message on both streams', async () =>
        sseText.includes('before the signal') && wsMessages.some((m) => m.event?.text === 'before the signal')
          ? true
          : undefined,
      );

      // A request in flight: headers sent, half of the body still to come.
      const body = JSON.stringify({ text: 'sent across the shutdown' });
      const req = httpRequest(`${proc.url}${conv}/messages`, {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${consumerToken}`,
          'x-request-id': 'in-flight-request',
        },
      });
      const inFlightResponse = new Promise<{ res: IncomingMessage; text: string }>((resolve, reject) => {
        req.once('response', (res) => {
          let text = '';
          res.on('data', (c) => (text += String(c)));
          res.once('end', () => resolve({ res, text }));
        });
        req.once('error', reject);
      });
      req.write(body.slice(0, 10));
      await proc.waitForOutput(
        /"reqId":"in-flight-request"[^\n]*"incoming request"/,
        'the server saw the in-flight request',
      );

      proc.child.kill('SIGTERM');
      await proc.waitForOutput(/shutting down/, 'the shutdown log line');

      // New connections are refused while the in-flight request still holds the process up.
      assert.ok(
        await eventually('new connections refused', async () =>
          (await tryConnect(proc.url)) === 'ECONNREFUSED' ? true : undefined,
        ),
      );
      assert.equal(proc.child.exitCode, null, 'the process waits for the in-flight request');
      // Streams are ended by the server (cleanly, not reset), and so are their connections.
      await sseEnded;
      await within('the server closes the SSE connection', sseSocketClosed);
      assert.equal(typeof (await within('the server closes the WebSocket', wsClosed)), 'number');
      assert.equal(proc.child.exitCode, null, 'still waiting for the in-flight request');

      req.end(body.slice(10));
      const { res, text } = await inFlightResponse;
      assert.equal(res.statusCode, 201, text);
      assert.equal(typeof JSON.parse(text).sequence, 'number');
      // Its connection is not kept alive for another request: the shutdown does not wait on it.
      assert.equal(res.headers.connection, 'close');
      assert.deepEqual(await within('the process exits', proc.exited), { code: 0, signal: null });
      // Nothing went wrong on the way out: stderr holds the banner alone.
      assert.equal(proc.stderr().trim(), `botbridge listening on ${proc.url}`);
      agent.destroy();

      // The message of the in-flight request is durable.
      const check = await startApp(store);
      try {
        const events = await check.app.conversations.events('sig', conversationId, { forConsumer: true });
        assert.deepEqual(
          events.map((e) => e.text),
          ['before the signal', 'sent across the shutdown'],
        );
      } finally {
        await check.close();
      }
    });
  });
}
