/**
 * The floor: the least a relay built from botbridge's own libraries (Fastify, @fastify/websocket,
 * better-sqlite3, undici) must do for one consumer message, so scenario 1 can say how far above
 * it botbridge is. No botbridge code. It speaks the consumer routes the load generator uses:
 *
 *   POST /api/account/:acc/consumer/conversations           → 201 {conversationId, consumerToken}
 *   GET  /api/account/:acc/consumer/conversations/:id/stream (WebSocket) → {"kind":"ready"}, then the bot's texts
 *   POST /api/account/:acc/consumer/conversations/:id/messages {text}
 *
 * and for each message does exactly the durable work botbridge's guarantees need, nothing more:
 * the consumer's message committed (SQLite, WAL, synchronous=NORMAL) before the 201; the Custom
 * Endpoint event POSTed to the bot (undici, keep-alive); its answer parsed and committed before
 * it is shown; one WebSocket frame per bot text. No authentication of the bot call (a static
 * bearer), no validation beyond what reading the answer needs, no logs, no metrics, no cluster.
 *
 * Env: BOT_URL, DATA_DIR, PORT (0: any). Prints `floor listening on <url>`; stops on SIGTERM.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import Fastify from 'fastify';
import websocket from '@fastify/websocket';
import { Pool } from 'undici';
import type { WebSocket } from 'ws';
import { consumerTextEvent } from './lib/events.js';

const botUrl = process.env.BOT_URL;
if (!botUrl) throw new Error('BOT_URL is required');
const db = new Database(join(process.env.DATA_DIR ?? '.', 'floor.sqlite'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec(`
  CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, account TEXT NOT NULL, token TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS events (
    conversation_id TEXT NOT NULL, seq INTEGER NOT NULL, role TEXT NOT NULL, text TEXT NOT NULL, at INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, seq)
  ) WITHOUT ROWID;
`);
const insertConversation = db.prepare('INSERT INTO conversations (id, account, token) VALUES (?, ?, ?)');
const insertEvent = db.prepare('INSERT INTO events (conversation_id, seq, role, text, at) VALUES (?, ?, ?, ?, ?)');
const insertAnswer = db.transaction((id: string, from: number, texts: string[], at: number) => {
  for (const [i, text] of texts.entries()) insertEvent.run(id, from + i, 'BOT', text, at);
});

interface Open {
  account: string;
  token: string;
  seq: number;
  socket?: WebSocket;
}
const conversations = new Map<string, Open>();
const bot = new Pool(botUrl, { connections: 256, pipelining: 1, keepAliveTimeout: 120_000 });
const botPath = (id: string) => `/v1/bots/bench/environments/draft/conversations/${id}/events`;

const server = Fastify({ logger: false });
await server.register(websocket);

const bearer = (header: string | undefined) => (header?.startsWith('Bearer ') ? header.slice(7) : undefined);

server.post<{ Params: { acc: string } }>('/api/account/:acc/consumer/conversations', async (request, reply) => {
  const id = randomUUID();
  const token = randomBytes(24).toString('base64url');
  insertConversation.run(id, request.params.acc, token);
  conversations.set(id, { account: request.params.acc, token, seq: 0 });
  return reply.code(201).send({ conversationId: id, consumerToken: token });
});

server.get<{ Params: { acc: string; id: string } }>(
  '/api/account/:acc/consumer/conversations/:id/stream',
  { websocket: true },
  (socket, request) => {
    const open = conversations.get(request.params.id);
    if (!open || bearer(request.headers.authorization) !== open.token) return socket.close(4401, 'unauthorized');
    open.socket = socket;
    socket.on('close', () => {
      if (open.socket === socket) open.socket = undefined;
    });
    socket.send('{"kind":"ready"}');
  },
);

server.post<{ Params: { acc: string; id: string }; Body: { text?: unknown } }>(
  '/api/account/:acc/consumer/conversations/:id/messages',
  async (request, reply) => {
    const { id } = request.params;
    const open = conversations.get(id);
    if (!open || bearer(request.headers.authorization) !== open.token)
      return reply.code(401).send({ error: { code: 'unauthorized', message: 'bearer token required' } });
    const text = request.body?.text;
    if (typeof text !== 'string' || !text)
      return reply.code(400).send({ error: { code: 'invalid-request', message: 'text required' } });
    const sequence = ++open.seq;
    insertEvent.run(id, sequence, 'CONSUMER', text, Date.now());
    void relay(id, open, sequence, text);
    return reply.code(201).send({ sequence });
  },
);

/** The Custom Endpoint exchange for one message: the event, the answer committed, then shown. */
async function relay(id: string, open: Open, sequence: number, message: string): Promise<void> {
  try {
    const res = await bot.request({
      method: 'POST',
      path: botPath(id),
      headers: { authorization: 'Bearer floor', 'content-type': 'application/json' },
      body: JSON.stringify(consumerTextEvent(id, sequence, message)),
    });
    const answer = (await res.body.json()) as {
      response?: Array<{ type?: string; data?: { message?: string; metadata?: unknown } }>;
    };
    const texts = (answer.response ?? []).filter(
      (item) => item.type === 'TEXT' && typeof item.data?.message === 'string',
    );
    const at = Date.now();
    const first = open.seq + 1;
    open.seq += texts.length;
    insertAnswer(
      id,
      first,
      texts.map((item) => item.data!.message!),
      at,
    );
    for (const [i, item] of texts.entries())
      open.socket?.send(
        JSON.stringify({
          kind: 'event',
          event: {
            sequence: first + i,
            serverTimestamp: at,
            originator: { role: 'BOT' },
            type: 'TEXT',
            text: item.data!.message,
            metadata: item.data!.metadata,
          },
        }),
      );
  } catch (error) {
    process.stderr.write(`relay failed: ${String(error)}\n`);
  }
}

const url = await server.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`floor listening on ${url}\n`);
process.on('SIGTERM', () => {
  void server.close().then(() => {
    db.close();
    process.exit(0);
  });
});
