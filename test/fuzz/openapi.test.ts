import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Agent, type Dispatcher } from 'undici';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client } from '../helpers/app.js';
import { TestBot } from '../helpers/test-bot.js';
import { BOT_SCOPE, botTexts, waitForConversation } from '../helpers/connector.js';
import {
  describeRequest,
  inlineRefs,
  makeRequest,
  operationFor,
  operationsOf,
  type FuzzRequest,
  type Operation,
  type World,
} from './requests.js';

/**
 * A fuzz over every operation /openapi.json lists, against the real app on each store, seeded
 * with an account, users, bots, conversations, jobs and every kind of token (server.ts) so that
 * requests get past routing and authentication into the domain code. Requests are generated
 * from the schemas (requests.ts): valid-ish values, wrong types, missing and extra fields,
 * numbers at and past int32/int64 edges, odd unicode, malformed JSON, wrong content types,
 * bodies near and just over the 1 MiB limit, structured content and plain JSON nested up to
 * 10,000 deep, right tokens, tokens of the other account or of another kind, garbage.
 *
 * What must hold: no answer is a 5xx; every 4xx is `{error: {code, message}}`; /healthz, polled
 * throughout, always answers 200 within 1 s (a coarse liveness bound: a request that blocks the
 * event loop or holds the store shows here, and the requests in flight then are named); and
 * afterwards the server still does its job end to end.
 *
 * The app runs in a child process (server.ts, built by startApp like everywhere else): in this
 * process, a request that blocked its event loop would freeze the test too, with no word on
 * which request did it.
 *
 * Not fuzzed: the web console's static files and client routes (hidden from the document:
 * files, not an API). Stream routes (WebSocket/SSE) get a plain GET each, dropped once the
 * answer has started: an upgrade or an event stream has no body to generate.
 *
 * FUZZ_SEED and FUZZ_COUNT explore further by hand (FUZZ_REPORT=file lists every problem, not
 * only the first 40; FUZZ_TRACE=file every request and answer; FUZZ_ONLY=i sends request i
 * alone, on the freshly seeded state); the suite runs the fixed ones.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);
const COUNT = Number(process.env.FUZZ_COUNT ?? 2000);
const ONLY = process.env.FUZZ_ONLY === undefined ? undefined : Number(process.env.FUZZ_ONLY);
const INDICES = ONLY === undefined ? Array.from({ length: COUNT }, (_, i) => i) : [ONLY];
/** Requests in flight at once: enough to interleave work on the store, few enough for 2 cores. */
const CONCURRENCY = 4;
const HEALTH_BOUND_MS = 1000;
const HEALTH_EVERY_MS = 100;
/** /healthz silent this long: the server is stuck, and the fuzz stops rather than wait on it. */
const STALL_MS = 10_000;
/** No request may take longer; past it, it counts as a stall of its own. */
const REQUEST_TIMEOUT_MS = 20_000;

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Server {
  url: string;
  world: World;
  child: ChildProcess;
  /** The app's error log lines (JSON), as server.ts forwards them. */
  errors: string[];
  /** Whatever else the process wrote to stderr (a crash's stack), the last 4 KB of it. */
  stderrTail(): string;
  stop(): Promise<void>;
}

async function startServer(store: TestStore, botUrl: string): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./server.ts', import.meta.url))], {
    cwd: ROOT,
    env: {
      ...process.env,
      FUZZ_SERVER: JSON.stringify({ kind: store.kind, dataDir: store.dataDir, databaseUrl: store.databaseUrl, botUrl }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errors: string[] = [];
  let stderr = '';
  let other = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    const lines = stderr.split('\n');
    stderr = lines.pop()!;
    for (const line of lines) {
      if (line.startsWith('FUZZ_LOG ')) errors.push(line.slice('FUZZ_LOG '.length));
      else other = `${other}${line}\n`.slice(-4096);
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<{ url: string; world: World }>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const line = out.split('\n').find((l) => l.startsWith('FUZZ_READY '));
      if (line) resolve(JSON.parse(line.slice('FUZZ_READY '.length)));
    });
    void exited.then(() => reject(new Error(`the fuzz server exited before it was ready\n${out}\n${stderr}`)));
  });
  return {
    ...ready,
    child,
    errors,
    stderrTail: () => `${other}${stderr}`.slice(-4096),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      // A server stuck in a loop never gets to its SIGTERM handler.
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface Outcome {
  request: FuzzRequest;
  status?: number;
  body?: string;
  error?: string;
  requestId?: string;
  ms?: number;
}

async function send(dispatcher: Dispatcher, origin: string, request: FuzzRequest): Promise<Outcome> {
  try {
    const res = await dispatcher.request({
      origin,
      path: request.path,
      method: request.method as Dispatcher.HttpMethod,
      headers: request.headers,
      body: request.body,
      headersTimeout: REQUEST_TIMEOUT_MS,
      bodyTimeout: REQUEST_TIMEOUT_MS,
    });
    const requestId = String(res.headers['x-request-id'] ?? '');
    if (request.op.stream && res.statusCode < 300) {
      // An open event stream never ends: dropping it once it has started is all a client does here.
      res.body.destroy();
      return { request, status: res.statusCode, requestId };
    }
    return { request, status: res.statusCode, body: await res.body.text(), requestId };
  } catch (error) {
    return {
      request,
      error:
        error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error),
    };
  }
}

