import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import {
  assertError,
  conversationOf,
  login,
  openConversation,
  publicApi,
  setUpAccount,
  type PublicApi,
} from '../public-api/support.js';

/**
 * Deep and large JSON from outside: refused with a 400 naming the limit, before anything
 * recursive walks it, while the process keeps answering. Structured content nested a dozen
 * verticals deep used to hold the event loop for minutes; 10,000 levels overflowed the stack.
 */

/** `levels` verticals around one text, as JSON text (so no JSON.stringify recursion in the test). */
function nestedVerticalsJson(levels: number): string {
  return `${'{"type":"vertical","elements":['.repeat(levels)}{"type":"text","text":"x"}${']}'.repeat(levels)}`;
}

/** `levels` arrays inside one another, inside `{"a": …}`. */
function deepBody(levels: number): string {
  return `{"a":${'['.repeat(levels)}${']'.repeat(levels)}}`;
}

for (const kind of STORES) {
  describe(`JSON past the limits is refused early and cheaply (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let http: Client;
    let api: PublicApi;
    let conversationId: string;
    let consumerToken: string;
    let bearer: string;
    const acc = 'limits';

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      http = client(running.url);
      await setUpAccount(running.url, { acc, skills: ['sales'], users: ['api'] });
      bearer = await login(running.url, acc, 'api');
      api = publicApi(running.url, acc, bearer);
      ({ conversationId, consumerToken } = await openConversation(running.url, acc, { skill: 'sales' }));
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    const eventCount = async () => (await conversationOf(running.url, acc, conversationId)).events.length;

    /** The time /healthz takes to answer while `requests` are on their way. */
    async function healthzDuring<T>(requests: Promise<T>[]): Promise<{ ms: number; replies: T[] }> {
      const start = performance.now();
      const health = await http.get('/healthz');
      const ms = performance.now() - start;
      assert.equal(health.status, 200);
      return { ms, replies: await Promise.all(requests) };
    }

    it('Public API: structured content nested 12, 100 and 10,000 deep or holding 1 MB is a 400, and /healthz answers meanwhile', async () => {
      const before = await eventCount();
      const messages = (content: string) => `{"messages":[{"structuredContent":${content}}]}`;
      const cases: [string, string, string][] = [
        // 12 verticals fit the body's 64 levels, but not structured content's 24.
        ['12 levels', messages(nestedVerticalsJson(12)), 'content-over-limit'],
        ['100 levels', messages(nestedVerticalsJson(100)), 'json-too-deep'],
        ['10,000 levels', messages(nestedVerticalsJson(10_000)), 'json-too-deep'],
        [
          'a 1 MB string',
          messages(JSON.stringify({ type: 'text', text: 'x'.repeat(1_000_000) })),
          'content-over-limit',
        ],
      ];
      // Several of each at once: any one of them holding the event loop would hold /healthz too.
      const sent = cases.flatMap(([what, body, code]) =>
        Array.from({ length: 3 }, () =>
          api.sendRaw('messages', conversationId, body).then((res) => ({ what, code, res })),
        ),
      );
      const { ms, replies } = await healthzDuring(sent);
      assert.ok(ms < 1000, `/healthz took ${ms} ms`);
      for (const { what, code, res } of replies) {
        assertError(res, 400, code);
        assert.ok(
          res.body.error.message.length < 1000,
          `${what}: ${res.body.error.message.length} characters of message`,
        );
      }
      const [twelve] = replies;
      assert.equal(
        twelve!.res.body.error.message,
        `messages[0].structuredContent: ${'/elements/0'.repeat(12)} is nested deeper than 24 levels of objects and arrays, the most structured content may have`,
      );
      const huge = replies.find((r) => r.what === 'a 1 MB string')!;
      assert.match(
        huge.res.body.error.message,
        /^messages\[0\]\.structuredContent: \/text is past the limit of 262144 characters of JSON/,
      );
      assert.equal(await eventCount(), before, 'nothing refused reaches the conversation');
    });

    it('Public API: quick replies past the limits are a 400 as well; content within them still goes through', async () => {
      const deepButton = JSON.parse(`{"type":"button","title":"x","click":{"metadata":[${nestedVerticalsJson(12)}]}}`);
      const quickReplies = { type: 'quickReplies', replies: [deepButton] };
      assertError(
        await api.send('messages', conversationId, {
          messages: [{ structuredContent: { quickReplies, message: 'pick' } }],
        }),
        400,
        'content-over-limit',
        'quickReplies',
      );
      const job = await api.run('messages', conversationId, {
        messages: [{ structuredContent: JSON.parse(nestedVerticalsJson(11)) }],
      });
      assert.equal(job.status, 'done', JSON.stringify(job));
    });

    it('consumer: rich content past the limits is a 400 content-over-limit, and is not stored', async () => {
      const before = await eventCount();
      const messages = `/api/account/${acc}/consumer/conversations/${conversationId}/messages`;
      const send = (raw: string) =>
        http.call('POST', messages, undefined, {
          token: consumerToken,
          raw,
          headers: { 'content-type': 'application/json' },
        });
      assertError(
        await send(`{"content":${nestedVerticalsJson(12)}}`),
        400,
        'content-over-limit',
        `content${'/elements/0'.repeat(12)} is nested deeper than 24 levels`,
      );
      assertError(
        await send(JSON.stringify({ content: { type: 'text', text: 'x'.repeat(300_000) } })),
        400,
        'content-over-limit',
        'content/text is past the limit of 262144 characters',
      );
      assertError(
        await send(JSON.stringify({ content: { items: Array.from({ length: 20_000 }, () => 1) } })),
        400,
        'content-over-limit',
        'past the limit of 10000 JSON values',
      );
      assert.equal(await eventCount(), before);
      const ok = await send(`{"content":${nestedVerticalsJson(11)}}`);
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
    });

    it('any route: a body nested 10,000 deep is a 400 json-too-deep, never a 5xx; 64 levels are still read', async () => {
      const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
      const json = { 'content-type': 'application/json' };
      const routes: [string, string, Record<string, string>][] = [
        ['POST', '/admin/v1/accounts', admin],
        ['POST', `/admin/v1/accounts/${acc}/skills`, admin],
        ['POST', `/api/account/${acc}/consumer/conversations`, json],
        [
          'POST',
          `/api/account/${acc}/consumer/conversations/${conversationId}/messages`,
          { ...json, authorization: `Bearer ${consumerToken}` },
        ],
        ['POST', `/api/account/${acc}/agent/login`, json],
        ['POST', `/api/account/${acc}/login?v=1.3`, json],
        ['POST', api.path(conversationId, 'messages'), { ...json, authorization: `Bearer ${bearer}` }],
        // Without a bearer: the body is refused before the caller is.
        ['PUT', api.path(conversationId, 'ttr'), json],
        // Even the not-found handler reads the body first.
        ['POST', '/no/such/route', json],
      ];
      for (const levels of [10_000, 100_000, 65]) {
        for (const [method, path, headers] of routes) {
          const res = await http.call(method, path, undefined, { raw: deepBody(levels - 1), headers });
          assert.ok(res.status < 500, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
          assertError(
            res,
            400,
            'json-too-deep',
            'request body is nested deeper than 64 levels of objects and arrays (at /a/0/0/0',
          );
        }
      }
      // 64 levels pass the parser and meet the route's own checks.
      const res = await http.call('POST', `/api/account/${acc}/login?v=1.3`, undefined, {
        raw: deepBody(63),
        headers: json,
      });
      assertError(res, 400, 'invalid-request');
    });
  });
}
