import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Running } from '../helpers/app.js';
import { eventually, openConversation, setupBot, waitForConversation } from '../helpers/connector.js';
import { TestBot } from '../helpers/test-bot.js';
import { tracingConfigFromEnv } from '../../src/ops/tracing.js';
import { login, openConversation as openOnSkill, publicApi, setUpAccount } from '../public-api/support.js';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  service: string;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; arrayValue?: unknown };
type OtlpAttribute = { key: string; value: OtlpValue };

/** An OTLP/HTTP (JSON) receiver: every span exported to POST /v1/traces, and every body as sent. */
class Receiver {
  readonly spans: ExportedSpan[] = [];
  readonly bodies: string[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/v1/traces') {
          res.statusCode = 404;
          res.end();
          return;
        }
        const raw = Buffer.concat(chunks);
        const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        this.bodies.push(text);
        const sent = JSON.parse(text) as {
          resourceSpans: Array<{
            resource?: { attributes?: OtlpAttribute[] };
            scopeSpans: Array<{
              spans: Array<Omit<ExportedSpan, 'attributes' | 'service'> & { attributes?: OtlpAttribute[] }>;
            }>;
          }>;
        };
        for (const rs of sent.resourceSpans) {
          const service = String(otlpValue(rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value));
          for (const ss of rs.scopeSpans)
            for (const span of ss.spans)
              this.spans.push({
                ...span,
                service,
                attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, otlpValue(a.value)])),
              });
        }
        res.setHeader('content-type', 'application/json');
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function otlpValue(value: OtlpValue | undefined): unknown {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.boolValue !== undefined) return value.boolValue;
  return value.arrayValue ?? value;
}

/** traceparent: version-traceid-parentid-flags. */
function parseTraceparent(header: unknown): { traceId: string; parentId: string } | undefined {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(String(header ?? ''));
  return m ? { traceId: m[1], parentId: m[2] } : undefined;
}

describe('tracing settings', () => {
  it('are off without an OTLP endpoint, and read the standard variables', () => {
    assert.equal(tracingConfigFromEnv({}), undefined);
    assert.equal(tracingConfigFromEnv({ OTEL_SERVICE_NAME: 'x' }), undefined);
    assert.deepEqual(tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), {
      endpoint: 'http://collector:4318/v1/traces',
      serviceName: 'botbridge',
    });
    assert.deepEqual(
      tracingConfigFromEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9000/in',
        OTEL_SERVICE_NAME: 'bridge-eu',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-key=a%20b,other=c',
      }),
      { endpoint: 'http://traces:9000/in', serviceName: 'bridge-eu', headers: { 'x-key': 'a b', other: 'c' } },
    );
    assert.equal(
      tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }),
      undefined,
    );
    assert.throws(() => tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' }), /must be a URL/);
  });
});