/**
 * The routes that ask the bot service while the request waits. When the bot service fails (the
 * fuzz points some at a closed loopback port) they answer 502 with a `vendor-*` code, as a
 * gateway does: that is the contract (bot-admin.test.ts), not a fault of this server.
 */
const GATEWAY_ROUTES = new Set([
  '/admin/v1/accounts/{acc}/bots/{id}/environments',
  '/admin/v1/accounts/{acc}/vendor/environments',
]);

/** Why an outcome breaks the contract, or undefined when it keeps it. */
function problemOf(outcome: Outcome): string | undefined {
  const { status, body, error, request } = outcome;
  if (error !== undefined) {
    // Past the limit the server may answer before reading the body and close: the client then
    // fails writing the rest. That is a refusal, not a failure.
    if (request.overLimit && /EPIPE|ECONNRESET|UND_ERR_SOCKET|other side closed/i.test(error)) return undefined;
    return `no answer (${error})`;
  }
  if (status === undefined) return 'no status';
  if (status === 502 && GATEWAY_ROUTES.has(request.op.path) && /^\{"error":\{"code":"vendor-/.test(body ?? ''))
    return undefined;
  if (status >= 500) return `${status} ${body?.slice(0, 300)}`;
  if (status >= 400) {
    let parsed: any;
    try {
      parsed = JSON.parse(body ?? '');
    } catch {
      return `${status} with a body that is not JSON: ${JSON.stringify(body?.slice(0, 200))}`;
    }
    const e = parsed?.error;
    const shaped =
      parsed &&
      typeof parsed === 'object' &&
      Object.keys(parsed).length === 1 &&
      e &&
      typeof e === 'object' &&
      typeof e.code === 'string' &&
      e.code !== '' &&
      typeof e.message === 'string';
    if (!shaped) return `${status} not in the {error:{code,message}} shape: ${body?.slice(0, 200)}`;
  }
  return undefined;
}

/** What the server logged about a failed request: the error's message and where it was thrown. */
function serverError(errors: string[], requestId: string | undefined): string {
  if (!requestId) return '';
  for (const line of errors) {
    if (!line.includes(requestId)) continue;
    const entry = JSON.parse(line) as { err?: { type?: string; message?: string; stack?: string } };
    if (!entry.err) continue;
    const at =
      entry.err.stack
        ?.split('\n')
        .find((l) => l.includes('/src/'))
        ?.trim() ?? '';
    return `\n    server: ${entry.err.type ?? 'Error'}: ${entry.err.message?.slice(0, 200)} ${at}`;
  }
  return '';
}

/**
 * Polls /healthz on its own connection until stopped. A slow answer is reported with the
 * requests that were in flight while it waited; one unanswered for STALL_MS calls `onStall`.
 */
function watchHealth(origin: string, inFlight: Map<number, FuzzRequest>, onStall: () => void) {
  const dispatcher = new Agent({ connections: 1 });
  const misses: string[] = [];
  let worst = 0;
  let polls = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      const seen = new Map(inFlight);
      const watching = setInterval(() => {
        for (const [i, r] of inFlight) seen.set(i, r);
      }, 20);
      let status = 0;
      let failure = '';
      try {
        const res = await dispatcher.request({
          origin,
          path: '/healthz',
          method: 'GET',
          headersTimeout: STALL_MS,
          bodyTimeout: STALL_MS,
        });
        status = res.statusCode;
        await res.body.dump();
      } catch (error) {
        failure = String(error);
      }
      clearInterval(watching);
      const took = performance.now() - started;
      polls += 1;
      worst = Math.max(worst, took);
      if (failure || status !== 200 || took >= HEALTH_BOUND_MS) {
        const suspects = [...seen.values()].map((r) => `      ${describeRequest(r).slice(0, 500)}`).join('\n');
        misses.push(
          `/healthz ${failure ? `failed (${failure})` : `answered ${status}`} after ${Math.round(took)} ms; in flight meanwhile:\n${suspects}`,
        );
      }
      if (failure && took >= STALL_MS - 100) {
        onStall();
        break;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, HEALTH_EVERY_MS - took)));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await dispatcher.close();
      return { worst, polls, misses };
    },
  };
}

