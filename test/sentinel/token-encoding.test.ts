import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import type { SessionClaims } from '../../src/sentinel/tokens.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Other spellings of a genuine token that a lenient base64url decoder reads as the same bytes,
 * so the signature would still verify: padding, an unused bit set in the last character.
 */
function respellings(token: string): Record<string, string> {
  const [header, payload, signature] = token.split('.');
  // An HS256 signature is 32 bytes, 43 characters: the last one has 2 unused low bits.
  assert.equal(signature.length % 4, 3);
  const last = ALPHABET.indexOf(signature.at(-1)!);
  assert.equal(last & 0b11, 0, 'the issued signature is canonical');
  const spareBit = `${signature.slice(0, -1)}${ALPHABET[last | 1]}`;
  assert.deepEqual(Buffer.from(spareBit, 'base64url'), Buffer.from(signature, 'base64url'), 'the same signature bytes');
  return {
    'signature padded': `${token}=`,
    'signature padded twice': `${token}==`,
    'spare bit set': `${header}.${payload}.${spareBit}`,
    'payload padded': `${header}.${payload}=.${signature}`,
    'header padded': `${header}=.${payload}.${signature}`,
  };
}

/** Tokens of these claims until one has `-` or `_` to spell in the standard alphabet as `+` or `/`. */
async function withUrlSafeCharacters(running: Running, claims: SessionClaims): Promise<string> {
  for (let ttl = 3600; ; ttl++) {
    const token = await running.app.sessions.issue(claims, ttl);
    if (/[-_]/.test(token)) return token;
  }
}

const standardAlphabet = (token: string) => token.replace(/-/g, '+').replace(/_/g, '/');

for (const kind of STORES) {
  describe(`session tokens: only the canonical base64url spelling verifies (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    const acc = 'enc-acc';
    let conversationId: string;
    let consumerToken: string;
    let agentToken: string;
    let apiBearer: string;
    let userId: string;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      const admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name: 'sales' })).status, 201);
      const user = await admin.post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'alice',
        password: 'pass-word-1',
        userType: 'HUMAN',
        skills: ['sales'],
      });
      assert.equal(user.status, 201);
      userId = user.body.id;
      const http = client(running.url);
      const opened = await http.post(`/api/account/${acc}/consumer/conversations`, { skill: 'sales' });
      assert.equal(opened.status, 201);
      ({ conversationId, consumerToken } = opened.body);
      const login = await http.post(`/api/account/${acc}/agent/login`, { username: 'alice', password: 'pass-word-1' });
      assert.equal(login.status, 200);
      agentToken = login.body.token;
      const apiLogin = await http.post(`/api/account/${acc}/login?v=1.3`, {
        username: 'alice',
        password: 'pass-word-1',
      });
      assert.equal(apiLogin.status, 200);
      apiBearer = apiLogin.body.bearer;
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    const routes = () => ({
      consumer: {
        path: `/api/account/${acc}/consumer/conversations/${conversationId}/events?after=0`,
        accepted: 200,
        refused: 401,
      },
      agent: { path: `/api/account/${acc}/agent/queue`, accepted: 200, refused: 401 },
      // The Public API answers every bearer problem with 400 invalid-bearer (the page's contract);
      // a valid bearer asking for an unknown job gets 404.
      api: { path: `/api/v1/account/${acc}/jobs/no-such-job`, accepted: 404, refused: 400 },
    });

    for (const which of ['consumer', 'agent', 'api'] as const) {
      it(`${which} routes refuse padded, bit-flipped and standard-alphabet spellings of a genuine token`, async () => {
        const route = routes()[which];
        const token = { consumer: consumerToken, agent: agentToken, api: apiBearer }[which];
        const http = client(running.url);
        // The genuine token first: verified once, it is remembered, and its respellings must not ride on that.
        assert.equal((await http.get(route.path, { token })).status, route.accepted, 'the token as issued');

        const subject = which === 'consumer' ? conversationId : userId;
        const urlSafe = await withUrlSafeCharacters(running, { kind: which, accountId: acc, subject });
        assert.equal(
          (await http.get(route.path, { token: urlSafe })).status,
          route.accepted,
          'a token with - or _ as issued',
        );

        const variants = { ...respellings(token), 'standard alphabet (+ and /)': standardAlphabet(urlSafe) };
        for (const [name, variant] of Object.entries(variants)) {
          assert.notEqual(variant, token);
          const res = await http.get(route.path, { token: variant });
          assert.equal(res.status, route.refused, `${name}: ${JSON.stringify(res.body)}`);
          if (which === 'api') assert.equal(res.body.error.code, 'invalid-bearer');
        }
        // And the genuine ones still pass afterwards.
        assert.equal((await http.get(route.path, { token })).status, route.accepted);
        assert.equal((await http.get(route.path, { token: urlSafe })).status, route.accepted);
      });
    }

    it('the verifier itself refuses the respellings (what the routes rely on)', async () => {
      const claims = { kind: 'agent' as const, accountId: acc, subject: userId };
      const token = await running.app.sessions.issue(claims);
      assert.deepEqual((await running.app.sessions.verify(token, 'agent')).claims, claims);
      for (const [name, variant] of Object.entries(respellings(token))) {
        assert.deepEqual(await running.app.sessions.verify(variant, 'agent'), { reason: 'invalid' }, name);
      }
    });
  });
}
