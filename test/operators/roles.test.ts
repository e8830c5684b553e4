import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { refusal, type Actor } from '../../src/operators/permissions.js';

const CONSOLE = { 'x-botbridge-console': '1' };

describe('permissions (pure)', () => {
  const viewer: Actor = { kind: 'operator', id: 'v', login: 'v', superAdmin: false, roles: { a: 'viewer' } };
  it('names what is missing', () => {
    assert.equal(refusal(viewer, 'account:read', 'a'), undefined);
    assert.match(refusal(viewer, 'account:write', 'a')!, /needs 'account:write' on account 'a'.*yours there is viewer/);
    assert.match(refusal(viewer, 'account:read', 'b')!, /you have no role there/);
    assert.match(refusal(viewer, 'installation:manage')!, /super-admins only/);
    assert.equal(refusal(viewer, 'installation:read'), undefined);
    assert.equal(refusal({ kind: 'admin-token' }, 'installation:manage'), undefined);
    const token: Actor = { kind: 'api-token', id: 't', name: 'ci', accountId: 'a', role: 'admin' };
    assert.equal(refusal(token, 'account:write', 'a'), undefined);
    assert.match(refusal(token, 'account:manage', 'a')!, /yours there is admin/);
    assert.match(refusal(token, 'account:read', 'b')!, /no role there/);
  });
});

/** Who may do what, written out by hand (not derived from the code under test). */
type Who = 'viewer' | 'admin' | 'owner' | 'other-owner' | 'super' | 'admin-token' | 'token-viewer' | 'token-admin';
const MAY: Record<string, readonly Who[]> = {
  'installation:read': [
    'viewer',
    'admin',
    'owner',
    'other-owner',
    'super',
    'admin-token',
    'token-viewer',
    'token-admin',
  ],
  'installation:manage': ['super', 'admin-token'],
  'account:read': ['viewer', 'admin', 'owner', 'super', 'admin-token', 'token-viewer', 'token-admin'],
  'account:write': ['admin', 'owner', 'super', 'admin-token', 'token-admin'],
  'account:manage': ['owner', 'super', 'admin-token'],
};

