import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import {
  SignJWT,
  createRemoteJWKSet,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JWK,
} from 'jose';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { openStore } from '../../src/store/index.js';
import { createSecretBox } from '../../src/util/secret-box.js';

const run = promisify(execFile);
const SCOPE = 'thirdpartybots.customendpoint.bot';
const PRIVATE_JWK_FIELDS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];

interface StoredSecrets {
  keys: { kid: string; private_jwk: string; retired_at: number | null }[];
  sessionSecret: string;
}

/** The rows as they sit in the store, read through a connection of the test's own. */
async function storedSecrets(store: TestStore): Promise<StoredSecrets> {
  const own = await openStore({ dataDir: store.dataDir, databaseUrl: store.databaseUrl });
  try {
    const keys = await own.db
      .selectFrom('signing_keys')
      .select(['kid', 'private_jwk', 'retired_at'])
      .orderBy('kid')
      .execute();
    const setting = await own.db
      .selectFrom('settings')
      .select('value')
      .where('key', '=', 'session-secret')
      .executeTakeFirstOrThrow();
    return { keys, sessionSecret: setting.value };
  } finally {
    await own.close();
  }
}

/** Nothing in the stored text gives the secret away: no JWK members, not the secret's value. */
function assertSealed(stored: StoredSecrets, plain: { privateJwks: JWK[]; sessionSecret: string }) {
  assert.ok(stored.keys.length > 0);
  for (const key of stored.keys) {
    assert.match(key.private_jwk, /^v1\./, `key ${key.kid} is sealed`);
    for (const field of PRIVATE_JWK_FIELDS)
      assert.ok(!key.private_jwk.includes(`"${field}"`), `no "${field}" member in the stored text`);
  }
  for (const jwk of plain.privateJwks) {
    for (const field of PRIVATE_JWK_FIELDS) {
      const value = jwk[field as keyof JWK] as string;
      assert.ok(value && value.length > 20);
      assert.ok(!stored.keys.some((k) => k.private_jwk.includes(value)), `the private ${field} value appears nowhere`);
    }
  }
  assert.match(stored.sessionSecret, /^v1\./, 'the session secret is sealed');
  assert.ok(!stored.sessionSecret.includes(plain.sessionSecret));
}

/** What the server's own key (the data dir's key file) opens the rows to. */
function opened(store: TestStore, stored: StoredSecrets): { privateJwks: JWK[]; sessionSecret: string } {
  const box = createSecretBox(Buffer.from(readFileSync(join(store.dataDir, 'secret.key'), 'utf8').trim(), 'base64'));
  return {
    privateJwks: stored.keys.map((k) => JSON.parse(box.open(k.private_jwk)) as JWK),
    sessionSecret: box.open(stored.sessionSecret),
  };
}

/** An account with a skill, an agent and an app of the Custom Endpoint scope; returns what signs in. */
async function setUp(running: Running, acc: string) {
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
  const app = await admin.post(`/admin/v1/accounts/${acc}/apps`, { name: 'connector', scope: SCOPE });
  assert.equal(app.status, 201);
  return {
    userId: user.body.id as string,
    app: { client_id: app.body.client_id as string, client_secret: app.body.client_secret as string },
  };
}

async function appToken(url: string, acc: string, app: { client_id: string; client_secret: string }): Promise<string> {
  const res = await fetch(`${url}/sentinel/api/account/${acc}/app/token?v=1.0&grant_type=client_credentials`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(app).toString(),
  });
  assert.equal(res.status, 200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function agentLogin(url: string, acc: string): Promise<string> {
  const res = await client(url).post(`/api/account/${acc}/agent/login`, { username: 'alice', password: 'pass-word-1' });
  assert.equal(res.status, 200);
  return res.body.token;
}

const agentQueue = (url: string, acc: string, token: string) =>
  client(url, { token }).get(`/api/account/${acc}/agent/queue`);

async function verifyAppToken(url: string, token: string, acc: string) {
  return jwtVerify(token, createRemoteJWKSet(new URL(`${url}/sentinel/well-known/jwks`)), {
    issuer: 'Sentinel',
    audience: acc,
    algorithms: ['RS256'],
  });
}

/**
 * The store as the previous version left it: signing keys (a retired one and the current one)
 * and the session secret in plaintext. The schema comes from a start of this version, which is
 * the same schema; the secrets are then put back as the previous version wrote them.
 */
async function writtenByPreviousVersion(store: TestStore) {
  const first = await startApp(store);
  await first.close();
  const now = Date.now();
  const makeKey = async (createdAt: number, retiredAt: number | null) => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = randomUUID();
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256' };
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    return {
      privateKey,
      privateJwk,
      row: {
        kid,
        private_jwk: JSON.stringify(privateJwk),
        public_jwk: JSON.stringify(publicJwk),
        created_at: createdAt,
        retired_at: retiredAt,
      },
    };
  };
  const retired = await makeKey(now - 10_000, now - 5_000);
  const current = await makeKey(now - 5_000, null);
  const sessionSecret = randomBytes(32).toString('base64');
  const own = await openStore({ dataDir: store.dataDir, databaseUrl: store.databaseUrl });
  try {
    await own.db.deleteFrom('signing_keys').execute();
    await own.db.insertInto('signing_keys').values([retired.row, current.row]).execute();
    await own.db.updateTable('settings').set({ value: sessionSecret }).where('key', '=', 'session-secret').execute();
  } finally {
    await own.close();
  }
  return { retired, current, sessionSecret };
}

