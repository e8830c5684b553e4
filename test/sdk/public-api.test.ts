import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import {
  LIVEPERSON_API_DOMAINS,
  PublicApiBadRequestError,
  PublicApiCredentialsError,
  PublicApiNotFoundError,
  PublicApiRateLimitError,
  PublicApiResponseError,
  PublicApiServerError,
  PublicApiUnreachableError,
  apiDomainFor,
  createPublicApiClient,
  type PublicApiClient,
} from '../../src/sdk/custom-endpoint/index.js';
import { startApp, type Running } from '../helpers/app.js';
import { closedPort } from '../helpers/net.js';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { PASSWORD, conversationOf, openConversation, setUpAccount } from '../public-api/support.js';

describe('Public API client: the API domain of a botConnectorsDomain', () => {
  it('maps LivePerson’s zones by the page’s table, anything else as it is with the lookup’s scheme', () => {
    assert.equal(apiDomainFor('z1.bot-connectors.liveperson.net'), 'https://bot-platform-api.fs.liveperson.com');
    assert.equal(apiDomainFor('z2.bot-connectors.liveperson.net'), 'https://bot-platform-api.emea.fs.liveperson.com');
    assert.equal(apiDomainFor('Z3.Bot-Connectors.LivePerson.net'), 'https://bot-platform-api.apac.fs.liveperson.com');
    assert.equal(Object.keys(LIVEPERSON_API_DOMAINS).length, 3);
    assert.equal(apiDomainFor('127.0.0.1:8080', 'http:'), 'http://127.0.0.1:8080');
    assert.equal(apiDomainFor('bots.example.com', 'https:'), 'https://bots.example.com');
    assert.equal(apiDomainFor('https://bots.example.com:8443/'), 'https://bots.example.com:8443');
    assert.throws(() => apiDomainFor('not a host'), /not a host/);
  });

  it('refuses a ttl outside 10-120 seconds before any request', async () => {
    const client = createPublicApiClient({
      accountId: 'acme',
      username: 'api',
      password: PASSWORD,
      apiDomain: 'http://127.0.0.1:9',
    });
    for (const ttl of [9, 121, 10.5, Number.NaN])
      await assert.rejects(client.close('c1', { ttl }), RangeError, `ttl ${ttl}`);
    await client.dispose();
  });
});

