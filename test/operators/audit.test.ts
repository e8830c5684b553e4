import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { BOT_SCOPE } from '../helpers/connector.js';
import { REDACTED, redact, subjectOf } from '../../src/audit/shape.js';
import { AuditLog, PRUNE_BATCH } from '../../src/audit/log.js';
import { auditSsoSignIns } from '../../src/audit/hooks.js';
import Fastify, { type FastifyPluginAsync } from 'fastify';

const CONSOLE = { 'x-botbridge-console': '1' };
const PASSWORD = 'pass-word-1';
const WRONG_PASSWORD = 'wrong-pass-word-9';

describe('audit entries (pure)', () => {
  it('hides every credential, keeping the key so a diff still shows it changed', () => {
    const token = `bbt_${'x'.repeat(43)}`;
    assert.deepEqual(
      redact({
        client_secret: 's1',
        vendor: { clientSecret: 's2', clientId: 'c' },
        token,
        name: token,
        password: 'p',
        hasPassword: false,
        baseUrl: 'https://bot.example/hook?access_token=abc&x=1',
        list: [{ apiKey: 'k' }],
      }),
      {
        client_secret: REDACTED,
        vendor: { clientSecret: REDACTED, clientId: 'c' },
        token: REDACTED,
        name: REDACTED,
        password: REDACTED,
        hasPassword: false,
        baseUrl: 'https://bot.example/hook?access_token=[REDACTED]&x=1',
        list: [{ apiKey: REDACTED }],
      },
    );
  });

  it('names the object a route is about', () => {
    const lists = new Set(['/accounts/:acc/skills', '/accounts/:acc/bots', '/accounts']);
    const isList = (p: string) => lists.has(p);
    assert.deepEqual(subjectOf('/accounts/:acc/bots/:id', isList), {
      type: 'bot',
      param: 'id',
      at: '/accounts/:acc/bots/:id',
      create: false,
    });
    assert.deepEqual(subjectOf('/accounts/:acc/bots/:id/start', isList), {
      type: 'bot',
      param: 'id',
      at: '/accounts/:acc/bots/:id',
      create: false,
    });
    assert.deepEqual(subjectOf('/accounts/:acc/apps/:clientId/secret', isList), {
      type: 'app',
      param: 'clientId',
      at: '/accounts/:acc/apps/:clientId',
      create: false,
    });
    assert.deepEqual(subjectOf('/accounts/:acc/skills', isList), {
      type: 'skill',
      at: '/accounts/:acc/skills',
      create: true,
    });
    assert.deepEqual(subjectOf('/accounts/:acc/vendor/environments', isList), {
      type: 'account',
      param: 'acc',
      at: '/accounts/:acc',
      create: false,
    });
    assert.deepEqual(subjectOf('/sentinel/rotate-keys', isList), { type: 'sentinel', create: false });
  });
});

