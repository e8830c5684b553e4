import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the test bot received. */
export interface Received {
  method: string;
  path: string;
  authorization?: string;
  /** Every request header, by its lower-case name. */
  headers: Record<string, string | string[] | undefined>;
  body: any;
  at: number;
}

/** What a scripted handler answers: a status, a JSON body (or raw text), an optional hold. */
export interface Answer {
  status?: number;
  json?: unknown;
  text?: string;
  /** Hold the answer this long (to exercise timeouts), in ms. */
  delayMs?: number;
  /** Drop the connection instead of answering (a reset). */
  reset?: boolean;
  headers?: Record<string, string>;
}

type Handler = (req: Received) => Answer | Promise<Answer>;

/**
 * A real Custom Endpoint service for tests, on loopback: it records every request and answers
 * what the test scripts. Defaults follow the contract: online state, two environments,
 * conversations created with 201, events answered with an empty-but-valid response.
 */
export class TestBot {
  readonly received: Received[] = [];
  private server?: Server;
  url = '';
  onEnvironments: Handler = () => ({ json: ['draft', 'production'] });
  onState: Handler = () => ({ json: { state: 'online', version: '1.2.3' } });
  onConversation: Handler = () => ({ status: 201, json: {} });
  onEvent: Handler = (req) => ({
    json: {
      response: [{ type: 'TEXT', data: { message: `echo: ${req.body?.data?.message ?? req.body?.type}` } }],
      analytics: { intents: [] },
    },
  });

  /** `port` brings a stopped bot back where it was. */
  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Requests whose path ends with the suffix (e.g. '/events'). */
  requests(method: string, suffix: string): Received[] {
    return this.received.filter((r) => r.method === method && r.path.endsWith(suffix));
  }

  events(conversationId?: string): Received[] {
    return this.received.filter(
      (r) => r.method === 'POST' && r.path.endsWith('/events') && (!conversationId || r.path.includes(conversationId)),
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      /* keep text */
    }
    const received: Received = {
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      headers: req.headers,
      body,
      at: Date.now(),
    };
    this.received.push(received);
    const path = received.path;
    const handler =
      req.method === 'GET' && path.endsWith('/environments')
        ? this.onEnvironments
        : req.method === 'GET' && path.endsWith('/state')
          ? this.onState
          : req.method === 'PUT' && /\/conversations\/[^/]+$/.test(path)
            ? this.onConversation
            : req.method === 'POST' && path.endsWith('/events')
              ? this.onEvent
              : () => ({ status: 404, json: { error: 'no such route' } });
    let answer: Answer;
    try {
      answer = await handler(received);
    } catch (error) {
      answer = { status: 500, text: String(error) };
    }
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    if (res.destroyed) return;
    if (answer.reset) {
      req.socket.destroy();
      return;
    }
    res.statusCode = answer.status ?? 200;
    for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
    if (answer.text !== undefined) {
      if (!res.hasHeader('content-type')) res.setHeader('content-type', 'text/plain');
      res.end(answer.text);
    } else {
      if (!res.hasHeader('content-type')) res.setHeader('content-type', 'application/json');
      res.end(answer.json === undefined ? '' : JSON.stringify(answer.json));
    }
  }
}

/** A text item, as bots write them. */
export const text = (message: string, extra: Record<string, unknown> = {}) => ({
  type: 'TEXT',
  data: { message, ...extra },
});
export const reply = (...response: unknown[]) => ({ json: { response, analytics: { intents: [] } } });
