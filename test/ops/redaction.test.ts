import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { startApp, type Running } from '../helpers/app.js';
import { isCredentialName, redactUrl } from '../../src/ops/redaction.js';
import { createLogger } from '../../src/ops/logger.js';

/** Query keys that name credentials, as clients and other products spell them. */
const CREDENTIAL_KEYS = [
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'accessToken',
  'client_secret',
  'clientSecret',
  'secret',
  'password',
  'Password',
  'passwd',
  'pwd',
  'pass',
  'bearer',
  'Bearer',
  'apikey',
  'apiKey',
  'api_key',
  'api-key',
  'API_KEY',
  'x-api-key',
  'key',
  'private_key',
  'auth',
  'oauth_token',
  'authorization',
  'auth_code',
  'code',
  'sig',
  'x-sig',
  'urlSig',
  'signature',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'credentials',
  'session',
  'sessionid',
  'session_id',
  'jwt',
  'cookie',
  'otp',
  'pin',
];
/** Query keys our routes (and ordinary clients) use that carry nothing secret: kept in the logs. */
const INNOCENT_KEYS = [
  'v',
  'ttl',
  'after',
  'grant_type',
  'conversationId',
  'client_id',
  'limit',
  'version',
  'skill',
  'author',
  'authority',
  'design',
  'monkey',
  'keys',
  'error_code',
  'country_code',
  'type',
  'q',
  'lang',
  'offset',
];

describe('which names are credentials', () => {
  it('every credential-like key is one, every innocent key is not', () => {
    for (const key of CREDENTIAL_KEYS) assert.ok(isCredentialName(key), `${key} is a credential`);
    for (const key of INNOCENT_KEYS) assert.equal(isCredentialName(key), false, `${key} is innocent`);
  });

  it('redactUrl hides the values of credential keys, decoded as the query parser reads them, and keeps the rest', () => {
    assert.equal(
      redactUrl(
        '/x?v=1.0&apikey=K&grant_type=client_credentials&bearer=B&ttl=30&Api%5FKey=K2&ap%69key=K3&after=5&conversationId=c1&sig=S',
      ),
      '/x?v=1.0&apikey=[REDACTED]&grant_type=client_credentials&bearer=[REDACTED]&ttl=30&Api%5FKey=[REDACTED]&ap%69key=[REDACTED]&after=5&conversationId=c1&sig=[REDACTED]',
    );
    // `+` is a space to the query parser: `api+key` is `api key`.
    assert.equal(redactUrl('/x?api+key=K&code=C&error_code=E'), '/x?api+key=[REDACTED]&code=[REDACTED]&error_code=E');
    assert.equal(redactUrl('/x'), '/x');
    assert.equal(redactUrl('/x?token'), '/x?token', 'a key without a value has nothing to hide');
    // A malformed escape is judged as written.
    assert.equal(redactUrl('/x?token%=T&%zz=1'), '/x?token%=[REDACTED]&%zz=1');
  });
});

describe('the logger censors credential headers wherever they are logged', () => {
  it('top-level headers, nested headers, headers on errors (object, raw array, Headers)', () => {
    const lines: string[] = [];
    const log = createLogger(
      'info',
      new Writable({
        write: (chunk, _enc, done) => {
          lines.push(String(chunk));
          done();
        },
      }),
    );
    const secret = (name: string) => `${name}-${randomBytes(8).toString('hex')}`;
    const secrets: string[] = [];
    const s = (name: string) => {
      const value = secret(name);
      secrets.push(value);
      return value;
    };
    log.info(
      {
        headers: {
          authorization: s('auth'),
          'Proxy-Authorization': s('proxy'),
          cookie: s('cookie'),
          'x-api-key': s('apikey'),
          'x-vendor-token': s('vendor'),
          accept: 'application/json',
        },
      },
      'top',
    );
    log.info(
      { call: { headers: { authorization: s('nested-auth'), 'set-cookie': [s('set-cookie')], accept: 'text/plain' } } },
      'nested',
    );
    log.info({ res: { headers: { 'set-cookie': s('res-cookie') } } }, 'response');
    const error = Object.assign(new Error('vendor call failed'), {
      headers: { 'set-cookie': s('err-cookie'), 'content-type': 'application/json' },
      response: { headers: ['Authorization', s('raw-auth'), 'Content-Length', '12'] },
      request: { headers: new Headers({ 'x-api-key': s('fetch-apikey'), accept: 'x/y' }) },
    });
    log.error({ err: error }, 'failed');

    const all = lines.join('');
    for (const value of secrets)
      assert.ok(!all.includes(value), `${value} leaked: ${lines.find((l) => l.includes(value))}`);
    // What is not a credential stays, and the lines are still JSON.
    for (const kept of ['application/json', 'text/plain', 'Content-Length', 'x/y', 'vendor call failed'])
      assert.ok(all.includes(kept), kept);
    assert.equal(lines.length, 4);
    for (const line of lines) assert.ok(JSON.stringify(JSON.parse(line)).includes('[REDACTED]'), line);
  });
});

for (const kind of STORES) {
  describe(`request logs hide credential query values and headers (${kind})`, () => {
    let store: TestStore;
    let running: Running;

    before(async () => {
      store = await freshStore(kind);
      // Debug level: everything that is logged at all, is.
      running = await startApp(store, { logLevel: 'debug' });
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('credential-like query keys (plain and percent-encoded) and headers never reach the logs', async () => {
      const secrets: string[] = [];
      const value = (name: string) => {
        const v = `${name}-${randomBytes(8).toString('hex')}`;
        secrets.push(v);
        return v;
      };
      const credentialQuery = CREDENTIAL_KEYS.map((key) => `${encodeURIComponent(key)}=${value(key)}`).join('&');
      const encodedKeys = `ap%69key=${value('encoded-apikey')}&Bear%65r=${value('encoded-bearer')}&x%2Dapi%2Dkey=${value('encoded-x-api-key')}`;
      const innocentQuery = INNOCENT_KEYS.map((key) => `${key}=kept-${key}`).join('&');
      const headers = {
        authorization: `Bearer ${value('authorization')}`,
        'proxy-authorization': `Basic ${value('proxy')}`,
        cookie: `sid=${value('cookie')}`,
        'x-api-key': value('x-api-key'),
        'x-auth-token': value('x-auth-token'),
      };
      for (const path of ['/healthz', '/no/such/route', '/admin/v1/accounts', '/api/account/nobody/agent/queue']) {
        const res = await fetch(`${running.url}${path}?${credentialQuery}&${encodedKeys}&${innocentQuery}`, {
          headers,
        });
        await res.arrayBuffer();
      }

      const requestLines = running.logs.filter((l) => l.includes('"incoming request"'));
      assert.ok(requestLines.length >= 4, 'the requests were logged');
      const all = running.logs.join('\n');
      for (const secret of secrets) {
        assert.ok(
          !all.includes(secret),
          `${secret} appears in the logs: ${running.logs.find((l) => l.includes(secret))}`,
        );
      }
      // The URLs are still there, with their innocent parts.
      for (const key of INNOCENT_KEYS) assert.ok(all.includes(`${key}=kept-${key}`), `${key} kept in the logged URL`);
      assert.ok(
        all.includes('bearer=[REDACTED]') && all.includes('ap%69key=[REDACTED]'),
        'the credential keys stay, their values go',
      );
      for (const line of running.logs) JSON.parse(line);
    });
  });
}
