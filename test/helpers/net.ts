import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';

/** A loopback port nothing listens on: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A webhook on loopback (a registered function, an error hook) that records each JSON body. */
export interface Webhook {
  url: string;
  calls: { path: string; body: any }[];
  close(): void;
}

/** Answers 200, or 500 for paths ending in `/fail`. */
export async function startWebhook(): Promise<Webhook> {
  const calls: Webhook['calls'] = [];
  const server: Server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls.push({ path: req.url ?? '', body: body ? JSON.parse(body) : undefined });
      res.statusCode = req.url?.endsWith('/fail') ? 500 : 200;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, calls, close: () => server.close() };
}
