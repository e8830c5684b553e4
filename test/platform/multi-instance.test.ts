import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';

/**
 * Two instances of the app on one PostgreSQL database, as a deployment with two replicas runs.
 * (SQLite is one process's file: several instances on it are not a supported deployment.)
 */
if (STORES.includes('postgres')) {
  describe('two instances on one PostgreSQL database', () => {
    let store: TestStore;
    let one: Running;
    let two: Running;
    let admin1: Client;
    let admin2: Client;
    const acc = 'multi';
    const consumer = `/api/account/${acc}/consumer`;
    const agent = `/api/account/${acc}/agent`;

    before(async () => {
      store = await freshStore('postgres');
      // Both start at once on the empty database, as replicas do: migrations, the first signing
      // key and the session secret are created by whichever wins, and shared.
      [one, two] = await Promise.all([startApp(store), startApp(store)]);
      admin1 = client(one.url, { token: ADMIN_TOKEN });
      admin2 = client(two.url, { token: ADMIN_TOKEN });
      assert.equal((await admin1.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      assert.equal((await admin2.post(`/admin/v1/accounts/${acc}/skills`, { name: 'sales' })).status, 201);
      assert.equal(
        (
          await admin1.post(`/admin/v1/accounts/${acc}/users`, {
            loginName: 'alice',
            password: 'pass-word-1',
            userType: 'HUMAN',
            skills: ['sales'],
          })
        ).status,
        201,
      );
    });
    after(async () => {
      await one?.close();
      await two?.close();
      await store?.dispose();
    });

    it('each instance measures how late the other’s change notices arrive (botbridge_change_notice_lag_seconds)', async () => {
      const lagCount = async (url: string) =>
        Number(
          /^botbridge_change_notice_lag_seconds_count (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ??
            0,
        );
      const before = await lagCount(two.url);
      const opened = await client(one.url).post(`${consumer}/conversations`, { skill: 'sales' });
      assert.equal(opened.status, 201);
      const deadline = Date.now() + 10_000;
      while ((await lagCount(two.url)) <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok((await lagCount(two.url)) > before, 'instance two heard instance one’s change and measured it');
      // Out of the queue the next tests read.
      const closed = await client(one.url, { token: opened.body.consumerToken }).post(
        `${consumer}/conversations/${opened.body.conversationId}/close`,
      );
      assert.equal(closed.status, 200);
    });

    it('messages posted alternately through both instances get unique, gap-free sequences', async () => {
      const opened = await client(one.url).post(`${consumer}/conversations`, { skill: 'sales' });
      assert.equal(opened.status, 201);
      const { conversationId, consumerToken } = opened.body;
      const conv = `${consumer}/conversations/${conversationId}`;

      // The agent logs in on instance two and accepts through instance one.
      const login = await client(two.url).post(`${agent}/login`, { username: 'alice', password: 'pass-word-1' });
      assert.equal(login.status, 200);
      const agentToken: string = login.body.token;
      const accepted = await client(one.url, { token: agentToken }).post(
        `${agent}/conversations/${conversationId}/accept`,
      );
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      const afterAccept: number = accepted.body.lastSequence;
      assert.equal(afterAccept, 1, 'the ASSIGN entry');

      // Consumer and agent write at the same time, each alternating between the instances.
      const n = 30;
      const writes = Array.from({ length: n }, (_, i) => {
        const via = i % 2 === 0 ? one : two;
        return i % 3 === 0
          ? client(via.url, { token: agentToken }).post(`${agent}/conversations/${conversationId}/messages`, {
              text: `agent ${i}`,
            })
          : client(via.url, { token: consumerToken }).post(`${conv}/messages`, { text: `consumer ${i}` });
      });
      const replies = await Promise.all(writes);
      for (const r of replies) assert.equal(r.status, 201, JSON.stringify(r.body));
      const sequences = replies.map((r) => r.body.sequence as number).sort((a, b) => a - b);
      assert.deepEqual(
        sequences,
        Array.from({ length: n }, (_, i) => afterAccept + 1 + i),
        'unique and without gaps',
      );

      // Both instances read the same log, in sequence order, every message exactly once.
      const viaOne = await admin1.get(`/admin/v1/accounts/${acc}/conversations/${conversationId}`);
      const viaTwo = await admin2.get(`/admin/v1/accounts/${acc}/conversations/${conversationId}`);
      assert.deepEqual(viaOne.body.events, viaTwo.body.events);
      assert.deepEqual(
        viaOne.body.events.map((e: { sequence: number }) => e.sequence),
        Array.from({ length: n + 1 }, (_, i) => i + 1),
      );
      const texts = viaOne.body.events
        .filter((e: { type: string }) => e.type === 'TEXT')
        .map((e: { text: string }) => e.text);
      assert.equal(texts.length, n);
      assert.equal(new Set(texts).size, n);
      assert.equal(viaOne.body.lastSequence, n + 1);
      const consumerView = await client(two.url, { token: consumerToken }).get(`${conv}/events?after=${afterAccept}`);
      assert.equal(consumerView.body.events.length, n);

      // A close through one instance is seen by the other: no more messages there.
      assert.equal((await client(two.url, { token: consumerToken }).post(`${conv}/close`)).status, 200);
      assert.equal(
        (await client(one.url, { token: consumerToken }).post(`${conv}/messages`, { text: 'late' })).status,
        409,
      );
    });

    it('an agent’s cap holds when both instances hand them conversations at once', async () => {
      // A skill of its own, so the conversations left waiting are nobody else's queue.
      assert.equal((await admin2.post(`/admin/v1/accounts/${acc}/skills`, { name: 'capped' })).status, 201);
      assert.equal(
        (
          await admin1.post(`/admin/v1/accounts/${acc}/users`, {
            loginName: 'carol',
            password: 'pass-word-3',
            userType: 'HUMAN',
            skills: ['capped'],
            maxConversations: 2,
          })
        ).status,
        201,
      );
      const login = await client(one.url).post(`${agent}/login`, { username: 'carol', password: 'pass-word-3' });
      const opened = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          client(i % 2 ? one.url : two.url).post(`${consumer}/conversations`, { skill: 'capped' }),
        ),
      );
      const accepts = await Promise.all(
        opened.map((o, i) =>
          client(i % 2 ? two.url : one.url, { token: login.body.token }).post(
            `${agent}/conversations/${o.body.conversationId}/accept`,
          ),
        ),
      );
      assert.deepEqual(
        accepts.map((r) => r.status).sort(),
        [200, 200, 409, 409, 409, 409, 409, 409],
        JSON.stringify(accepts.map((r) => r.body)),
      );
      for (const r of accepts.filter((a) => a.status === 409)) assert.equal(r.body.error.code, 'agent-at-capacity');
      const me = await client(two.url, { token: login.body.token }).get(`${agent}/me`);
      assert.equal(me.body.conversations.length, 2);
    });

    it('session tokens issued by one instance are accepted by the other', async () => {
      const opened = await client(two.url).post(`${consumer}/conversations`, { skill: 'sales' });
      const conv = `${consumer}/conversations/${opened.body.conversationId}`;
      assert.equal(
        (await client(one.url, { token: opened.body.consumerToken }).post(`${conv}/messages`, { text: 'hi' })).status,
        201,
      );
      const login = await client(one.url).post(`${agent}/login`, { username: 'alice', password: 'pass-word-1' });
      const queue = await client(two.url, { token: login.body.token }).get(`${agent}/queue`);
      assert.equal(queue.status, 200);
      assert.deepEqual(
        queue.body.conversations.map((c: { conversationId: string }) => c.conversationId),
        [opened.body.conversationId],
      );
      // Both sign with the same secret: a token minted by one verifies in the other's code.
      const minted = await one.app.sessions.issue({ kind: 'agent', accountId: acc, subject: '1' });
      assert.equal((await two.app.sessions.verify(minted, 'agent')).claims?.subject, '1');
    });

    it('app tokens from either instance verify against the JWKS of the other, across a rotation', async () => {
      const app = await admin1.post(`/admin/v1/accounts/${acc}/apps`, { name: 'connector', scope: 'bots' });
      assert.equal(app.status, 201);
      const grant = async (via: Running) => {
        const res = await fetch(
          `${via.url}/sentinel/api/account/${acc}/app/token?v=1.0&grant_type=client_credentials`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              client_id: app.body.client_id,
              client_secret: app.body.client_secret,
            }).toString(),
          },
        );
        assert.equal(res.status, 200, 'the app installed through one instance is known to the other');
        return ((await res.json()) as { access_token: string }).access_token;
      };
      const verifyOn = async (via: Running, token: string) =>
        (
          await jwtVerify(token, createRemoteJWKSet(new URL(`${via.url}/sentinel/well-known/jwks`)), {
            issuer: 'Sentinel',
            audience: acc,
          })
        ).payload;

      const fromOne = await grant(one);
      const fromTwo = await grant(two);
      assert.equal(
        decodeProtectedHeader(fromOne).kid,
        decodeProtectedHeader(fromTwo).kid,
        'both sign with the one current key',
      );
      for (const via of [one, two]) {
        const jwks = (await (await fetch(`${via.url}/sentinel/well-known/jwks`)).json()) as { keys: { kid: string }[] };
        assert.equal(jwks.keys[0].kid, decodeProtectedHeader(fromOne).kid, 'each JWKS lists the signing key first');
      }
      assert.equal((await verifyOn(two, fromOne)).scope, 'bots');
      assert.equal((await verifyOn(one, fromTwo)).scope, 'bots');

      // Rotated through instance two: instance one signs with the new key from its next token.
      const rotated = await admin2.post('/admin/v1/sentinel/rotate-keys');
      assert.equal(rotated.status, 200);
      const newFromOne = await grant(one);
      assert.equal(decodeProtectedHeader(newFromOne).kid, rotated.body.kid);
      for (const token of [fromOne, fromTwo, newFromOne]) {
        await verifyOn(one, token);
        await verifyOn(two, token);
      }
    });
  });
}
