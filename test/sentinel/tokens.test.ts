import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';

const run = promisify(execFile);
const SCOPE = 'thirdpartybots.customendpoint.bot';

/** POST to the token endpoint with the credentials where the caller puts them. */
async function tokenRequest(
  url: string,
  acc: string,
  options: { query?: Record<string, string>; form?: Record<string, string> },
): Promise<{ status: number; body: any; headers: Headers }> {
  const query = new URLSearchParams(options.query ?? {}).toString();
  const res = await fetch(`${url}/sentinel/api/account/${acc}/app/token${query ? `?${query}` : ''}`, {
    method: 'POST',
    ...(options.form
      ? {
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams(options.form).toString(),
        }
      : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** Verifies an app token the way a Custom Endpoint service does: against the published JWKS. */
async function verifyWith(jwksUrl: string, token: string, acc: string): Promise<JWTPayload> {
  const { payload, protectedHeader } = await jwtVerify(token, createRemoteJWKSet(new URL(jwksUrl)), {
    issuer: 'Sentinel',
    audience: acc,
    algorithms: ['RS256'],
  });
  assert.equal(protectedHeader.alg, 'RS256');
  return payload;
}

async function jwksKids(url: string): Promise<string[]> {
  const res = await fetch(`${url}/sentinel/well-known/jwks`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { keys: { kid: string; alg: string; kty: string; d?: string }[] };
  for (const key of body.keys) {
    assert.equal(key.kty, 'RSA');
    assert.equal(key.alg, 'RS256');
    assert.equal(key.d, undefined, 'the JWKS must never publish a private key');
  }
  return body.keys.map((k) => k.kid);
}

for (const kind of STORES) {
  describe(`Sentinel app tokens and JWKS (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    const acc = 'tok-acc';
    let clientId: string;
    let clientSecret: string;
    const creds = () => ({ client_id: clientId, client_secret: clientSecret });
    const grant = { v: '1.0', grant_type: 'client_credentials' };

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: 'other-acc' })).status, 201);
      const app = await admin.post(`/admin/v1/accounts/${acc}/apps`, { name: 'connector', scope: SCOPE });
      assert.equal(app.status, 201);
      clientId = app.body.client_id;
      clientSecret = app.body.client_secret;
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('grants a token for credentials as form fields and as query, verifiable with both JWKS urls', async () => {
      for (const where of ['form', 'query'] as const) {
        const res =
          where === 'form'
            ? await tokenRequest(running.url, acc, { query: grant, form: creds() })
            : await tokenRequest(running.url, acc, { query: { ...grant, ...creds() } });
        assert.equal(res.status, 200, `${where}: ${JSON.stringify(res.body)}`);
        assert.deepEqual(Object.keys(res.body).sort(), ['access_token', 'expires_in', 'token_type']);
        assert.equal(res.body.token_type, 'Bearer');
        assert.equal(res.body.expires_in, 3600);
        const token: string = res.body.access_token;

        const header = decodeProtectedHeader(token);
        assert.equal(header.alg, 'RS256');
        assert.ok(header.kid, 'the token names its key');
        assert.ok((await jwksKids(running.url)).includes(header.kid!), 'the kid is published in the JWKS');

        for (const jwks of [
          `${running.url}/sentinel/well-known/jwks`,
          `${running.url}/sentinel/api/account/${acc}/.well-known/jwks`,
        ]) {
          const payload = await verifyWith(jwks, token, acc);
          assert.equal(payload.iss, 'Sentinel');
          assert.equal(payload.aud, acc);
          assert.equal(payload.scope, SCOPE);
          assert.equal(typeof payload.iat, 'number');
          assert.equal(payload.exp! - payload.iat!, 3600, 'an app token lives one hour');
        }
        // Signed for this account only: another audience does not verify.
        await assert.rejects(
          jwtVerify(token, createRemoteJWKSet(new URL(`${running.url}/sentinel/well-known/jwks`)), {
            issuer: 'Sentinel',
            audience: 'other-acc',
          }),
        );
      }
    });

    it('refuses wrong credentials (401), bad grants (400) and unknown accounts (404)', async () => {
      const wrongSecret = await tokenRequest(running.url, acc, {
        query: grant,
        form: { client_id: clientId, client_secret: `${clientSecret}x` },
      });
      assert.equal(wrongSecret.status, 401);
      assert.equal(wrongSecret.body.access_token, undefined);
      assert.equal(typeof wrongSecret.body.error.code, 'string');

      const unknownClient = await tokenRequest(running.url, acc, {
        query: { ...grant, client_id: 'nobody', client_secret: clientSecret },
      });
      assert.equal(unknownClient.status, 401);

      // The app belongs to tok-acc: its credentials are no good on another account.
      const otherAccount = await tokenRequest(running.url, 'other-acc', { query: grant, form: creds() });
      assert.equal(otherAccount.status, 401);

      const noGrant = await tokenRequest(running.url, acc, { query: { v: '1.0' }, form: creds() });
      assert.equal(noGrant.status, 400);
      assert.equal(typeof noGrant.body.error.message, 'string');
      const otherGrant = await tokenRequest(running.url, acc, {
        query: { v: '1.0', grant_type: 'password' },
        form: creds(),
      });
      assert.equal(otherGrant.status, 400);
      const noCredentials = await tokenRequest(running.url, acc, { query: grant });
      assert.equal(noCredentials.status, 400);

      const unknownAccount = await tokenRequest(running.url, 'no-such-acc', { query: grant, form: creds() });
      assert.equal(unknownAccount.status, 404);
      const unknownAccountJwks = await fetch(`${running.url}/sentinel/api/account/no-such-acc/.well-known/jwks`);
      assert.equal(unknownAccountJwks.status, 404);
    });

    it('rotating keys over the admin API: old and new tokens both verify, new key listed first', async () => {
      const a = await tokenRequest(running.url, acc, { query: grant, form: creds() });
      assert.equal(a.status, 200);
      const kidA = decodeProtectedHeader(a.body.access_token).kid;

      assert.equal((await admin.post('/admin/v1/sentinel/rotate-keys', undefined, { token: 'wrong' })).status, 401);
      const rotated = await admin.post('/admin/v1/sentinel/rotate-keys');
      assert.equal(rotated.status, 200);

      const b = await tokenRequest(running.url, acc, { query: grant, form: creds() });
      assert.equal(b.status, 200);
      const kidB = decodeProtectedHeader(b.body.access_token).kid;
      assert.notEqual(kidA, kidB, 'tokens after the rotation are signed by the new key');
      assert.equal(rotated.body.kid, kidB);

      const kids = await jwksKids(running.url);
      assert.equal(kids[0], kidB, 'the signing key comes first');
      assert.ok(kids.includes(kidA!), 'the retired key stays published');

      const jwks = `${running.url}/sentinel/well-known/jwks`;
      assert.equal((await verifyWith(jwks, a.body.access_token, acc)).scope, SCOPE);
      assert.equal((await verifyWith(jwks, b.body.access_token, acc)).scope, SCOPE);
    });

    it('rotating keys with the CLI while the server runs: the server signs with the new key, old tokens verify', async () => {
      const before = await tokenRequest(running.url, acc, { query: grant, form: creds() });
      const oldKid = decodeProtectedHeader(before.body.access_token).kid;

      const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: store.dataDir };
      if (store.databaseUrl) env.DATABASE_URL = store.databaseUrl;
      else delete env.DATABASE_URL;
      const { stdout } = await run('npm', ['run', '--silent', 'rotate-keys'], { env, cwd: process.cwd() });
      const newKid = /new signing key (\S+);/.exec(stdout)?.[1];
      assert.ok(newKid, `CLI output names the new key: ${stdout}`);
      assert.notEqual(newKid, oldKid);

      const after = await tokenRequest(running.url, acc, { query: grant, form: creds() });
      assert.equal(
        decodeProtectedHeader(after.body.access_token).kid,
        newKid,
        'the running server picked up the key the CLI made',
      );
      const kids = await jwksKids(running.url);
      assert.equal(kids[0], newKid);

      const jwks = `${running.url}/sentinel/well-known/jwks`;
      await verifyWith(jwks, before.body.access_token, acc);
      await verifyWith(jwks, after.body.access_token, acc);

      // On a store no server has run on there is nothing to rotate: a clear refusal, no schema made.
      const empty = await freshStore(kind);
      try {
        const emptyEnv: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: empty.dataDir };
        if (empty.databaseUrl) emptyEnv.DATABASE_URL = empty.databaseUrl;
        else delete emptyEnv.DATABASE_URL;
        await assert.rejects(
          run('npm', ['run', '--silent', 'rotate-keys'], { env: emptyEnv, cwd: process.cwd() }),
          (e: { code: number; stderr: string }) => {
            assert.equal(e.code, 1);
            assert.match(e.stderr, /start the server on it once/);
            return true;
          },
        );
      } finally {
        await empty.dispose();
      }
    });

    it('keys live in the store: a token verifies with the JWKS of the restarted server', async () => {
      const issued = await tokenRequest(running.url, acc, { query: grant, form: creds() });
      assert.equal(issued.status, 200);
      const kid = decodeProtectedHeader(issued.body.access_token).kid;
      await running.close();
      running = await startApp(store);

      assert.ok((await jwksKids(running.url)).includes(kid!));
      const payload = await verifyWith(
        `${running.url}/sentinel/api/account/${acc}/.well-known/jwks`,
        issued.body.access_token,
        acc,
      );
      assert.equal(payload.scope, SCOPE);
      // And the app's credentials still work on the restarted server, with the same signing key.
      const again = await tokenRequest(running.url, acc, { query: grant, form: creds() });
      assert.equal(again.status, 200);
      assert.equal(decodeProtectedHeader(again.body.access_token).kid, kid);
    });
  });
}