/** An account of its own with a bot on the test bot, over HTTP only: what an operator does. */
async function botAnswersAfterwards(url: string, botUrl: string): Promise<void> {
  const admin = client(url, { token: ADMIN_TOKEN });
  const acc = 'fz-after';
  assert.equal((await admin.post('/admin/v1/accounts', { accountId: acc })).status, 201);
  assert.equal((await admin.post(`/admin/v1/accounts/${acc}/skills`, { name: 'bot' })).status, 201);
  const app = await admin.post(`/admin/v1/accounts/${acc}/apps`, { name: 'bot', scope: BOT_SCOPE });
  assert.equal(app.status, 201);
  const bot = await admin.post(`/admin/v1/accounts/${acc}/bots`, {
    name: 'after the fuzz',
    conversationType: 'MESSAGING',
    skills: ['bot'],
    vendor: {
      type: 'CUSTOM_ENDPOINT',
      baseUrl: botUrl,
      clientId: app.body.client_id,
      clientSecret: app.body.client_secret,
      botId: 'bot-after',
    },
  });
  assert.equal(bot.status, 201, JSON.stringify(bot.body));
  assert.equal((await admin.post(`/admin/v1/accounts/${acc}/bots/${bot.body.id}/start`)).status, 200);
  const opened = await client(url).post(`/api/account/${acc}/consumer/conversations`, { skill: 'bot' });
  assert.equal(opened.status, 201);
  const consumer = client(url, { token: opened.body.consumerToken });
  const sent = await consumer.post(
    `/api/account/${acc}/consumer/conversations/${opened.body.conversationId}/messages`,
    { text: 'still there?' },
  );
  assert.equal(sent.status, 201);
  await waitForConversation(
    admin,
    acc,
    opened.body.conversationId,
    (c) => botTexts(c).includes('echo: still there?'),
    'the bot’s answer',
  );
}