for (const kind of STORES) {
  describe(`operators, roles and API tokens on every admin route (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    const A = 'acct-a';
    const B = 'acct-b';
    const as: Partial<Record<Who, Client>> = {};

    /** A browser signed in as the operator: the session cookie, and the console's header on writes. */
    async function signedIn(login: string, password: string): Promise<Client> {
      const res = await fetch(`${running.url}/admin/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...CONSOLE },
        body: JSON.stringify({ login, password }),
      });
      assert.equal(res.status, 201, await res.clone().text());
      const cookie = res.headers.get('set-cookie')!.split(';')[0];
      const body = await res.json();
      assert.equal(body.operator.login, login);
      return client(running.url, { headers: { cookie, ...CONSOLE } });
    }

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, { logLevel: 'warn' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      for (const acc of [A, B]) assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      const people: Array<[Who, string, Record<string, string>, boolean]> = [
        ['viewer', 'vera@example.com', { [A]: 'viewer' }, false],
        ['admin', 'adam@example.com', { [A]: 'admin' }, false],
        ['owner', 'olga@example.com', { [A]: 'owner' }, false],
        ['other-owner', 'otto@example.com', { [B]: 'owner' }, false],
        ['super', 'sue@example.com', {}, true],
      ];
      for (const [who, login, roles, superAdmin] of people) {
        const made = await admin.post('/admin/v1/operators', { login, password: 'pass-word-1', superAdmin });
        assert.equal(made.status, 201, JSON.stringify(made.body));
        for (const [acc, role] of Object.entries(roles))
          assert.equal((await admin.post(`/admin/v1/accounts/${acc}/operators`, { login, role })).status, 200);
        as[who] = await signedIn(login, 'pass-word-1');
      }
      as['admin-token'] = admin;
      for (const [who, role] of [
        ['token-viewer', 'viewer'],
        ['token-admin', 'admin'],
      ] as const) {
        const made = await admin.post(`/admin/v1/accounts/${A}/api-tokens`, { name: who, role });
        assert.equal(made.status, 201, JSON.stringify(made.body));
        assert.match(made.body.token, /^bbt_/);
        as[who] = client(running.url, { token: made.body.token });
      }
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('every admin route names its permission, and each actor gets exactly what its role allows', async () => {
      const doc = (await admin.get('/openapi.json')).body;
      const routes: Array<{ method: string; path: string; permission: string }> = [];
      for (const [path, methods] of Object.entries<any>(doc.paths)) {
        // Signing in (by token, password or single sign-on) is how a caller gets an actor: no permission.
        if (!path.startsWith('/admin/v1/') || path === '/admin/v1/session' || path.startsWith('/admin/v1/sso'))
          continue;
        for (const [method, operation] of Object.entries<any>(methods)) {
          const permission = /Needs `([a-z:]+)`/.exec(operation.description ?? '')?.[1];
          assert.ok(permission && permission in MAY, `${method.toUpperCase()} ${path} names no known permission`);
          routes.push({ method: method.toUpperCase(), path, permission });
        }
      }
      assert.ok(routes.length >= 45, `${routes.length} admin routes`);
      const mismatches: string[] = [];
      for (const route of routes) {
        const url = route.path.replace('{acc}', A).replace(/\{(id|clientId|conversationId)\}/g, 'no-such-thing');
        for (const who of MAY['installation:read']) {
          const res = await as[who]!.call(route.method, url, route.method === 'GET' ? undefined : {});
          const refused = res.status === 403 && res.body?.error?.code === 'forbidden';
          const allowed = MAY[route.permission].includes(who);
          if (refused === allowed)
            mismatches.push(
              `${who} ${route.method} ${route.path}: ${res.status} ${JSON.stringify(res.body).slice(0, 160)}`,
            );
          if (refused) assert.match(res.body.error.message, new RegExp(`needs '${route.permission}'`));
        }
      }
      assert.deepEqual(mismatches, []);
    });

    it('a viewer changes nothing; the accounts list shows each actor its own accounts', async () => {
      const viewer = as.viewer!;
      const refused = await viewer.post(`/admin/v1/accounts/${A}/skills`, { name: 'sales' });
      assert.equal(refused.status, 403);
      assert.match(refused.body.error.message, /needs 'account:write' on account 'acct-a'.*yours there is viewer/);
      assert.deepEqual((await admin.get(`/admin/v1/accounts/${A}/skills`)).body.skills, []);
      const ids = async (c: Client) => (await c.get('/admin/v1/accounts')).body.accounts.map((a: any) => a.accountId);
      assert.deepEqual(await ids(viewer), [A]);
      assert.deepEqual(await ids(as['other-owner']!), [B]);
      assert.deepEqual(await ids(as['token-admin']!), [A]);
      assert.deepEqual((await ids(as.super!)).sort(), [A, B]);
      const me = (await viewer.get('/admin/v1/me')).body;
      assert.deepEqual(
        { kind: me.kind, login: me.login, superAdmin: me.superAdmin, roles: me.roles },
        {
          kind: 'operator',
          login: 'vera@example.com',
          superAdmin: false,
          roles: { [A]: 'viewer' },
        },
      );
    });

    it('an owner hands out roles and tokens no higher than their own; a role taken away counts at once', async () => {
      const owner = as.owner!;
      const adam = (await owner.get(`/admin/v1/accounts/${A}/operators`)).body.operators.find(
        (o: any) => o.login === 'adam@example.com',
      );
      assert.equal(adam.roles[A], 'admin');
      const token = await as['token-admin']!.post(`/admin/v1/accounts/${A}/api-tokens`, { name: 'x', role: 'owner' });
      assert.equal(token.status, 403, 'an admin token cannot manage tokens at all');
      const made = await owner.post(`/admin/v1/accounts/${A}/api-tokens`, { name: 'deploy', role: 'owner' });
      assert.equal(made.status, 201);
      assert.equal(made.body.createdBy, 'olga@example.com');
      assert.equal((await as.admin!.post(`/admin/v1/accounts/${A}/skills`, { name: 'billing' })).status, 201);
      assert.equal((await owner.delete(`/admin/v1/accounts/${A}/operators/${adam.id}`)).status, 204);
      const after = await as.admin!.post(`/admin/v1/accounts/${A}/skills`, { name: 'refunds' });
      assert.equal(after.status, 403);
      assert.match(after.body.error.message, /you have no role there/);
    });

    it('sign-in: a wrong password is refused like an unknown login; a password is needed for one', async () => {
      const wrong = await client(running.url).post(
        '/admin/v1/session',
        { login: 'vera@example.com', password: 'nope-nope' },
        { headers: CONSOLE },
      );
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.code, 'invalid-credentials');
      const unknown = await client(running.url).post(
        '/admin/v1/session',
        { login: 'nobody@example.com', password: 'pass-word-1' },
        { headers: CONSOLE },
      );
      assert.equal(unknown.body.error.code, 'invalid-credentials');
      const ssoOnly = await admin.post('/admin/v1/operators', { login: 'sso@example.com' });
      assert.equal(ssoOnly.body.hasPassword, false);
      const noPassword = await client(running.url).post(
        '/admin/v1/session',
        { login: 'sso@example.com', password: 'anything-1' },
        { headers: CONSOLE },
      );
      assert.equal(noPassword.status, 401);
    });

    it('a revoked API token is refused from its next request on; its last use is recorded', async () => {
      const made = await admin.post(`/admin/v1/accounts/${A}/api-tokens`, { name: 'ci', role: 'viewer' });
      const ci = client(running.url, { token: made.body.token });
      assert.equal((await ci.get(`/admin/v1/accounts/${A}/bots`)).status, 200);
      const listed = (await admin.get(`/admin/v1/accounts/${A}/api-tokens`)).body.tokens.find(
        (t: any) => t.name === 'ci',
      );
      assert.equal(typeof listed.lastUsedAt, 'number');
      assert.equal(listed.token, undefined, 'the token itself is never listed');
      assert.equal((await admin.delete(`/admin/v1/accounts/${A}/api-tokens/${made.body.id}`)).status, 204);
      const refused = await ci.get(`/admin/v1/accounts/${A}/bots`);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error.code, 'invalid-token');
    });
  });
}

if (STORES.includes('postgres')) {
  describe('a revoked API token stops at once on every instance (two instances on one PostgreSQL)', () => {
    let store: TestStore;
    let one: Running;
    let two: Running;
    before(async () => {
      store = await freshStore('postgres');
      [one, two] = await Promise.all([startApp(store, { logLevel: 'warn' }), startApp(store, { logLevel: 'warn' })]);
    });
    after(async () => {
      await one?.close();
      await two?.close();
      await store?.dispose();
    });

    it('revoked through one instance, refused by the other at its next request', async () => {
      const admin1 = client(one.url, { token: ADMIN_TOKEN });
      assert.equal((await admin1.post('/admin/v1/accounts', { accountId: 'c' })).status, 201);
      const made = await admin1.post('/admin/v1/accounts/c/api-tokens', { name: 'ci', role: 'admin' });
      const onTwo = client(two.url, { token: made.body.token });
      assert.equal((await onTwo.get('/admin/v1/accounts/c/bots')).status, 200);
      assert.equal((await admin1.delete(`/admin/v1/accounts/c/api-tokens/${made.body.id}`)).status, 204);
      assert.equal((await onTwo.get('/admin/v1/accounts/c/bots')).status, 401);
    });
  });
}
