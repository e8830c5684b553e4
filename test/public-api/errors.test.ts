import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { client, startApp, type Running } from '../helpers/app.js';
import {
  PASSWORD,
  assertError,
  conversationOf,
  login,
  openConversation,
  publicApi,
  setUpAccount,
  type PublicApi,
} from './support.js';

const quickRepliesMessage = {
  structuredContent: {
    quickReplies: {
      type: 'quickReplies',
      itemsPerRow: 8,
      replies: [{ type: 'button', title: 'yes', click: { actions: [{ type: 'publishText', text: 'yep' }] } }],
    },
    message: 'Do you like bots?',
  },
};
const card = { type: 'vertical', elements: [{ type: 'text', text: 'hello' }] };

for (const kind of STORES) {
  describe(`Public API v1: refusals (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let api: PublicApi;
    let bearer: string;
    let conversationId: string;
    let chatId: string;
    const acc = 'acme';

    /** Every refused request must leave the conversation's log as it was. */
    const eventCount = async (id = conversationId) => (await conversationOf(running.url, acc, id)).events.length;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      await setUpAccount(running.url, { acc, skills: ['sales', 'human_skill'], users: ['api'] });
      await setUpAccount(running.url, { acc: 'other', skills: ['sales'], users: ['api'] });
      bearer = await login(running.url, acc, 'api');
      api = publicApi(running.url, acc, bearer);
      ({ conversationId } = await openConversation(running.url, acc, { skill: 'sales' }));
      ({ conversationId: chatId } = await openConversation(running.url, acc, { skill: 'sales', type: 'CHAT' }));
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('login: v is required and must be 1.3', async () => {
      const http = client(running.url);
      const body = { username: 'api', password: PASSWORD };
      assertError(await http.post(`/api/account/${acc}/login`, body), 400, 'unsupported-version', 'v');
      for (const v of ['1.2', '1', 'abc', '', '1.3.0']) {
        assertError(await http.post(`/api/account/${acc}/login?v=${v}`, body), 400, 'unsupported-version');
      }
      assertError(await http.post(`/api/account/${acc}/login?v=1.3&v=1.3`, body), 400);
    });

    it('login: missing or mistyped fields are 400, an unknown account 404', async () => {
      const http = client(running.url);
      const url = `/api/account/${acc}/login?v=1.3`;
      assertError(await http.post(url, { username: 'api' }), 400, 'invalid-request', 'password');
      assertError(await http.post(url, { password: PASSWORD }), 400, 'invalid-request', 'username');
      assertError(await http.post(url, { username: 'api', password: 123456 }), 400, 'invalid-request', 'password');
      assertError(await http.post(url), 400);
      assertError(
        await http.call('POST', url, undefined, {
          raw: '{"username": "api",',
          headers: { 'content-type': 'application/json' },
        }),
        400,
        'malformed-json',
      );
      assertError(await http.post('/api/account/nobody/login?v=1.3', { username: 'api', password: PASSWORD }), 404);
    });

    it('login: a wrong password and an unknown user get the same 401', async () => {
      const http = client(running.url);
      const wrongPassword = await http.post(`/api/account/${acc}/login?v=1.3`, { username: 'api', password: 'not it' });
      const unknownUser = await http.post(`/api/account/${acc}/login?v=1.3`, {
        username: 'nobody',
        password: PASSWORD,
      });
      assertError(wrongPassword, 401, 'invalid-credentials');
      assertError(unknownUser, 401, 'invalid-credentials');
      assert.deepEqual(wrongPassword.body, unknownUser.body);
      // The user of one account does not log in to another.
      assertError(await http.post('/api/account/other/login?v=1.3', { username: 'nobody', password: PASSWORD }), 401);
    });

    it('ttl: 10 to 120 whole seconds; 0, 9, 121, abc, 10.5 and empty are refused', async () => {
      const before = await eventCount();
      for (const ttl of ['0', '9', '121', 'abc', '10.5', '', '-10', '1e2', '30s']) {
        for (const action of ['messages', 'transfer', 'close', 'sdes', 'ttr']) {
          const res = await api.send(action, conversationId, { ttrType: 'URGENT' }, { ttl });
          assertError(res, 400, 'invalid-ttl', 'ttl');
        }
      }
      assert.equal(await eventCount(), before);
      for (const ttl of ['10', '120', '30']) {
        const job = await api.run('ttr', conversationId, { ttrType: 'URGENT' }, { ttl });
        assert.equal(job.status, 'done');
      }
    });

    it('messages: missing, empty or mistyped fields are 400', async () => {
      const before = await eventCount();
      const bad: [unknown, string][] = [
        [{}, 'messages'],
        [{ context: { intentId: 'x' } }, 'messages'],
        [{ messages: 'hello' }, 'messages'],
        [{ messages: [] }, 'messages'],
        [{ messages: [''] }, 'messages/0'],
        [{ messages: [42] }, 'messages/0'],
        [{ messages: [null] }, 'messages/0'],
        [{ messages: [{ delay: '4', typing: true }] }, 'delay'],
        [{ messages: [{ delay: -1 }] }, 'delay'],
        [{ messages: [{ delay: 4, typing: 'yes' }] }, 'typing'],
        [{ messages: [{ text: 'not a field of ours' }] }, 'structuredContent'],
        [{ messages: [{ structuredContent: 'hello' }] }, 'structuredContent'],
        [{ messages: [{ structuredContent: card, metadata: { type: 'ExternalId' } }] }, 'metadata'],
        [{ messages: [{ structuredContent: card, metadata: [{ id: 'no type' }] }] }, 'metadata'],
        [{ messages: [{ structuredContent: card, encodedMetadata: 42 }] }, 'encodedMetadata'],
        [{ messages: [{ structuredContent: card, encodedMetadata: 'not base64!' }] }, 'encodedMetadata'],
        [{ messages: [{ structuredContent: card, encodedMetadata: 'QUJD'.repeat(1251) }] }, 'encodedMetadata'],
        [{ messages: ['hi'], context: 'testId' }, 'context'],
        [{ messages: ['hi'], context: { confidenceScore: 'high' } }, 'confidenceScore'],
        [{ messages: ['hi'], extra: true }, 'extra'],
        [null, ''],
      ];
      for (const [body, mentions] of bad) {
        const res = await api.send('messages', conversationId, body);
        assertError(res, 400, undefined, mentions);
      }
      assertError(await api.sendRaw('messages', conversationId, ''), 400);
      assertError(await api.sendRaw('messages', conversationId, '{"messages": ["hi"'), 400, 'malformed-json');
      assert.equal(await eventCount(), before);
    });

    it('messages: structured content is checked against the templates', async () => {
      const before = await eventCount();
      const bad: [unknown, string][] = [
        [
          {
            type: 'vertical',
            elements: [{ type: 'button', click: { actions: [{ type: 'publishText', text: 'x' }] } }],
          },
          '"title"',
        ],
        [
          { type: 'vertical', elements: [{ type: 'button', title: 'x', click: { actions: [{ type: 'sendSms' }] } }] },
          '/elements/0/click/actions/0',
        ],
        [{ type: 'horizontal-ish', elements: [] }, 'type'],
        [{ quickReplies: { type: 'quickReplies', replies: [] }, message: 'pick one' }, 'replies'],
        [{ quickReplies: { type: 'quickReplies', replies: [{ type: 'button', title: 'a' }] } }, 'message'],
        [{ quickReplies: { type: 'buttons', replies: [{ type: 'button', title: 'a' }] }, message: 'pick' }, 'type'],
        [
          {
            quickReplies: { type: 'quickReplies', replies: [{ type: 'button', title: 'a' }] },
            message: 'pick',
            type: 'vertical',
          },
          "'type'",
        ],
      ];
      for (const [structuredContent, mentions] of bad) {
        assertError(
          await api.send('messages', conversationId, { messages: [{ structuredContent }] }),
          400,
          'invalid-message',
          mentions,
        );
      }
      // One request may not hold its conversation for longer than any ttl could wait.
      assertError(
        await api.send('messages', conversationId, {
          messages: ['a', { delay: 100 }, 'b', { delay: 21, typing: false }],
        }),
        400,
        'invalid-message',
        'messages[3]',
      );
      assertError(
        await api.send('messages', conversationId, { messages: [{ delay: 121 }] }),
        400,
        'invalid-request',
        'delay',
      );
      // A bad item anywhere refuses the whole request: nothing of it is sent.
      assertError(
        await api.send('messages', conversationId, { messages: ['first', { structuredContent: { type: 'nope' } }] }),
        400,
        'invalid-message',
        'messages[1]',
      );
      assert.equal(await eventCount(), before);
    });

    it('transfer: skill required, a string, and must exist (case-sensitive)', async () => {
      const before = await eventCount();
      assertError(await api.send('transfer', conversationId, {}), 400, 'invalid-request', 'skill');
      assertError(await api.send('transfer', conversationId, { skill: 5 }), 400, 'invalid-request', 'skill');
      assertError(await api.send('transfer', conversationId, { skill: '' }), 400, 'invalid-request', 'skill');
      assertError(await api.send('transfer', conversationId), 400);
      const wrongCase = await api.send('transfer', conversationId, { skill: 'Human_Skill' });
      assertError(wrongCase, 400, 'unknown-skill', "'Human_Skill'");
      assert.equal(await eventCount(), before);
      assert.equal((await conversationOf(running.url, acc, conversationId)).skill.name, 'sales');
    });

    it('sdes: sdes, sharkVisitorId and sharkSessionId are all required and typed', async () => {
      const before = await eventCount();
      const sdes = [{ type: 'personal', personal: { firstname: 'Muster' } }];
      const ok = { sdes, sharkVisitorId: 'v-1', sharkSessionId: 's-1' };
      const bad: [unknown, string][] = [
        [{ sharkVisitorId: 'v-1', sharkSessionId: 's-1' }, 'sdes'],
        [{ sdes, sharkSessionId: 's-1' }, 'sharkVisitorId'],
        [{ sdes, sharkVisitorId: 'v-1' }, 'sharkSessionId'],
        [{ ...ok, sdes: { type: 'personal' } }, 'sdes'],
        [{ ...ok, sdes: [] }, 'sdes'],
        [{ ...ok, sdes: [{ personal: { firstname: 'x' } }] }, 'type'],
        [{ ...ok, sdes: [{ type: '__proto__', polluted: true }] }, 'type'],
        [{ ...ok, sdes: [{ type: '' }] }, 'type'],
        [{ ...ok, sharkVisitorId: 12345 }, 'sharkVisitorId'],
        [{ ...ok, sharkSessionId: null }, 'sharkSessionId'],
        [{}, 'sdes'],
      ];
      for (const [body, mentions] of bad)
        assertError(await api.send('sdes', conversationId, body), 400, 'invalid-request', mentions);
      assert.equal(await eventCount(), before);
    });

    it('ttr: ttrType from the list; CUSTOM needs a positive value in seconds', async () => {
      const before = await eventCount();
      const bad: [unknown, string][] = [
        [{}, 'ttrType'],
        [{ ttrType: 'SOON' }, 'ttrType'],
        [{ ttrType: 'urgent' }, 'ttrType'],
        [{ ttrType: 1 }, 'ttrType'],
        [{ ttrType: 'CUSTOM' }, 'value'],
        [{ ttrType: 'CUSTOM', value: 'ten' }, 'value'],
        [{ ttrType: 'CUSTOM', value: '0' }, 'value'],
        [{ ttrType: 'CUSTOM', value: 0 }, 'value'],
        [{ ttrType: 'CUSTOM', value: 10.5 }, 'value'],
        [{ ttrType: 'CUSTOM', value: true }, 'value'],
      ];
      for (const [body, mentions] of bad)
        assertError(await api.send('ttr', conversationId, body), 400, 'invalid-request', mentions);
      assert.equal(await eventCount(), before);
      // A number works as well as the page's string.
      assert.equal((await api.run('ttr', conversationId, { ttrType: 'CUSTOM', value: 90 })).status, 'done');
      assert.deepEqual((await conversationOf(running.url, acc, conversationId)).ttr, { ttrType: 'CUSTOM', value: 90 });
    });

    it('close: a body with fields is refused', async () => {
      assertError(await api.send('close', conversationId, { reason: 'done' }), 400, 'invalid-request', 'reason');
      assertError(await api.send('close', conversationId, ['x']), 400);
      assert.equal((await conversationOf(running.url, acc, conversationId)).status, 'OPEN');
    });

    it('CHAT: quick replies, encodedMetadata and TTR are refused; texts and cards go through', async () => {
      const before = await eventCount(chatId);
      assertError(
        await api.send('messages', chatId, { messages: ['hi', quickRepliesMessage] }),
        400,
        'messaging-only',
        'quick replies',
      );
      assertError(
        await api.send('messages', chatId, {
          messages: [{ structuredContent: card, encodedMetadata: 'SGVsbG8gV29ybGQh' }],
        }),
        400,
        'messaging-only',
        'encodedMetadata',
      );
      assertError(await api.send('ttr', chatId, { ttrType: 'URGENT' }), 400, 'messaging-only', 'TTR');
      assert.equal(await eventCount(chatId), before);

      const job = await api.run('messages', chatId, {
        messages: ['hi', { structuredContent: card, metadata: [{ type: 'ExternalId', id: 'x' }] }],
      });
      assert.equal(job.status, 'done');
      const { events } = await conversationOf(running.url, acc, chatId);
      assert.deepEqual(
        events.slice(-2).map((e: any) => e.type),
        ['TEXT', 'RICH_CONTENT'],
      );
      // The same quick replies are fine on a messaging conversation.
      assert.equal((await api.run('messages', conversationId, { messages: [quickRepliesMessage] })).status, 'done');
    });

    it('bearer: missing, malformed, tampered, expired or of another kind is 400', async () => {
      const before = await eventCount();
      const body = { messages: ['should not arrive'] };
      assertError(await api.send('messages', conversationId, body, { token: null }), 400, 'missing-bearer');
      const basic = await api.http.call('POST', api.path(conversationId, 'messages'), body, {
        headers: { authorization: 'Basic YXBpOnB3' },
        token: null,
      });
      assertError(basic, 400, 'missing-bearer');
      assertError(await api.send('messages', conversationId, body, { token: 'not-a-jwt' }), 400, 'invalid-bearer');

      const [header, payload, signature] = bearer.split('.');
      const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
      assertError(
        await api.send('messages', conversationId, body, { token: `${header}.${payload}.${flipped}` }),
        400,
        'invalid-bearer',
      );
      // A payload rewritten to claim another user, keeping the original signature.
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, sub: '999' })).toString('base64url');
      assertError(
        await api.send('messages', conversationId, body, { token: `${header}.${forged}.${signature}` }),
        400,
        'invalid-bearer',
      );

      const user = (await running.app.directory.listUsers(acc)).find((u) => u.loginName === 'api')!;
      const expired = await running.app.sessions.issue({ kind: 'api', accountId: acc, subject: user.id }, -60);
      assertError(await api.send('messages', conversationId, body, { token: expired }), 400, 'expired-bearer');
      const agentToken = await running.app.sessions.issue({ kind: 'agent', accountId: acc, subject: user.id });
      assertError(await api.send('messages', conversationId, body, { token: agentToken }), 400, 'invalid-bearer');

      for (const action of ['transfer', 'close', 'sdes', 'ttr']) {
        assertError(await api.send(action, conversationId, {}, { token: expired }), 400, 'expired-bearer');
      }
      assert.equal(await eventCount(), before);
    });

    it('another account: its bearer gets 404 for this account’s conversation, and its own path does not find it either', async () => {
      const before = await eventCount();
      const otherBearer = await login(running.url, 'other', 'api');
      const foreign = publicApi(running.url, acc, otherBearer);
      for (const action of ['messages', 'transfer', 'close', 'sdes', 'ttr']) {
        assertError(await foreign.send(action, conversationId, { messages: ['x'] }), 404, 'not-found');
      }
      // Through its own account's path, this conversation does not exist.
      const ownPath = publicApi(running.url, 'other', otherBearer);
      assertError(await ownPath.send('messages', conversationId, { messages: ['x'] }), 404, 'not-found');
      assertError(await ownPath.send('close', conversationId), 404, 'not-found');
      assert.equal(await eventCount(), before);
      assert.equal((await conversationOf(running.url, acc, conversationId)).status, 'OPEN');
    });

    it('an unknown conversation is 404; a closed one 400', async () => {
      assertError(
        await api.send('messages', 'no-such-conversation', { messages: ['x'] }),
        404,
        'not-found',
        'no-such-conversation',
      );
      const { conversationId: id } = await openConversation(running.url, acc, { skill: 'sales' });
      assert.equal((await api.run('close', id)).status, 'done');
      for (const action of ['messages', 'transfer', 'close', 'sdes', 'ttr']) {
        const body = {
          messages: ['x'],
          skill: 'sales',
          ttrType: 'URGENT',
          sdes: [{ type: 'personal' }],
          sharkVisitorId: 'v',
          sharkSessionId: 's',
        };
        const res = await api.send(action, id, action === 'close' ? {} : pick(body, action));
        assertError(res, 400, 'conversation-closed');
      }
    });

    it('jobs: unknown or foreign job ids are 404, bearer problems 400', async () => {
      const { jobId } = (await api.send('ttr', conversationId, { ttrType: 'NORMAL' })).body;
      assert.equal((await api.settled(jobId)).status, 'done');
      assertError(await api.job('00000000-0000-0000-0000-000000000000'), 404, 'not-found');
      const otherBearer = await login(running.url, 'other', 'api');
      assertError(await api.job(jobId, otherBearer), 404, 'not-found');
      const ownPath = await client(running.url, { token: otherBearer }).get(`/api/v1/account/other/jobs/${jobId}`);
      assertError(ownPath, 404, 'not-found');
      assertError(await api.job(jobId, 'garbage'), 400, 'invalid-bearer');
      assertError(await client(running.url).get(`/api/v1/account/${acc}/jobs/${jobId}`), 400, 'missing-bearer');
    });
  });
}

function pick(body: Record<string, unknown>, action: string): Record<string, unknown> {
  const fields: Record<string, string[]> = {
    messages: ['messages'],
    transfer: ['skill'],
    sdes: ['sdes', 'sharkVisitorId', 'sharkSessionId'],
    ttr: ['ttrType'],
  };
  return Object.fromEntries(fields[action].map((k) => [k, body[k]]));
}