for (const kind of STORES) {
  describe(`Public API client against a botbridge server (${kind})`, () => {
    let store: TestStore;
    let running: Running;
    let userIds: Record<string, string>;
    let api: PublicApiClient;
    const acc = 'acme';
    const clients: PublicApiClient[] = [];
    const clientFor = (options: Partial<Parameters<typeof createPublicApiClient>[0]> = {}) => {
      const client = createPublicApiClient({
        accountId: acc,
        username: 'api',
        password: PASSWORD,
        domainLookup: running.url,
        ...options,
      });
      clients.push(client);
      return client;
    };

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      userIds = await setUpAccount(running.url, { acc, skills: ['sales', 'human_skill'], users: ['api', 'locked'] });
      api = clientFor();
    });
    after(async () => {
      for (const client of clients) await client.dispose();
      await running?.close();
      await store?.dispose();
    });

    it('finds the API domain through the domain lookup, and logs in', async () => {
      assert.equal(await api.apiDomain(), new URL(running.url).origin);
      const bearer = await api.bearer();
      assert.match(bearer, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      assert.equal(await api.bearer(), bearer, 'the bearer is kept while it lasts');
      await assert.rejects(
        clientFor({ accountId: 'nobody' }).apiDomain(),
        (error) => error instanceof PublicApiNotFoundError && error.status === 404,
      );
    });

    it('each action is queued and done, in order: messages of every item kind, TTR, SDES, transfer, close', async () => {
      const { conversationId } = await openConversation(running.url, acc, { skill: 'sales' });
      const jobs = [
        await api.sendMessages(
          conversationId,
          {
            context: { intentId: 'testId', intentName: 'test', confidenceScore: 1 },
            messages: [
              'Hi i am text Message',
              { delay: 1, typing: true },
              {
                structuredContent: {
                  quickReplies: {
                    type: 'quickReplies',
                    itemsPerRow: 8,
                    replies: [
                      { type: 'button', title: 'yes', click: { actions: [{ type: 'publishText', text: 'yep' }] } },
                    ],
                  },
                  message: 'Do you like bots?',
                },
                metadata: [{ type: 'ExternalId', id: '1234566' }],
                encodedMetadata: 'SGVsbG8gV29ybGQh',
              },
              {
                structuredContent: { type: 'vertical', elements: [{ type: 'text', text: 'a card' }] },
                metadata: [{ type: 'ExternalId', id: '123-YES' }],
              },
            ],
          },
          { ttl: 60 },
        ),
        await api.setTtr(conversationId, { ttrType: 'CUSTOM', value: '10' }),
        await api.setSdes(conversationId, {
          sdes: [{ type: 'personal', personal: { firstname: 'Muster', lastname: 'Mann', gender: 'MALE' } }],
          sharkVisitorId: 'M0NG1231432YjgzZDcyN2U3',
          sharkSessionId: 'tx8LMk34242344yBHgrZ2qg',
        }),
        await api.transfer(conversationId, 'human_skill', { ttl: 10 }),
        await api.close(conversationId, { ttl: 120 }),
      ];
      for (const { jobId } of jobs) {
        const settled = await api.waitForJob(jobId, { timeoutMs: 20_000, intervalMs: 50 });
        assert.equal(settled.status, 'done', JSON.stringify(settled));
        assert.equal(settled.conversationId, conversationId);
      }
      assert.deepEqual(
        (await Promise.all(jobs.map(({ jobId }) => api.job(jobId)))).map((job) => job.action),
        ['messages', 'ttr', 'sdes', 'transfer', 'close'],
      );
      const conversation = await conversationOf(running.url, acc, conversationId);
      const log = conversation.events
        .filter((e: any) => e.type !== 'ASSIGN')
        .map((e: any) => (e.type === 'TEXT' ? e.text : e.type));
      // Quick replies ride on their message's text; the card is rich content.
      assert.deepEqual(log, [
        'Hi i am text Message',
        'Do you like bots?',
        'RICH_CONTENT',
        'TTR',
        'SDES',
        'TRANSFER',
        'CLOSE',
      ]);
      const quick = conversation.events.find((e: any) => e.text === 'Do you like bots?');
      assert.equal(quick.quickReplies?.replies?.[0]?.title, 'yes', JSON.stringify(quick));
      assert.equal(conversation.status, 'CLOSED');
    });

    it('an expired bearer is renewed: ahead of its expiry, and when the server refuses it', async () => {
      const expired = await running.app.sessions.issue({ kind: 'api', accountId: acc, subject: userIds.api }, -10);
      const { conversationId } = await openConversation(running.url, acc, { skill: 'sales' });

      // Its own clock says the kept bearer has expired: it logs in before the call.
      const ahead = clientFor({ bearer: expired });
      const first = await ahead.sendMessages(conversationId, { messages: ['renewed ahead'] });
      assert.notEqual(await ahead.bearer(), expired);

      // A clock an hour slow believes the bearer still good; the server's 400 expired-bearer makes it log in and send again.
      const slow = clientFor({ bearer: expired, now: () => Date.now() - 3_600_000 });
      assert.equal(await slow.bearer(), expired);
      const second = await slow.sendMessages(conversationId, { messages: ['renewed when refused'] });
      assert.notEqual(await slow.bearer(), expired);

      for (const { jobId } of [first, second])
        assert.equal((await api.waitForJob(jobId, { timeoutMs: 20_000, intervalMs: 50 })).status, 'done');
      const texts = (await conversationOf(running.url, acc, conversationId)).events
        .filter((e: any) => e.type === 'TEXT')
        .map((e: any) => e.text);
      assert.deepEqual(texts, ['renewed ahead', 'renewed when refused'], 'each sent once');
    });

    it('each refusal surfaces as its typed error with the server’s code', async () => {
      const { conversationId } = await openConversation(running.url, acc, { skill: 'sales' });
      await assert.rejects(
        api.transfer(conversationId, 'Human_Skill'),
        (error) =>
          error instanceof PublicApiBadRequestError &&
          error.name === 'PublicApiBadRequestError' &&
          error.status === 400 &&
          error.code === 'unknown-skill',
      );
      await assert.rejects(
        api.sendMessages(conversationId, { messages: [] }),
        (error) => error instanceof PublicApiBadRequestError && /messages/.test(error.message),
      );
      await assert.rejects(
        api.close('no-such-conversation'),
        (error) => error instanceof PublicApiNotFoundError && error.status === 404,
      );
      await assert.rejects(api.job('no-such-job'), PublicApiNotFoundError);
      const closed = await api.close(conversationId);
      assert.equal((await api.waitForJob(closed.jobId, { timeoutMs: 20_000, intervalMs: 50 })).status, 'done');
      await assert.rejects(
        api.sendMessages(conversationId, { messages: ['after the end'] }),
        (error) => error instanceof PublicApiBadRequestError && error.code === 'conversation-closed',
      );

      const wrong = clientFor({ username: 'locked', password: 'not the password' });
      await assert.rejects(
        wrong.login(),
        (error) =>
          error instanceof PublicApiCredentialsError && error.status === 401 && !/not the password/.test(error.message),
      );
      for (let i = 0; i < 5; i++) await wrong.login().catch(() => {});
      await assert.rejects(
        wrong.login(),
        (error) =>
          error instanceof PublicApiRateLimitError && error.status === 429 && (error.retryAfterSeconds ?? 0) > 0,
      );
    });

    it('a server failure is a PublicApiServerError, and a closed port a PublicApiUnreachableError', async () => {
      const { conversationId } = await openConversation(running.url, acc, { skill: 'sales' });
      // The real server, its jobs table gone for a moment: it cannot queue the action.
      await sql`alter table public_api_jobs rename to public_api_jobs_away`.execute(running.app.store.db);
      try {
        await assert.rejects(
          api.sendMessages(conversationId, { messages: ['lost?'] }),
          (error) => error instanceof PublicApiServerError && (error.status ?? 0) >= 500,
        );
      } finally {
        await sql`alter table public_api_jobs_away rename to public_api_jobs`.execute(running.app.store.db);
      }
      const again = await api.sendMessages(conversationId, { messages: ['back'] });
      assert.equal((await api.waitForJob(again.jobId, { timeoutMs: 20_000, intervalMs: 50 })).status, 'done');

      const port = await closedPort();
      await assert.rejects(
        clientFor({ apiDomain: `http://127.0.0.1:${port}`, timeoutMs: 2_000 }).login(),
        PublicApiUnreachableError,
      );
    });
  });
}

