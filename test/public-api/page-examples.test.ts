import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { openWebSocket, type StreamReader } from '../helpers/stream.js';
import { PASSWORD, conversationOf, openConversation, publicApi, setUpAccount, type PublicApi } from './support.js';

/** The send-messages body of the page, exactly as written there. */
const PAGE_MESSAGES_BODY = {
  context: {
    intentId: 'testId',
    intentName: 'test',
    confidenceScore: 1,
  },
  messages: [
    'Hi i am text Message',
    {
      delay: 4,
      typing: true,
    },
    {
      structuredContent: {
        quickReplies: {
          type: 'quickReplies',
          itemsPerRow: 8,
          replies: [
            {
              type: 'button',
              tooltip: 'yes i do',
              title: 'yes',
              click: {
                actions: [
                  {
                    type: 'publishText',
                    text: 'yep',
                  },
                ],
              },
            },
            {
              type: 'button',
              tooltip: 'No!',
              title: 'No!',
              click: {
                actions: [
                  {
                    type: 'publishText',
                    text: 'No!',
                  },
                ],
                metadata: [
                  {
                    type: 'ExternalId',
                    id: 'No-4321',
                  },
                ],
              },
            },
          ],
        },
        message: 'Do you like bots?',
      },
      metadata: [
        {
          type: 'ExternalId',
          id: '1234566',
        },
      ],
      encodedMetadata: 'SGVsbG8gV29ybGQh',
    },
    {
      structuredContent: {
        type: 'vertical',
        elements: [
          {
            type: 'button',
            click: {
              actions: [
                {
                  text: 'Recommend me a movie, please',
                  type: 'publishText',
                },
              ],
            },
            title: 'Recommend a movie',
          },
        ],
      },
      metadata: [
        {
          type: 'ExternalId',
          id: '123-YES',
        },
      ],
      encodedMetadata: 'SGVsbG8gV29ybGQh',
    },
  ],
};

