import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import { TestBot, reply, text, type Answer, type Received } from '../helpers/test-bot.js';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  answer,
  changeTtr,
  createCustomEndpointService,
  createRequestListener,
  createStructuredContentValidator,
  createTokenVerifier,
  delay,
  privateText,
  quickReplies,
  quickReply,
  structuredContent,
  text as sdkText,
} from '../../src/sdk/custom-endpoint/index.js';
import { closedPort } from '../helpers/net.js';
import { createBot } from '../helpers/connector.js';

/**
 * The conformance check against the demo bot (everything passes) and against services that each
 * break one rule: exactly that check does not pass, with the code that names the rule.
 */
for (const kind of STORES) {
  describe(`Conformance check of a Custom Endpoint service (${kind})`, () => {
    const acc = 'conform';
    let store: TestStore;
    let running: Running;
    let admin: Client;
    let app: { client_id: string; client_secret: string };
    const bots: TestBot[] = [];

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store);
      admin = client(running.url, { token: ADMIN_TOKEN });
      assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
      for (const name of ['bot', 'human'])
        assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name })).status, 201);
      app = (
        await admin.post(`/admin/v1/accounts/${acc}/apps`, { name: 'bot', scope: 'thirdpartybots.customendpoint.bot' })
      ).body;
    });
    after(async () => {
      for (const bot of bots) await bot.stop();
      await running?.close();
      await store?.dispose();
    });

    /** A bot pointed at `baseUrl`, checked; the report. */
    const check = async (baseUrl: string, botId: string, timeoutSeconds = 10) => {
      const id = await createBot(admin, acc, app, baseUrl, {
        name: `bot ${bots.length} ${botId}`,
        vendor: { botId, timeoutSeconds },
        settings: { escalation: { skill: 'human' } },
      });
      const report = await admin.post(`/admin/v1/accounts/${acc}/bots/${id}/conformance`);
      assert.equal(report.status, 200, JSON.stringify(report.body));
      return report.body as {
        checks: Array<{ id: string; outcome: string; code?: string; pointer?: string; explanation?: string }>;
        passed: number;
        failed: number;
        warnings: number;
      };
    };
    const notPassing = (report: Awaited<ReturnType<typeof check>>) =>
      report.checks.filter((c) => c.outcome !== 'pass').map((c) => ({ id: c.id, outcome: c.outcome, code: c.code }));

    /**
     * A service that keeps every rule: it verifies tokens like the demo bot (this account only),
     * keeps the conversations it was told about, answers 404 for others, and answers valid items.
     * `breaks` changes one thing.
     */
    const conforming = async (breaks: {
      audience?: 'any';
      token?: 'optional';
      answer?: (received: Received) => Answer;
      unknown?: 'answered';
      delayMs?: number;
    }) => {
      const verify = createTokenVerifier({
        jwksUrl: `${running.url}/sentinel/well-known/jwks`,
        accounts: breaks.audience === 'any' ? () => true : [acc],
      });
      const conversations = new Set<string>();
      const bot = await new TestBot().start();
      bots.push(bot);
      const guarded =
        (handler: (r: Received) => Answer) =>
        async (r: Received): Promise<Answer> => {
          if (!(breaks.token === 'optional' && !r.authorization)) {
            const verdict = await verify(r.authorization);
            if (!verdict.ok) return { status: verdict.status, json: { error: verdict.reason } };
          }
          const answer = handler(r);
          return breaks.delayMs ? { ...answer, delayMs: breaks.delayMs } : answer;
        };
      const idOf = (r: Received) => /\/conversations\/([^/]+)/.exec(r.path)?.[1] ?? '';
      bot.onEnvironments = guarded(() => ({ json: ['draft'] }));
      bot.onState = guarded(() => ({ json: { state: 'online', version: '1.0.0' } }));
      bot.onConversation = guarded((r) => {
        conversations.add(idOf(r));
        return { status: 201, json: {} };
      });
      bot.onEvent = guarded((r) => {
        if (!conversations.has(idOf(r)) && breaks.unknown !== 'answered') return { status: 404, json: {} };
        return breaks.answer?.(r) ?? reply(text('fine'));
      });
      return bot;
    };
    const saysHi = (r: Received) => (r.body as { data?: { message?: string } })?.data?.message === 'hi';

    it('the demo bot passes every check, the auth probes included', async () => {
      const report = await check(`${running.url}/demo-bot`, 'demo-bot');
      assert.deepEqual(notPassing(report), []);
      assert.equal(report.failed, 0);
      assert.equal(report.passed, report.checks.length);
      const ids = report.checks.map((c) => c.id).sort();
      for (const id of [
        'environments',
        'state',
        'create-conversation',
        'create-conversation-sdes',
        'start',
        'text',
        'rich-content',
        'file',
        'close',
        'unknown-conversation',
        'latency',
        'auth-no-token',
        'auth-other-account',
        'auth-other-issuer',
        'auth-wrong-scope',
        'auth-expired',
        'auth-unknown-key',
        'auth-alg-none',
      ])
        assert.ok(ids.includes(id), id);
    });

    it('examples/echo-bot.ts, the SDK’s example, passes every check', async () => {
      const port = await closedPort();
      const child = spawn(process.execPath, ['--import', 'tsx', 'examples/echo-bot.ts'], {
        env: { ...process.env, BOTBRIDGE_URL: running.url, ACCOUNT_ID: acc, PORT: String(port) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (chunk) => String(chunk).includes('listening') && resolve());
          child.once('exit', (code) => reject(new Error(`the echo bot exited (${code})`)));
        });
        assert.deepEqual(notPassing(await check(`http://127.0.0.1:${port}`, 'echo')), []);
      } finally {
        child.kill();
      }
    });

    it('a service answering with every SDK builder, metadata included, passes with no failure and no warning', async () => {
      const validator = createStructuredContentValidator();
      const metadata = [{ type: 'ExternalId', id: 'order-42' }];
      const service = createCustomEndpointService({
        verifyToken: createTokenVerifier({ jwksUrl: `${running.url}/sentinel/well-known/jwks`, accounts: [acc] }),
        handlers: {
          event: {
            // biome-ignore lint/correctness/noComponentHookFactories: START is an event type, not a component
            START: () => answer(sdkText('Hello', { metadata })),
            // biome-ignore lint/correctness/noComponentHookFactories: TEXT is an event type, not a component
            TEXT: () =>
              answer(
                { intents: [{ id: 'greeting', description: 'hello', confidenceScore: 0.9 }] },
                sdkText('Hi there', { metadata, encodedMetadata: 'ZXhhbXBsZQ==' }),
                privateText('a note for agents', { metadata }),
                delay(1, { typing: false }),
                structuredContent({ type: 'text', text: 'a card' }, { validator, metadata }),
                quickReplies('Pick one', [quickReply('yes'), quickReply('no')], { validator, metadata }),
                changeTtr('CUSTOM', 600),
              ),
            fallback: () => answer(sdkText('noted', { metadata })),
          },
        },
      });
      const server = createServer(createRequestListener(service));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const report = await check(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'sdk-builders');
        assert.deepEqual(notPassing(report), [], JSON.stringify(report.checks.filter((c) => c.outcome !== 'pass')));
        assert.equal(report.warnings, 0);
      } finally {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('a service that keeps every rule passes too (the test bots below break one each)', async () => {
      const bot = await conforming({});
      assert.deepEqual(notPassing(await check(bot.url, 'fine')), []);
    });

    const cases: Array<
      [string, Parameters<typeof conforming>[0], Array<{ id: string; outcome: string; code: string }>, number?]
    > = [
      [
        'accepts calls without a token',
        { token: 'optional' },
        [{ id: 'auth-no-token', outcome: 'fail', code: 'auth-not-enforced' }],
      ],
      [
        'accepts another account’s token',
        { audience: 'any' },
        [{ id: 'auth-other-account', outcome: 'fail', code: 'auth-not-enforced' }],
      ],
      [
        'sends metadata as an object (the contract file’s form, an erratum)',
        {
          answer: (r) =>
            saysHi(r) ? reply(text('hi', { metadata: { type: 'ExternalId', id: 'x' } })) : reply(text('fine')),
        },
        [{ id: 'text', outcome: 'warn', code: 'contract-erratum' }],
      ],
      [
        'invokes a function with a lambdaUuid that is not a UUID',
        {
          answer: (r) =>
            saysHi(r)
              ? reply(text('one moment'), {
                  type: 'ACTION',
                  data: { name: 'INVOKE_FUNCTION', parameters: { lambdaUuid: 'placeholder', payload: {} } },
                })
              : reply(text('fine')),
        },
        [{ id: 'text', outcome: 'fail', code: 'common-invalid-action-body' }],
      ],
      [
        'answers 200 for a conversation it never had',
        { unknown: 'answered' },
        [{ id: 'unknown-conversation', outcome: 'fail', code: 'unknown-conversation-accepted' }],
      ],
      [
        'answers with invalid structured content',
        {
          answer: (r) =>
            saysHi(r)
              ? reply({
                  type: 'STRUCTURED_CONTENT',
                  data: { structuredContent: { type: 'vertical', elements: [{ type: 'nonsense' }] } },
                })
              : reply(text('fine')),
        },
        [{ id: 'text', outcome: 'fail', code: 'common-invalid-structured-content-body' }],
      ],
      [
        'answers with JSON nested 100,000 levels deep',
        {
          answer: (r) =>
            saysHi(r)
              ? {
                  text: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
                  headers: { 'content-type': 'application/json' },
                }
              : reply(text('fine')),
        },
        [{ id: 'text', outcome: 'fail', code: 'vendor-response-too-deep' }],
      ],
      [
        'answers slowly (over half its timeout)',
        { delayMs: 700 },
        [{ id: 'latency', outcome: 'warn', code: 'slow-answer' }],
        1,
      ],
    ];
    for (const [what, breaks, expected, timeoutSeconds] of cases) {
      it(`a service that ${what}: exactly that check does not pass, with its code`, async () => {
        const bot = await conforming(breaks);
        const report = await check(bot.url, `breaks-${expected[0].id}`, timeoutSeconds);
        assert.deepEqual(
          notPassing(report),
          expected,
          JSON.stringify(report.checks.filter((c) => c.outcome !== 'pass')),
        );
        const finding = report.checks[0];
        assert.ok(finding.explanation, 'a finding says what is wrong');
      });
    }

    it('the check leaves nothing behind: no conversation in botbridge; an unknown bot is 404', async () => {
      const conversations = await running.app.store.db.selectFrom('conversations').select('id').execute();
      assert.deepEqual(
        conversations.filter((c) => c.id.startsWith('conformance-')),
        [],
      );
      const unknown = await admin.post(`/admin/v1/accounts/${acc}/bots/nope/conformance`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error.code, 'not-found');
    });
  });
}