for (const kind of STORES) {
  describe(`fuzz over every route of /openapi.json (${kind})`, () => {
    let store: TestStore;
    let server: Server;
    const bot = new TestBot();

    before(async () => {
      await bot.start();
      store = await freshStore(kind);
      server = await startServer(store, bot.url);
    });
    after(async () => {
      await server?.stop();
      await bot.stop();
      await store?.dispose();
    });

    it(`${COUNT} generated requests (seed ${SEED}): no 5xx, every 4xx in the error shape, /healthz within ${HEALTH_BOUND_MS} ms throughout`, async (t) => {
      const { url: origin, world } = server;
      const doc = (await (await fetch(`${origin}/openapi.json`)).json()) as {
        paths: Record<string, Record<string, unknown>>;
      };
      const ops: Operation[] = operationsOf(doc as never);
      assert.ok(ops.length >= 60, `the document lists the API (${ops.length} operations)`);
      // The demo bot's routes list no body schema: they check bodies against the Custom
      // Endpoint contract, so the contract's schemas are what their bodies are made from.
      const contract = JSON.parse(
        readFileSync(new URL('../../contracts/custom-endpoint-v1.openapi.json', import.meta.url), 'utf8'),
      );
      for (const op of ops.filter((o) => o.path.startsWith('/demo-bot/') && !o.body && o.method !== 'GET')) {
        op.body = inlineRefs(
          contract.components.schemas[op.path.endsWith('/events') ? 'ConversationChange' : 'Conversation'],
          contract.components.schemas,
        );
      }

      const dispatcher = new Agent({ connections: CONCURRENCY * 2 });
      const inFlight = new Map<number, FuzzRequest>();
      // The fuzz stops early when the server is stuck or gone: waiting on it would only time out.
      let halt: (why: 'stalled' | 'exited') => void = () => {};
      const halted = new Promise<'stalled' | 'exited'>((resolve) => (halt = resolve));
      const health = watchHealth(origin, inFlight, () => halt('stalled'));
      server.child.once('exit', () => halt('exited'));
      const outcomes: Outcome[] = [];
      let stopping = false;
      let next = 0;
      const started = performance.now();
      const worker = async () => {
        while (next < INDICES.length && !stopping) {
          const index = INDICES[next++];
          const request = makeRequest(SEED, index, operationFor(SEED, index, ops), world);
          inFlight.set(index, request);
          const sentAt = performance.now();
          const outcome = await send(dispatcher, origin, request);
          outcome.ms = performance.now() - sentAt;
          inFlight.delete(index);
          if (!stopping) outcomes.push(outcome);
        }
      };
      const ending = await Promise.race([
        Promise.all(Array.from({ length: CONCURRENCY }, worker)).then(() => 'done' as const),
        halted,
      ]);
      stopping = true;
      const elapsed = performance.now() - started;
      const healthReport = await health.stop();
      if (ending === 'stalled') await server.stop();
      await dispatcher.destroy();

      const byStatus = new Map<string, number>();
      const byMode = new Map<string, Map<string, number>>();
      const perOp = new Map<string, Set<number>>();
      for (const o of outcomes) {
        const key = o.status === undefined ? 'error' : `${Math.floor(o.status / 100)}xx`;
        byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
        const mode = o.request.notes.find((n) => n.startsWith('body:')) ?? 'no body';
        if (!byMode.has(mode)) byMode.set(mode, new Map());
        byMode.get(mode)!.set(key, (byMode.get(mode)!.get(key) ?? 0) + 1);
        const op = `${o.request.op.method} ${o.request.op.path}`;
        if (!perOp.has(op)) perOp.set(op, new Set());
        if (o.status !== undefined) perOp.get(op)!.add(o.status);
      }
      t.diagnostic(
        `${kind}: ${outcomes.length} requests over ${ops.length} operations in ${Math.round(elapsed)} ms; ${[...byStatus].map(([k, v]) => `${k} ${v}`).join(', ')}`,
      );
      t.diagnostic(
        `${kind}: by body: ${[...byMode].map(([m, c]) => `${m} (${[...c].map(([k, v]) => `${k} ${v}`).join(' ')})`).join('; ')}`,
      );
      const slowest = [...outcomes].sort((a, b) => (b.ms ?? 0) - (a.ms ?? 0)).slice(0, 3);
      t.diagnostic(
        `${kind}: slowest: ${slowest.map((o) => `${Math.round(o.ms ?? 0)} ms ${o.status ?? o.error} ${describeRequest(o.request).slice(0, 300)}`).join('\n   ')}`,
      );
      t.diagnostic(`${kind}: /healthz polled ${healthReport.polls} times, worst ${Math.round(healthReport.worst)} ms`);
      const logged = new Map<string, number>();
      for (const line of server.errors) {
        const { msg, err } = JSON.parse(line) as { msg?: string; err?: { message?: string } };
        const key = `${msg}: ${err?.message?.slice(0, 120) ?? ''}`;
        logged.set(key, (logged.get(key) ?? 0) + 1);
      }
      if (logged.size)
        t.diagnostic(`${kind}: errors the server logged: ${[...logged].map(([k, v]) => `${v}× ${k}`).join(' | ')}`);
      const never2xx = [...perOp].filter(([, s]) => ![...s].some((x) => x < 300)).map(([op]) => op);
      if (never2xx.length) t.diagnostic(`${kind}: operations with no 2xx in this run: ${never2xx.join(' | ')}`);

      const problems = outcomes
        .map((o) => ({ o, why: problemOf(o) }))
        .filter((p) => p.why !== undefined)
        .sort((a, b) => a.o.request.index - b.o.request.index);
      const explain = ({ o, why }: { o: Outcome; why?: string }) =>
        `${why}\n    ${describeRequest(o.request)}${serverError(server.errors, o.requestId)}`;
      if (process.env.FUZZ_TRACE) {
        appendFileSync(
          process.env.FUZZ_TRACE,
          outcomes
            .map(
              (o) =>
                `${kind} ${o.status ?? o.error} ${o.body?.slice(0, 160) ?? ''}\n    ${describeRequest(o.request)}\n`,
            )
            .join(''),
        );
      }
      if (process.env.FUZZ_REPORT) {
        appendFileSync(
          process.env.FUZZ_REPORT,
          [...healthReport.misses.map((m) => `${kind} ${m}\n`), ...problems.map((p) => `${kind} ${explain(p)}\n`)].join(
            '',
          ),
        );
      }
      const failures = [
        ...(ending === 'exited'
          ? [
              `the server process ended (${server.child.exitCode ?? server.child.signalCode}) after ${outcomes.length} requests:\n${server.stderrTail()}`,
            ]
          : []),
        ...(ending === 'stalled'
          ? [
              `the server stopped answering /healthz (${STALL_MS} ms) after ${outcomes.length} requests; the fuzz stopped there`,
            ]
          : []),
        ...healthReport.misses.slice(0, 5),
        ...problems.slice(0, 40).map(explain),
      ];
      if (ending === 'done' && ONLY === undefined)
        assert.equal(perOp.size, ops.length, 'every operation was requested');
      assert.deepEqual(
        failures,
        [],
        `${healthReport.misses.length} /healthz misses, ${problems.length} of ${outcomes.length} answers break the contract (first ones):\n${failures.join('\n')}`,
      );
    });

    it('afterwards the server still does its job end to end', async () => {
      const health = await fetch(`${server.url}/healthz`);
      assert.equal(health.status, 200);
      // A new account with its own bot: the fuzz may have stopped or re-pointed the seeded ones.
      await botAnswersAfterwards(server.url, bot.url);
    });
  });
}
