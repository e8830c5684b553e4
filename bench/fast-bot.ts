/**
 * The benchmark's Custom Endpoint service: a minimal node:http server in its own process that
 * answers the contract's four calls as cheaply as it can, so what the harness measures on top
 * of it is botbridge.
 *
 * It does NOT verify the connector's JWT (a real service must; see createTokenVerifier in src/sdk/custom-endpoint/verify.ts): it
 * only checks that an `Authorization: Bearer` header is present. Verification would be the
 * bot's own cost, the same with or without botbridge in front.
 *
 * Events are answered by script, chosen by the consumer's text:
 *   - `delay:<tag>` → TEXT `first <tag>`, DELAY 2 s (typing), TEXT `second <tag>`
 *   - anything else → TEXT `echo <text>`
 * Every TEXT item carries `metadata: [{type: "BotHandlingTime", micros}]`, the time from the
 * request reaching this process's handler to the answer being written, and the answer has the
 * same figure in an `x-bot-handling-us` header (for the baseline, which calls the bot directly).
 *
 * Prints one JSON line `{"url": ...}` on stdout once listening; stops on SIGTERM.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BotResponseItem, PostEventResponseBody, TextItem } from '../src/contract/index.js';

const DELAY_SECONDS = Number(process.env.BENCH_DELAY_SECONDS ?? 2);
const EVENTS = /^\/v1\/bots\/[^/]+\/environments\/[^/]+\/conversations\/[^/]+\/events$/;
const CONVERSATION = /^\/v1\/bots\/[^/]+\/environments\/[^/]+\/conversations\/[^/]+$/;

let events = 0;

function send(res: ServerResponse, status: number, body: string, started?: bigint): void {
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (started !== undefined) headers['x-bot-handling-us'] = Number((process.hrtime.bigint() - started) / 1000n);
  res.writeHead(status, headers);
  res.end(body);
}

function text(message: string, started: bigint): TextItem {
  return {
    type: 'TEXT',
    data: {
      message,
      metadata: [{ type: 'BotHandlingTime', micros: Number((process.hrtime.bigint() - started) / 1000n) }],
    },
  };
}

function answer(body: { data?: { message?: unknown } }, started: bigint): string {
  const message = typeof body?.data?.message === 'string' ? body.data.message : '';
  const response: BotResponseItem[] = message.startsWith('delay:')
    ? [
        text(`first ${message.slice(6)}`, started),
        { type: 'DELAY', data: { seconds: DELAY_SECONDS, typing: true } },
        text(`second ${message.slice(6)}`, started),
      ]
    : [text(`echo ${message}`, started)];
  return JSON.stringify({ response, analytics: { intents: [] } } satisfies PostEventResponseBody);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const started = process.hrtime.bigint();
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (!/^Bearer \S+$/.test(req.headers.authorization ?? '')) return send(res, 401, '{"error":"bearer required"}');
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'POST' && EVENTS.test(path)) {
      let body: { data?: { message?: unknown } };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 400, '{"error":"malformed JSON"}');
      }
      events++;
      return send(res, 200, answer(body, started), started);
    }
    if (req.method === 'PUT' && CONVERSATION.test(path)) return send(res, 201, '{}');
    if (req.method === 'GET' && path.endsWith('/state')) return send(res, 200, '{"state":"online","version":"bench"}');
    if (req.method === 'GET' && path.endsWith('/environments')) return send(res, 200, '["draft"]');
    if (req.method === 'GET' && path === '/stats') return send(res, 200, JSON.stringify({ events }));
    return send(res, 404, '{"error":"no such route"}');
  });
}

const server = createServer({ keepAliveTimeout: 120_000, requestTimeout: 0 }, handle);
server.headersTimeout = 130_000;
server.maxConnections = 100_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