/** A session token as the previous version signed it, with the plaintext secret. */
function previousAgentToken(sessionSecret: string, acc: string, userId: string): Promise<string> {
  return new SignJWT({ acc, knd: 'agent' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuer('botbridge')
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(Buffer.from(sessionSecret, 'base64'));
}

for (const kind of STORES) {
  describe(`signing keys and the session secret are sealed at rest (${kind})`, () => {
    const stores: TestStore[] = [];
    const fresh = async () => {
      const store = await freshStore(kind);
      stores.push(store);
      return store;
    };
    after(async () => {
      for (const store of stores) await store.dispose();
    });

    it('a fresh store holds them sealed; tokens issued before a restart verify after it', async () => {
      const store = await fresh();
      let running = await startApp(store);
      const acc = 'sealed-acc';
      try {
        const { app } = await setUp(running, acc);
        assert.equal(
          (await client(running.url, { token: ADMIN_TOKEN }).post('/admin/v1/sentinel/rotate-keys')).status,
          200,
        );
        const agentToken = await agentLogin(running.url, acc);
        const issued = await appToken(running.url, acc, app);

        const stored = await storedSecrets(store);
        assert.equal(stored.keys.length, 2, 'the rotated key and the new one');
        const plain = opened(store, stored);
        // What the box opens is what signs: the session secret verifies the agent's token, the
        // current private key signed the app token.
        await jwtVerify(agentToken, Buffer.from(plain.sessionSecret, 'base64'), { issuer: 'botbridge' });
        const kid = decodeProtectedHeader(issued).kid;
        assert.ok(plain.privateJwks.some((jwk) => jwk.kid === kid && jwk.d));
        assertSealed(stored, plain);

        await running.close();
        running = await startApp(store);
        assert.equal(
          (await agentQueue(running.url, acc, agentToken)).status,
          200,
          'the agent token verifies after the restart',
        );
        assert.equal((await verifyAppToken(running.url, issued, acc)).payload.scope, SCOPE);
        assert.equal(
          decodeProtectedHeader(await appToken(running.url, acc, app)).kid,
          kid,
          'the same key signs after the restart',
        );
        assert.deepEqual(await storedSecrets(store), stored, 'a restart leaves sealed rows as they were');
      } finally {
        await running.close();
      }
    });

    it('a store the previous version wrote in plaintext is sealed at start and keeps working, start after start', async () => {
      const store = await fresh();
      const previous = await writtenByPreviousVersion(store);
      const acc = 'upgraded';
      // The first start of this version seals what it finds.
      const upgraded = await startApp(store);
      let userId: string;
      let app: { client_id: string; client_secret: string };
      try {
        ({ userId, app } = await setUp(upgraded, acc));
        // Issued by the previous version: a session token, and an app token of the retired key.
        const oldAgentToken = await previousAgentToken(previous.sessionSecret, acc, userId);
        assert.equal(
          (await agentQueue(upgraded.url, acc, oldAgentToken)).status,
          200,
          'a session token of the previous version verifies',
        );
      } finally {
        await upgraded.close();
      }

      const stored = await storedSecrets(store);
      assert.equal(stored.keys.length, 2);
      assertSealed(stored, {
        privateJwks: [previous.retired.privateJwk, previous.current.privateJwk],
        sessionSecret: previous.sessionSecret,
      });
      const plain = opened(store, stored);
      assert.equal(plain.sessionSecret, previous.sessionSecret, 'the same secret, sealed');
      assert.deepEqual(
        plain.privateJwks.map((jwk) => jwk.d).sort(),
        [previous.retired.privateJwk.d, previous.current.privateJwk.d].sort(),
        'the same keys, the retired one too, sealed',
      );

      const oldAgentToken = await previousAgentToken(previous.sessionSecret, acc, userId);
      const oldAppToken = await new SignJWT({ scope: SCOPE })
        .setProtectedHeader({ alg: 'RS256', kid: previous.retired.row.kid })
        .setIssuer('Sentinel')
        .setAudience(acc)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(previous.retired.privateKey);
      const restarted = await startApp(store);
      try {
        assert.equal((await agentQueue(restarted.url, acc, oldAgentToken)).status, 200, 'and after the next start');
        assert.equal(
          (await verifyAppToken(restarted.url, oldAppToken, acc)).payload.scope,
          SCOPE,
          'the retired key stays published',
        );
        const token = await appToken(restarted.url, acc, app);
        assert.equal(
          decodeProtectedHeader(token).kid,
          previous.current.row.kid,
          'the previous version’s current key still signs',
        );
        await verifyAppToken(restarted.url, token, acc);
        assert.deepEqual(await storedSecrets(store), stored, 'already sealed: nothing rewritten');
      } finally {
        await restarted.close();
      }
    });

    it('another SECRET_KEY, or a lost key file: the start fails, naming SECRET_KEY, and nothing is rewritten', async () => {
      const store = await fresh();
      const keyA = randomBytes(32).toString('base64');
      const first = await startApp(store, { secretKey: keyA });
      const acc = 'keyed';
      await setUp(first, acc);
      const agentToken = await agentLogin(first.url, acc);
      await first.close();
      const stored = await storedSecrets(store);

      const refusal = (error: Error) => {
        assert.match(error.message, /SECRET_KEY/);
        assert.match(error.message, /does not open|sealed with another key/);
        return true;
      };
      await assert.rejects(startApp(store, { secretKey: randomBytes(32).toString('base64') }), refusal);
      // Started without SECRET_KEY, the server makes a key file of its own: not the store's key either.
      await assert.rejects(startApp(store), refusal);
      rmSync(join(store.dataDir, 'secret.key'));
      assert.deepEqual(await storedSecrets(store), stored, 'the refused starts changed nothing');

      const again = await startApp(store, { secretKey: keyA });
      try {
        assert.equal((await agentQueue(again.url, acc, agentToken)).status, 200);
      } finally {
        await again.close();
      }
    });

    it('rotate-keys seals the new key with the servers’ key, and refuses another key', async () => {
      const store = await fresh();
      const key = randomBytes(32).toString('base64');
      const running = await startApp(store, { secretKey: key });
      const acc = 'cli-acc';
      try {
        const { app } = await setUp(running, acc);
        const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: store.dataDir, SECRET_KEY: key };
        if (store.databaseUrl) env.DATABASE_URL = store.databaseUrl;
        else delete env.DATABASE_URL;

        const before = await storedSecrets(store);
        await assert.rejects(
          run('npm', ['run', '--silent', 'rotate-keys'], {
            env: { ...env, SECRET_KEY: randomBytes(32).toString('base64') },
          }),
          (e: { stderr: string }) => {
            assert.match(e.stderr, /SECRET_KEY/);
            return true;
          },
        );
        const withoutKey = { ...env };
        delete withoutKey.SECRET_KEY;
        await assert.rejects(
          run('npm', ['run', '--silent', 'rotate-keys'], { env: withoutKey }),
          (e: { stderr: string }) => {
            assert.match(e.stderr, /SECRET_KEY/);
            return true;
          },
        );
        assert.deepEqual(await storedSecrets(store), before, 'refused: no key made');

        const { stdout } = await run('npm', ['run', '--silent', 'rotate-keys'], { env });
        const kid = /new signing key (\S+);/.exec(stdout)?.[1];
        assert.ok(kid, stdout);
        const after = await storedSecrets(store);
        assert.ok(after.keys.every((k) => k.private_jwk.startsWith('v1.')));
        const token = await appToken(running.url, acc, app);
        assert.equal(decodeProtectedHeader(token).kid, kid, 'the server signs with the key the CLI sealed');
        await verifyAppToken(running.url, token, acc);
      } finally {
        await running.close();
      }
    });
  });
}

if (STORES.includes('postgres')) {
  describe('two instances starting at once on a plaintext PostgreSQL store', () => {
    let store: TestStore;
    after(async () => store?.dispose());

    it('seal each secret once between them, and verify each other’s tokens', async () => {
      store = await freshStore('postgres');
      const previous = await writtenByPreviousVersion(store);
      const [one, two] = await Promise.all([startApp(store), startApp(store)]);
      try {
        const acc = 'pair';
        const { app } = await setUp(one, acc);
        const stored = await storedSecrets(store);
        assertSealed(stored, {
          privateJwks: [previous.retired.privateJwk, previous.current.privateJwk],
          sessionSecret: previous.sessionSecret,
        });
        assert.equal(opened(store, stored).sessionSecret, previous.sessionSecret);

        const agentToken = await agentLogin(one.url, acc);
        assert.equal((await agentQueue(two.url, acc, agentToken)).status, 200);
        const viaTwo = await appToken(two.url, acc, app);
        const viaOne = await appToken(one.url, acc, app);
        assert.equal(decodeProtectedHeader(viaTwo).kid, previous.current.row.kid);
        assert.equal(decodeProtectedHeader(viaOne).kid, previous.current.row.kid);
        await verifyAppToken(one.url, viaTwo, acc);
      } finally {
        await one.close();
        await two.close();
      }
    });
  });
}