describe('Public API client against a server that names the token but gives no code (as LivePerson’s page has it)', () => {
  it('logs in again once on a 400 that names the token, not on another 400; sends nothing twice; bounds what it reads and waits', async () => {
    let logins = 0;
    const seen: string[] = [];
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url?.startsWith('/api/account/acme/login')) {
        logins += 1;
        // Opaque bearers: the client cannot read an expiry from them.
        return res.end(JSON.stringify({ bearer: `opaque-${logins}` }));
      }
      seen.push(`${req.headers.authorization} ${req.url}`);
      if (req.headers.authorization === 'Bearer opaque-1') {
        res.statusCode = 400;
        return res.end(JSON.stringify({ message: 'Invalid bearer token' }));
      }
      if (req.url?.includes('/transfer')) {
        res.statusCode = 400;
        return res.end(JSON.stringify({ message: 'Skill not found' }));
      }
      if (req.url?.includes('/sdes')) {
        res.statusCode = 500;
        return res.end(JSON.stringify({ message: 'Internal server error' }));
      }
      // An answer far past what the client reads: refused, not buffered.
      if (req.url?.includes('/ttr')) return res.end(JSON.stringify({ jobId: 'x'.repeat(200_000) }));
      // No answer at all: the client's timeout ends the wait.
      if (req.url?.includes('/messages')) return;
      res.end(JSON.stringify({ jobId: 'j1' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = createPublicApiClient({
      accountId: 'acme',
      username: 'api',
      password: PASSWORD,
      apiDomain: `http://127.0.0.1:${port}`,
      timeoutMs: 500,
    });
    try {
      assert.deepEqual(await client.close('c1'), { jobId: 'j1' });
      assert.equal(logins, 2);
      await assert.rejects(client.transfer('c1', 'nope'), PublicApiBadRequestError);
      assert.equal(logins, 2, 'a 400 about the request is not a reason to log in');
      // A 5xx may have queued the action: it is the caller's to send again, never the client's.
      await assert.rejects(
        client.setSdes('c1', { sdes: [], sharkVisitorId: 'v', sharkSessionId: 's' }),
        PublicApiServerError,
      );
      await assert.rejects(client.setTtr('c1', { ttrType: 'URGENT' }), PublicApiResponseError);
      await assert.rejects(client.sendMessages('c1', { messages: ['hello?'] }), PublicApiUnreachableError);
      assert.deepEqual(seen, [
        'Bearer opaque-1 /api/v1/account/acme/conversation/c1/close',
        'Bearer opaque-2 /api/v1/account/acme/conversation/c1/close',
        'Bearer opaque-2 /api/v1/account/acme/conversation/c1/transfer',
        'Bearer opaque-2 /api/v1/account/acme/conversation/c1/sdes',
        'Bearer opaque-2 /api/v1/account/acme/conversation/c1/ttr',
        'Bearer opaque-2 /api/v1/account/acme/conversation/c1/messages',
      ]);
    } finally {
      await client.dispose();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