for (const kind of STORES) {
  describe(`Public API v1: every example of the page (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let api: PublicApi;
    let bearer: string;
    let apiUserId: string;
    let conversationId: string;
    let consumerToken: string;
    let stream: StreamReader | undefined;
    const acc = 'acme';

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      const ids = await setUpAccount(running.url, { acc, skills: ['sales', 'human_skill'], users: ['someusername'] });
      apiUserId = ids.someusername;
      ({ conversationId, consumerToken } = await openConversation(running.url, acc, {
        skill: 'sales',
        sdes: { unauthenticatedSdes: { ctmrinfo: { type: 'ctmrinfo', info: { customerId: 'c-7' } } } },
        visitor: { sharkVisitorId: 'v-original', sharkSessionId: 's-original' },
      }));
    });
    after(async () => {
      stream?.close();
      await running?.close();
      await store?.dispose();
    });

    it('login: POST /api/account/{accountId}/login?v=1.3 answers {bearer}', async () => {
      // The curl of the page: POST, Content-Type application/json, the body as a raw string.
      const res = await client(running.url).call('POST', `/api/account/${acc}/login?v=1.3`, undefined, {
        raw: `{\n    "username": "someusername",\n    "password": "${PASSWORD}"\n}`,
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(Object.keys(res.body), ['bearer']);
      bearer = res.body.bearer;
      const [header, payload, signature] = bearer.split('.');
      assert.ok(signature, 'a signed JWT');
      assert.equal(JSON.parse(Buffer.from(header, 'base64url').toString()).alg, 'HS256');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      assert.equal(claims.acc, acc);
      assert.equal(claims.sub, apiUserId);
      assert.equal(claims.exp - claims.iat, 3600);
      api = publicApi(running.url, acc, bearer);
    });

    it('send messages: the page’s full payload (PUT, as the request table says) is delivered in order', async () => {
      stream = await openWebSocket(
        `${running.url}/api/account/${acc}/consumer/conversations/${conversationId}/stream`,
        consumerToken,
      );
      const job = await api.run('messages', conversationId, PAGE_MESSAGES_BODY, { method: 'PUT' });
      assert.deepEqual(job, { jobId: job.jobId, action: 'messages', conversationId, status: 'done' });

      const conversation = await conversationOf(running.url, acc, conversationId);
      const messages = conversation.events.filter((e: any) => e.type === 'TEXT' || e.type === 'RICH_CONTENT');
      assert.equal(messages.length, 3);
      const [text, quickReplies, card] = messages;
      const context = PAGE_MESSAGES_BODY.context;
      // No bot holds the conversation, so the API user speaks, as an agent of the account.
      for (const m of messages) {
        assert.deepEqual(m.originator, { role: 'AGENT', userId: apiUserId });
        assert.deepEqual(m.context, context);
        assert.equal(m.audience, 'ALL');
      }
      assert.equal(text.type, 'TEXT');
      assert.equal(text.text, 'Hi i am text Message');
      assert.equal(text.metadata, undefined);

      const asSent = PAGE_MESSAGES_BODY.messages[2] as any;
      assert.equal(quickReplies.type, 'TEXT');
      assert.equal(quickReplies.text, 'Do you like bots?');
      assert.deepEqual(quickReplies.quickReplies, asSent.structuredContent.quickReplies);
      assert.deepEqual(quickReplies.metadata, [{ type: 'ExternalId', id: '1234566' }]);
      assert.equal(quickReplies.encodedMetadata, 'SGVsbG8gV29ybGQh');

      const vertical = PAGE_MESSAGES_BODY.messages[3] as any;
      assert.equal(card.type, 'RICH_CONTENT');
      assert.deepEqual(card.content, vertical.structuredContent);
      assert.deepEqual(card.metadata, [{ type: 'ExternalId', id: '123-YES' }]);
      assert.equal(card.encodedMetadata, 'SGVsbG8gV29ybGQh');
      assert.ok(text.sequence < quickReplies.sequence && quickReplies.sequence < card.sequence);

      // The pause: the consumer saw the typing indicator on, then off, between the first two messages.
      const seen = stream.messages
        .filter(
          (m) =>
            (m.kind === 'event' && (m.event.type === 'TEXT' || m.event.type === 'RICH_CONTENT')) || m.kind === 'typing',
        )
        .map((m) => (m.kind === 'typing' ? `typing:${m.typing}` : m.event.type));
      assert.deepEqual(seen, ['TEXT', 'typing:true', 'typing:false', 'TEXT', 'RICH_CONTENT']);
    });

    it('send messages: the curl example (POST, two texts with context)', async () => {
      const res = await api.sendRaw(
        'messages',
        conversationId,
        `{
  "context": {
    "intentId": "testId",
    "intentName": "test",
    "confidenceScore": 1
  },
  "messages": [
    "Hi i am a text message",
    "I am second message"
  ]
}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(Object.keys(res.body), ['jobId']);
      assert.equal((await api.settled(res.body.jobId)).status, 'done');
      const { events } = await conversationOf(running.url, acc, conversationId);
      const lastTwo = events.filter((e: any) => e.type === 'TEXT').slice(-2);
      assert.deepEqual(
        lastTwo.map((e: any) => [e.text, e.context]),
        [
          ['Hi i am a text message', { intentId: 'testId', intentName: 'test', confidenceScore: 1 }],
          ['I am second message', { intentId: 'testId', intentName: 'test', confidenceScore: 1 }],
        ],
      );
    });

    it('transfer: the curl example moves the conversation to human_skill', async () => {
      const res = await api.sendRaw('transfer', conversationId, `{\n  "skill": "human_skill"\n}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await api.settled(res.body.jobId)).status, 'done');
      const conversation = await conversationOf(running.url, acc, conversationId);
      assert.equal(conversation.skill.name, 'human_skill');
      const transfer = conversation.events.at(-1);
      assert.equal(transfer.type, 'TRANSFER');
      assert.equal(transfer.skill.name, 'human_skill');
    });

    it('set SDES: the curl example merges the personal SDE and records the visitor', async () => {
      const res = await api.sendRaw(
        'sdes',
        conversationId,
        `{
    "sdes": [
        {
            "type": "personal",
            "personal": {
                "firstname": "Muster",
                "lastname": "Mann",
                "gender": "MALE"
            }
        }
    ],
    "sharkVisitorId": "M0NG1231432YjgzZDcyN2U3",
    "sharkSessionId": "tx8LMk34242344yBHgrZ2qg"
}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await api.settled(res.body.jobId)).status, 'done');
      const conversation = await conversationOf(running.url, acc, conversationId);
      assert.deepEqual(conversation.sdes.unauthenticatedSdes, {
        ctmrinfo: { type: 'ctmrinfo', info: { customerId: 'c-7' } },
        personal: { type: 'personal', personal: { firstname: 'Muster', lastname: 'Mann', gender: 'MALE' } },
      });
      assert.equal(conversation.visitor.sharkVisitorId, 'M0NG1231432YjgzZDcyN2U3');
      assert.equal(conversation.visitor.sharkSessionId, 'tx8LMk34242344yBHgrZ2qg');
      assert.equal(conversation.events.at(-1).type, 'SDES');

      // Agents see them: an agent of the skill it now waits on reads the conversation.
      const admin = client(running.url, { token: ADMIN_TOKEN });
      await admin.post(`/admin/v1/accounts/${acc}/users`, {
        loginName: 'agent',
        password: PASSWORD,
        userType: 'HUMAN',
        skills: ['human_skill'],
      });
      const agentLogin = await client(running.url).post(`/api/account/${acc}/agent/login`, {
        username: 'agent',
        password: PASSWORD,
      });
      const agentView = await client(running.url, { token: agentLogin.body.token }).get(
        `/api/account/${acc}/agent/conversations/${conversationId}`,
      );
      assert.equal(agentView.status, 200);
      assert.deepEqual(agentView.body.sdes.unauthenticatedSdes.personal, {
        type: 'personal',
        personal: { firstname: 'Muster', lastname: 'Mann', gender: 'MALE' },
      });
    });

    it('set TTR: the curl example (URGENT), then the CUSTOM body with value "10"', async () => {
      const urgent = await api.sendRaw('ttr', conversationId, `{\n\t"ttrType": "URGENT"\n}`);
      assert.equal(urgent.status, 200, JSON.stringify(urgent.body));
      assert.equal((await api.settled(urgent.body.jobId)).status, 'done');
      assert.deepEqual((await conversationOf(running.url, acc, conversationId)).ttr, { ttrType: 'URGENT' });

      const custom = await api.sendRaw('ttr', conversationId, `{\n  "ttrType": "CUSTOM",\n  "value": "10"\n}`);
      assert.equal(custom.status, 200, JSON.stringify(custom.body));
      assert.equal((await api.settled(custom.body.jobId)).status, 'done');
      const conversation = await conversationOf(running.url, acc, conversationId);
      assert.deepEqual(conversation.ttr, { ttrType: 'CUSTOM', value: 10 });
      assert.deepEqual(
        conversation.events.filter((e: any) => e.type === 'TTR').map((e: any) => e.ttr),
        [{ ttrType: 'URGENT' }, { ttrType: 'CUSTOM', value: 10 }],
      );
    });

    it("close: the curl example (-d '{}') ends the conversation", async () => {
      const res = await api.sendRaw('close', conversationId, '{}');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal((await api.settled(res.body.jobId)).status, 'done');
      const conversation = await conversationOf(running.url, acc, conversationId);
      assert.equal(conversation.status, 'CLOSED');
      assert.equal(conversation.closeReason, 'API');
      assert.equal(conversation.events.at(-1).type, 'CLOSE');
      await stream!.waitFor((m) => m.kind === 'event' && m.event.type === 'CLOSE', 'close on the consumer stream');
    });

    it('close takes no body at all, or an empty one; PUT works like POST', async () => {
      const a = await openConversation(running.url, acc, { skill: 'sales' });
      const b = await openConversation(running.url, acc, { skill: 'sales' });
      const c = await openConversation(running.url, acc, { skill: 'sales' });
      const noBody = await api.http.call('POST', api.path(a.conversationId, 'close'));
      const empty = await api.sendRaw('close', b.conversationId, '');
      const put = await api.send('close', c.conversationId, undefined, { method: 'PUT' });
      for (const [res, id] of [
        [noBody, a.conversationId],
        [empty, b.conversationId],
        [put, c.conversationId],
      ] as const) {
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.equal((await api.settled(res.body.jobId)).status, 'done');
        assert.equal((await conversationOf(running.url, acc, id)).status, 'CLOSED');
      }
    });

    it('the Public API is in /openapi.json', async () => {
      const doc = (await client(running.url).get('/openapi.json')).body;
      for (const action of ['messages', 'transfer', 'close', 'sdes', 'ttr']) {
        const path = doc.paths[`/api/v1/account/{accountId}/conversation/{conversationId}/${action}`];
        assert.ok(path, `${action} is documented`);
        for (const method of ['put', 'post']) {
          assert.deepEqual(path[method].tags, ['public-api']);
          assert.ok(path[method].summary);
          assert.ok(path[method].parameters.some((p: any) => p.in === 'query' && p.name === 'ttl'));
          assert.ok(path[method].parameters.some((p: any) => p.in === 'path' && p.name === 'conversationId'));
        }
      }
      assert.ok(doc.paths['/api/v1/account/{accountId}/conversation/{conversationId}/messages'].post.requestBody);
      assert.deepEqual(doc.paths['/api/account/{accountId}/login'].post.tags, ['public-api']);
      assert.ok(
        doc.paths['/api/account/{accountId}/login'].post.parameters.some(
          (p: any) => p.in === 'query' && p.name === 'v',
        ),
      );
      assert.deepEqual(doc.paths['/api/v1/account/{accountId}/jobs/{jobId}'].get.tags, ['public-api']);
    });
  });
}