for (const kind of STORES) {
  describe(`OpenTelemetry tracing (${kind})`, () => {
    let receiver: Receiver;
    let traced: { store: TestStore; running: Running; bot: TestBot };
    let plain: { store: TestStore; running: Running; bot: TestBot };

    before(async () => {
      receiver = await new Receiver().start();
      const start = async (tracing: boolean) => {
        const store = await freshStore(kind);
        const running = await startApp(
          store,
          tracing
            ? {
                logLevel: 'warn',
                tracing: { endpoint: `${receiver.url}/v1/traces`, serviceName: 'bridge-test', scheduleDelayMs: 50 },
              }
            : { logLevel: 'warn' },
        );
        const bot = await new TestBot().start();
        return { store, running, bot };
      };
      traced = await start(true);
      plain = await start(false);
    });
    after(async () => {
      for (const side of [traced, plain]) {
        await side?.running.close();
        await side?.bot.stop();
        await side?.store.dispose();
      }
      await receiver?.stop();
    });

    it('exports one message’s spans in one trace, whose traceparent the bot’s request carries', async () => {
      const { running, bot } = traced;
      const admin = client(running.url, { token: ADMIN_TOKEN });
      const { acc, botId } = await setupBot(running, bot.url);
      const conversation = await openConversation(running, acc);
      const words = `the consumer’s own words ${Math.random().toString(36).slice(2)}`;
      await conversation.say(words);
      await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => c.events.some((e: any) => e.text === `echo: ${words}`),
        'the bot answered',
      );
      const asked = bot.events(conversation.id).find((r) => r.body?.data?.message === words);
      assert.ok(asked, 'the bot got the message');
      const sent = parseTraceparent(asked.headers.traceparent);
      assert.ok(sent, `the bot's request carries a traceparent: ${asked.headers.traceparent}`);

      const inTrace = (name: string) =>
        receiver.spans.filter((s) => s.traceId === sent.traceId && s.name === name && s.service === 'bridge-test');
      await eventually(
        async () => receiver.spans.length,
        () =>
          ['consumer message', 'bot exchange', 'custom endpoint call', 'answer delivered'].every(
            (n) => inTrace(n).length,
          ),
        'the message’s spans were exported',
      );
      const [message] = inTrace('consumer message');
      assert.equal(message.attributes['botbridge.conversation_id'], conversation.id);
      assert.equal(message.attributes['botbridge.account'], acc);
      const [exchange] = inTrace('bot exchange');
      assert.equal(exchange.parentSpanId, message.spanId, 'the exchange continues the message');
      assert.equal(exchange.attributes['botbridge.bot_id'], botId);
      assert.equal(exchange.attributes['botbridge.outcome'], 'PROCESSED');
      const call = inTrace('custom endpoint call').find((s) => s.spanId === sent.parentId);
      assert.ok(call, 'the traceparent names the call’s span');
      assert.equal(call.parentSpanId, exchange.spanId);
      assert.equal(call.attributes['http.request.method'], 'POST');
      assert.equal(call.attributes['http.response.status_code'], 200);
      const [delivered] = inTrace('answer delivered');
      assert.equal(delivered.parentSpanId, exchange.spanId);

      // Nothing the consumer wrote, and no token, is in any span.
      for (const body of receiver.bodies) {
        assert.ok(!body.includes(words), 'no span holds the message’s text');
        assert.ok(!body.includes(conversation.token), 'no span holds the consumer’s token');
        assert.ok(!body.includes(ADMIN_TOKEN));
      }
      for (const r of bot.received)
        if (r.authorization)
          assert.ok(
            !receiver.bodies.some((b) => b.includes(r.authorization!.slice(7))),
            'no span holds the bot’s token',
          );
    });

    it('exports a Public API job’s span: its action and ids, how it ended, not its text', async () => {
      const { running } = traced;
      const acc = `jobs${Math.random().toString(36).slice(2, 8)}`;
      await setUpAccount(running.url, { acc, skills: ['sales'], users: ['api'] });
      const api = publicApi(running.url, acc, await login(running.url, acc, 'api'));
      const { conversationId } = await openOnSkill(running.url, acc, { skill: 'sales' });
      const words = `sent through the api ${Math.random().toString(36).slice(2)}`;
      // The caller's own trace: the request's span continues it, and the job's run (later, on any
      // instance) is that span's child through the context the job keeps.
      const callerTrace = randomBytes(16).toString('hex');
      const callerSpan = randomBytes(8).toString('hex');
      const sent = await api.sendRaw('messages', conversationId, JSON.stringify({ messages: [words] }), {
        'content-type': 'application/json',
        traceparent: `00-${callerTrace}-${callerSpan}-01`,
      });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      const job = await api.settled(sent.body.jobId);
      assert.equal(job.status, 'done');
      const span = await eventually(
        async () =>
          receiver.spans.find((s) => s.name === 'public api job' && s.attributes['botbridge.job_id'] === job.jobId),
        (found) => found !== undefined,
        'the job’s span was exported',
      );
      assert.equal(span!.attributes['botbridge.action'], 'messages');
      assert.equal(span!.attributes['botbridge.conversation_id'], conversationId);
      assert.equal(span!.attributes['botbridge.outcome'], 'done');
      const request = receiver.spans.find(
        (s) => s.name === 'public api request' && s.attributes['botbridge.job_id'] === job.jobId,
      );
      assert.ok(
        request,
        `the request’s span was exported with the job’s: ${JSON.stringify(receiver.spans.map((s) => s.name))}`,
      );
      assert.equal(request.traceId, callerTrace);
      assert.equal(request.parentSpanId, callerSpan);
      assert.equal(span!.traceId, callerTrace);
      assert.equal(span!.parentSpanId, request.spanId);
      for (const body of receiver.bodies) assert.ok(!body.includes(words), 'no span holds the job’s text');
    });

    it('sends no traceparent when tracing is off', async () => {
      const { running, bot } = plain;
      const admin = client(running.url, { token: ADMIN_TOKEN });
      const { acc } = await setupBot(running, bot.url);
      const conversation = await openConversation(running, acc);
      await conversation.say('hello');
      await waitForConversation(
        admin,
        acc,
        conversation.id,
        (c) => c.events.some((e: any) => e.text === 'echo: hello'),
        'the bot answered',
      );
      assert.ok(bot.received.length > 0);
      for (const r of bot.received) assert.equal(r.headers.traceparent, undefined, `${r.method} ${r.path}`);
    });
  });
}
