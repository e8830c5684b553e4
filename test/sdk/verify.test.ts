import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT, UnsecuredJWT } from 'jose';
import { closedPort } from '../helpers/net.js';
import { mint, signingKey, startJwks, type Jwks, type SigningKey } from './helpers/jwks.js';
import {
  createTokenVerifier,
  CUSTOM_ENDPOINT_SCOPE,
  type TokenVerdict,
  type TokenVerifier,
} from '../../src/sdk/custom-endpoint/index.js';

function refused(verdict: TokenVerdict, status: number, reason: string): void {
  assert.equal(verdict.ok, false, 'the token was accepted');
  if (verdict.ok) return;
  assert.equal(verdict.status, status, verdict.message);
  assert.equal(verdict.reason, reason, verdict.message);
  assert.ok(verdict.message.length > 10);
}

describe('SDK token verification against a real JWKS', () => {
  let jwks: Jwks;
  let current: SigningKey;
  let verify: TokenVerifier;

  before(async () => {
    current = await signingKey('key-1');
    jwks = await startJwks([current]);
    verify = createTokenVerifier({ jwksUrl: jwks.url, accounts: ['acme', 'initech'], jwksCooldownMs: 200 });
  });
  after(() => jwks?.close());

  it('accepts an app token of a served account, RS256, from Sentinel, in scope, not expired', async () => {
    const verdict = await verify(`Bearer ${await mint(current)}`);
    assert.equal(verdict.ok, true);
    assert.ok(verdict.ok);
    assert.equal(verdict.accountId, 'acme');
    assert.equal(verdict.clientId, 'app-1');
    assert.equal(verdict.claims.iss, 'Sentinel');
    // The scheme is case-insensitive; an audience list names the account among others.
    const listed = await verify(`bearer ${await mint(current, {}, { audience: ['other', 'initech'] })}`);
    assert.equal(listed.ok && listed.accountId, 'initech');
    // OAuth scope is a space-separated list.
    const scopes = await verify(`Bearer ${await mint(current, { scope: `msg.consumer ${CUSTOM_ENDPOINT_SCOPE}` })}`);
    assert.equal(scopes.ok, true);
  });

  it('refuses a request without a token: 401 missing-token', async () => {
    refused(await verify(undefined), 401, 'missing-token');
    refused(await verify(''), 401, 'missing-token');
    refused(await verify('Basic YWxhZGRpbjpvcGVuc2VzYW1l'), 401, 'missing-token');
  });

  it('refuses what is no token, or a second spelling of a genuine one: 401 malformed-token', async () => {
    refused(await verify('Bearer not-a-jwt'), 401, 'malformed-token');
    refused(await verify(`Bearer ${await mint(current)}=`), 401, 'malformed-token');
  });

  it('refuses a valid token of another account: 403 wrong-audience (a fresh token would not help)', async () => {
    refused(await verify(`Bearer ${await mint(current, {}, { audience: 'globex' })}`), 403, 'wrong-audience');
    refused(await verify(`Bearer ${await mint(current, {}, { audience: null })}`), 403, 'wrong-audience');
  });

  it('takes a check of an account instead of a list (a service serving every account of a platform)', async () => {
    const asked: string[] = [];
    const byCheck = createTokenVerifier({
      jwksUrl: jwks.url,
      accounts: async (accountId) => {
        asked.push(accountId);
        return accountId === 'initech';
      },
    });
    const listed = await byCheck(`Bearer ${await mint(current, {}, { audience: ['other', 'initech'] })}`);
    assert.equal(listed.ok && listed.accountId, 'initech');
    assert.deepEqual(asked, ['other', 'initech']);
    refused(await byCheck(`Bearer ${await mint(current)}`), 403, 'wrong-audience');
  });

  it('refuses a token of another issuer: 401 wrong-issuer', async () => {
    refused(await verify(`Bearer ${await mint(current, {}, { issuer: 'Someone' })}`), 401, 'wrong-issuer');
  });

  it('refuses a valid token without the Custom Endpoint scope: 403 wrong-scope', async () => {
    refused(await verify(`Bearer ${await mint(current, { scope: 'msg.consumer' })}`), 403, 'wrong-scope');
    refused(await verify(`Bearer ${await mint(current, { scope: undefined })}`), 403, 'wrong-scope');
  });

  it('refuses an expired token, whatever account it names: 401 token-expired', async () => {
    const past = Math.floor(Date.now() / 1000) - 60;
    refused(await verify(`Bearer ${await mint(current, {}, { expiresIn: past })}`), 401, 'token-expired');
    refused(
      await verify(`Bearer ${await mint(current, {}, { expiresIn: past, audience: 'globex' })}`),
      401,
      'token-expired',
    );
  });

  it('requires an expiry: 401 missing-expiry', async () => {
    refused(await verify(`Bearer ${await mint(current, {}, { expiresIn: null })}`), 401, 'missing-expiry');
  });

  it('refuses a token not valid yet: 401 token-not-yet-valid', async () => {
    const later = Math.floor(Date.now() / 1000) + 600;
    refused(await verify(`Bearer ${await mint(current, { nbf: later })}`), 401, 'token-not-yet-valid');
  });

  it('refuses a token signed by a key the JWKS does not have: 401 unknown-signing-key', async () => {
    const stranger = await signingKey('stranger');
    refused(await verify(`Bearer ${await mint(stranger)}`), 401, 'unknown-signing-key');
    // The same kid as a published key, another key behind it.
    refused(await verify(`Bearer ${await mint({ ...stranger, kid: current.kid })}`), 401, 'invalid-signature');
  });

  it('refuses a token whose claims were changed after signing: 401 invalid-signature', async () => {
    const [header, , signature] = (await mint(current, {}, { audience: 'globex' })).split('.');
    const payload = Buffer.from(
      JSON.stringify({
        scope: CUSTOM_ENDPOINT_SCOPE,
        iss: 'Sentinel',
        aud: 'acme',
        exp: Math.floor(Date.now() / 1000) + 3600,
      }),
    ).toString('base64url');
    refused(await verify(`Bearer ${header}.${payload}.${signature}`), 401, 'invalid-signature');
  });

  it('refuses alg none and HS256: 401 algorithm-not-allowed', async () => {
    const unsecured = new UnsecuredJWT({ scope: CUSTOM_ENDPOINT_SCOPE })
      .setIssuer('Sentinel')
      .setAudience('acme')
      .setExpirationTime('1h')
      .encode();
    refused(await verify(`Bearer ${unsecured}`), 401, 'algorithm-not-allowed');
    const hs256 = await new SignJWT({ scope: CUSTOM_ENDPOINT_SCOPE })
      .setProtectedHeader({ alg: 'HS256', kid: current.kid })
      .setIssuer('Sentinel')
      .setAudience('acme')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JSON.stringify(current.jwk)));
    refused(await verify(`Bearer ${hs256}`), 401, 'algorithm-not-allowed');
  });

  it('follows a key rotation: a token with a new kid fetches the JWKS again, once the cooldown is over', async () => {
    assert.equal((await verify(`Bearer ${await mint(current)}`)).ok, true);
    const before = jwks.fetches;
    const next = await signingKey('key-2');
    jwks.keys = [current, next];
    // Right after a fetch (within the cooldown): waited out, not failed.
    const started = Date.now();
    const verdict = await verify(`Bearer ${await mint(next)}`);
    assert.equal(verdict.ok, true, verdict.ok ? '' : verdict.message);
    assert.ok(jwks.fetches > before, 'the JWKS was fetched again');
    assert.ok(Date.now() - started < 5000);
    // The old key stays valid while published; tokens of both verify without another fetch.
    const fetches = jwks.fetches;
    assert.equal((await verify(`Bearer ${await mint(current)}`)).ok, true);
    assert.equal((await verify(`Bearer ${await mint(next)}`)).ok, true);
    assert.equal(jwks.fetches, fetches);
    current = next;
  });

  it('answers 503 jwks-unavailable when the JWKS cannot be fetched (not the caller’s fault)', async () => {
    const nowhere = createTokenVerifier({
      jwksUrl: `http://127.0.0.1:${await closedPort()}/jwks`,
      accounts: ['acme'],
      jwksTimeoutMs: 2000,
    });
    refused(await nowhere(`Bearer ${await mint(current)}`), 503, 'jwks-unavailable');
  });

  it('needs the accounts it serves', () => {
    assert.throws(() => createTokenVerifier({ jwksUrl: jwks.url, accounts: [] }), {
      name: 'TypeError',
      message: /accounts must list at least one account id/,
    });
  });
});