for (const kind of STORES) {
  describe(`audit log: who changed what, from where, before and after, no secret (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let olga: Client;
    let vera: Client;
    let otto: Client;
    const A = 'acct-audit-a';
    const B = 'acct-audit-b';
    /** Every secret the test saw: none may be anywhere in the audit table. */
    const secrets = new Set<string>([ADMIN_TOKEN, PASSWORD, WRONG_PASSWORD]);
    /** The newest entry before the scripted series. */
    let mark = 0;
    let botId = '';
    let clientId = '';
    let skillId = '';
    let tokenId = '';
    let startedAt = 0;

    const signIn = (login: string, password: string) =>
      fetch(`${running.url}/admin/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...CONSOLE },
        body: JSON.stringify({ login, password }),
      });
    async function signedIn(login: string): Promise<Client> {
      const res = await signIn(login, PASSWORD);
      assert.equal(res.status, 201, await res.clone().text());
      const cookie = res.headers.get('set-cookie')!.split(';')[0];
      secrets.add(cookie.split('=')[1]);
      return client(running.url, { headers: { cookie, ...CONSOLE } });
    }
    const ok = (res: { status: number; body: unknown }, status: number) =>
      assert.equal(res.status, status, JSON.stringify(res.body));
    /** The entries after the mark, oldest first. */
    async function series(): Promise<any[]> {
      const page = await admin.get('/admin/v1/audit?limit=200');
      ok(page, 200);
      return page.body.entries.filter((e: any) => Number(e.id) > mark).reverse();
    }

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, { logLevel: 'warn' });
      admin = client(running.url, { token: ADMIN_TOKEN });
      for (const acc of [A, B]) ok(await admin.post('/admin/v1/accounts', { accountId: acc }), 201);
      for (const [login, acc, role] of [
        ['olga@example.com', A, 'owner'],
        ['vera@example.com', A, 'viewer'],
        ['otto@example.com', B, 'owner'],
      ]) {
        ok(await admin.post('/admin/v1/operators', { login, password: PASSWORD }), 201);
        ok(await admin.post(`/admin/v1/accounts/${acc}/operators`, { login, role }), 200);
      }
      olga = await signedIn('olga@example.com');
      vera = await signedIn('vera@example.com');
      otto = await signedIn('otto@example.com');
      ok(await otto.post(`/admin/v1/accounts/${B}/skills`, { name: 'b-skill' }), 201);
      mark = Number((await admin.get('/admin/v1/audit?limit=1')).body.entries[0].id);
      startedAt = Date.now();

      // The scripted series.
      const skill = await olga.post(`/admin/v1/accounts/${A}/skills`, { name: 'bot' });
      ok(skill, 201);
      skillId = String(skill.body.id);
      const app = await admin.post(`/admin/v1/accounts/${A}/apps`, { name: 'bot', scope: BOT_SCOPE });
      ok(app, 201);
      clientId = app.body.client_id;
      secrets.add(app.body.client_secret);
      const bot = await olga.post(`/admin/v1/accounts/${A}/bots`, {
        name: 'audit bot',
        conversationType: 'MESSAGING',
        skills: ['bot'],
        vendor: {
          type: 'CUSTOM_ENDPOINT',
          baseUrl: 'http://127.0.0.1:9/bot',
          clientId,
          clientSecret: app.body.client_secret,
          botId: 'bot-1',
          environment: 'draft',
        },
      });
      ok(bot, 201);
      botId = bot.body.id;
      ok(await olga.patch(`/admin/v1/accounts/${A}/bots/${botId}`, { name: 'renamed bot' }), 200);
      const rotated = await olga.post(`/admin/v1/accounts/${A}/apps/${clientId}/secret`);
      ok(rotated, 200);
      secrets.add(rotated.body.client_secret);
      const token = await olga.post(`/admin/v1/accounts/${A}/api-tokens`, { name: 'ci', role: 'viewer' });
      ok(token, 201);
      secrets.add(token.body.token);
      tokenId = token.body.id;
      ok(await vera.patch(`/admin/v1/accounts/${A}/bots/${botId}`, { name: 'not allowed' }), 403);
      assert.equal((await signIn('olga@example.com', WRONG_PASSWORD)).status, 401);
      const veraAgain = await signIn('vera@example.com', PASSWORD);
      assert.equal(veraAgain.status, 201);
      secrets.add(veraAgain.headers.get('set-cookie')!.split(';')[0].split('=')[1]);
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('holds exactly the scripted changes, in order, with who, what and the outcome', async () => {
      const entries = await series();
      const olgaId = (await olga.get('/admin/v1/me')).body.id;
      const veraId = (await vera.get('/admin/v1/me')).body.id;
      const summary = entries.map((e) => [e.actor.name, e.action, e.object.type, e.object.id, e.outcome]);
      assert.deepEqual(summary, [
        ['olga@example.com', 'POST /admin/v1/accounts/:acc/skills', 'skill', skillId, 201],
        ['admin-token', 'POST /admin/v1/accounts/:acc/apps', 'app', clientId, 201],
        ['olga@example.com', 'POST /admin/v1/accounts/:acc/bots', 'bot', botId, 201],
        ['olga@example.com', 'PATCH /admin/v1/accounts/:acc/bots/:id', 'bot', botId, 200],
        ['olga@example.com', 'POST /admin/v1/accounts/:acc/apps/:clientId/secret', 'app', clientId, 200],
        ['olga@example.com', 'POST /admin/v1/accounts/:acc/api-tokens', 'api-token', tokenId, 201],
        ['vera@example.com', 'PATCH /admin/v1/accounts/:acc/bots/:id', 'bot', botId, 403],
        ['olga@example.com', 'POST /admin/v1/session', 'session', undefined, 401],
        ['vera@example.com', 'POST /admin/v1/session', 'session', undefined, 201],
      ]);
      for (const e of entries.slice(0, 7)) assert.equal(e.accountId, A);
      assert.equal(entries[0].actor.id, olgaId);
      assert.equal(entries[0].actor.kind, 'operator');
      assert.equal(entries[1].actor.kind, 'admin-token');
      assert.equal(entries[6].actor.id, veraId);
      // A failed sign-in names the login typed, not an operator it proved to be.
      assert.equal(entries[7].actor.id, undefined);
      assert.equal(entries[8].actor.id, veraId);
      for (const e of entries) {
        assert.match(e.address, /127\.0\.0\.1/);
        assert.ok(e.at >= startedAt && e.at <= Date.now());
        assert.ok(e.requestId);
      }
    });

    it('keeps the object before and after, as the API shows it', async () => {
      const [skill, app, created, patched, rotated, token, refused, failed] = await series();
      assert.equal(skill.before, undefined);
      assert.equal(skill.after.name, 'bot');
      assert.equal(app.after.client_id, clientId);
      assert.equal(created.before, undefined);
      assert.equal(created.after.name, 'audit bot');
      assert.equal(created.after.vendor.clientId, clientId);
      assert.equal(patched.before.name, 'audit bot');
      assert.equal(patched.after.name, 'renamed bot');
      assert.equal(rotated.before.client_id, clientId);
      assert.equal(rotated.after.client_id, clientId);
      assert.equal(token.after.name, 'ci');
      assert.equal(token.after.role, 'viewer');
      // Refused: nothing read, nothing changed.
      assert.equal(refused.before, undefined);
      assert.equal(refused.after, undefined);
      assert.equal(failed.after, undefined);
    });

    it('holds no secret anywhere in the stored rows', async () => {
      const { rows } = await sql<Record<string, unknown>>`select * from audit_log`.execute(running.app.store.db);
      assert.ok(rows.length >= 9);
      const raw = JSON.stringify(rows);
      for (const secret of secrets) assert.ok(!raw.includes(secret), `a secret (${secret.slice(0, 4)}…) is stored`);
      assert.doesNotMatch(raw, /bbt_[A-Za-z0-9_-]{20}/);
    });

    it('filters by actor, object, action and time, and pages newest first', async () => {
      const q = async (query: string) => {
        const page = await admin.get(`/admin/v1/audit?${query}`);
        ok(page, 200);
        return page.body.entries.filter((e: any) => Number(e.id) > mark);
      };
      const byOlga = await q('actor=olga%40example.com');
      assert.ok(byOlga.length >= 6 && byOlga.every((e: any) => e.actor.name === 'olga@example.com'));
      const veraId = (await vera.get('/admin/v1/me')).body.id;
      assert.deepEqual(
        (await q(`actor=${veraId}`)).map((e: any) => e.outcome),
        [201, 403],
      );
      const botEntries = await q(`objectType=bot&objectId=${botId}`);
      assert.deepEqual(
        botEntries.map((e: any) => e.outcome),
        [403, 200, 201],
      );
      assert.equal((await q(`action=${encodeURIComponent('PATCH /admin/v1/accounts/:acc/bots/:id')}`)).length, 2);
      assert.equal((await q(`from=${Date.now() + 60_000}`)).length, 0);
      assert.equal((await q(`to=${startedAt}`)).length, 0);
      // Paged: two at a time, each entry once, newest first.
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await admin.get(`/admin/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        ok(page, 200);
        seen.push(...page.body.entries.map((e: any) => e.id));
        cursor = page.body.next;
      } while (cursor);
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => Number(b) - Number(a)),
      );
      assert.equal(new Set(seen).size, seen.length);
      ok(await admin.get('/admin/v1/audit?cursor=nope'), 400);
    });

    it('an account’s owners read its entries, and no other account’s', async () => {
      const own = await olga.get(`/admin/v1/accounts/${A}/audit?limit=200`);
      ok(own, 200);
      assert.ok(own.body.entries.length >= 7);
      assert.ok(own.body.entries.every((e: any) => e.accountId === A));
      const other = await otto.get(`/admin/v1/accounts/${B}/audit?limit=200`);
      ok(other, 200);
      assert.ok(other.body.entries.length >= 1, 'the other owner sees their own account’s');
      assert.ok(other.body.entries.every((e: any) => e.accountId === B));
      assert.ok(!JSON.stringify(other.body).includes(botId));
      ok(await otto.get(`/admin/v1/accounts/${A}/audit`), 403);
      ok(await vera.get(`/admin/v1/accounts/${A}/audit`), 403);
      ok(await olga.get('/admin/v1/audit'), 403);
    });

    it('prunes entries past the retention, a batch at a time', async () => {
      const { audit } = running.app;
      const old = Date.now() - 400 * 24 * 60 * 60 * 1000;
      const count = PRUNE_BATCH * 2 + 7;
      for (let i = 0; i < count; i++)
        await audit.record({
          at: old + i,
          actor: { kind: 'admin-token', name: 'admin-token' },
          address: '127.0.0.1',
          action: 'POST /admin/v1/old',
          object: { type: 'old' },
          outcome: 200,
        });
      const before = (await admin.get('/admin/v1/audit?objectType=old&limit=200')).body.entries.length;
      assert.ok(before > 0);
      let removed = 0;
      for (let n = await audit.prune(); n > 0; n = await audit.prune()) removed += n;
      assert.equal((await admin.get('/admin/v1/audit?objectType=old')).body.entries.length, 0);
      // What the series recorded is within the retention: kept.
      assert.equal((await series()).length >= 9, true);
      assert.ok(removed <= count);
    });

    it('records single sign-on’s sign-ins by the session the callback set, and its refusals', async () => {
      const audit = new AuditLog(running.app.store, { retentionDays: 365 });
      const sessionId = 'x'.repeat(43);
      const sso = Fastify();
      const callback: FastifyPluginAsync = async (scope) => {
        auditSsoSignIns(scope, {
          audit,
          actorOfSession: async (id) =>
            id === sessionId ? { kind: 'operator', id: 'op-1', name: 'sam@example.com' } : undefined,
        });
        scope.get<{ Querystring: { ok?: string } }>('/sso/callback', async (request, reply) => {
          if (!request.query.ok) return reply.status(403).send({ error: { code: 'sso-no-role', message: 'no' } });
          reply.header('set-cookie', [`botbridge_sso=; Max-Age=0`, `botbridge_operator=${sessionId}; HttpOnly`]);
          return reply.redirect('/admin', 302);
        });
      };
      await sso.register(callback, { prefix: '/admin/v1' });
      assert.equal((await sso.inject('/admin/v1/sso/callback?ok=1&code=provider-code')).statusCode, 302);
      assert.equal((await sso.inject('/admin/v1/sso/callback?code=provider-code')).statusCode, 403);
      await sso.close();
      const page = await admin.get(`/admin/v1/audit?action=${encodeURIComponent('GET /admin/v1/sso/callback')}`);
      ok(page, 200);
      assert.deepEqual(
        page.body.entries.map((e: any) => [e.actor.kind, e.actor.id, e.actor.name, e.object.type, e.outcome]),
        [
          ['anonymous', undefined, 'anonymous', 'session', 403],
          ['operator', 'op-1', 'sam@example.com', 'session', 302],
        ],
      );
      const { rows } = await sql<Record<string, unknown>>`select * from audit_log`.execute(running.app.store.db);
      assert.ok(!JSON.stringify(rows).includes('provider-code'));
    });
  });
}
