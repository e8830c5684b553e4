import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { CustomEndpointClient, VendorError } from '../../src/connector/vendor-client.js';

/**
 * How the Custom Endpoint client reads an answer off the wire (its dispatch handler), against a
 * real HTTP server: bounded as it arrives, within the bot's timeout even while waiting for a
 * connection. The connector's tests cover the same through whole conversations; these take the
 * cases a bot behind a test double cannot easily make (a body streamed without a length, a pool
 * that has no free connection).
 */
describe('Custom Endpoint client: reading an answer', () => {
  let server: Server;
  let baseUrl: string;
  /** What each request to /v1/bots/… is answered with, by conversation id. */
  const answers = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
  const received: string[] = [];
  const agents: Agent[] = [];

  const client = (options: { connections?: number; maxResponseBytes?: number; timeoutSeconds?: number } = {}) => {
    const dispatcher = new Agent({ connections: options.connections ?? 4 });
    agents.push(dispatcher);
    return new CustomEndpointClient(
      'acc',
      {
        type: 'CUSTOM_ENDPOINT',
        baseUrl,
        clientId: 'app',
        botId: 'bot',
        environment: 'prod',
        timeoutSeconds: options.timeoutSeconds ?? 5,
      },
      {
        dispatcher,
        tokens: { grantTo: async () => ({ token: 'token', expiresIn: 3600 }) },
        retry: { attempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
        maxResponseBytes: options.maxResponseBytes ?? 4096,
      },
    );
  };
  const event = (c: CustomEndpointClient, conversationId: string) =>
    c.postEvent(conversationId, { type: 'TEXT', data: { message: 'hello' } } as never);
  const failure = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => assert.fail('the call should have failed'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof VendorError, String(error));
    return error;
  };

  before(async () => {
    server = createServer((req, res) => {
      const id = /\/conversations\/([^/]+)/.exec(req.url ?? '')?.[1] ?? '';
      received.push(id);
      const answer = answers.get(id);
      if (answer) answer(req, res);
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"response":[]}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const agent of agents) await agent.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads a body sent without a length, in chunks, whole', async () => {
    answers.set('chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"response":[{"type":"TEXT","data":{"message":"');
      res.write('é'.repeat(300));
      res.end('"}}]}');
    });
    const answer = await event(client(), 'chunked');
    assert.equal(answer.status, 200);
    assert.equal((answer.body as any).response[0].data.message, 'é'.repeat(300));
  });

  it('stops reading a body without a length once it passes the limit, and closes that connection', async () => {
    let closed = false;
    answers.set('endless', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = 'x'.repeat(1024);
      // Writes until the client goes away: it must, for this to end.
      const more = () => {
        if (res.destroyed || closed) return;
        res.write(chunk);
        setTimeout(more, 2);
      };
      res.on('close', () => (closed = true));
      more();
    });
    const error = await failure(event(client({ maxResponseBytes: 8192 }), 'endless'));
    assert.equal(error.code, 'vendor-response-too-large');
    const deadline = Date.now() + 5_000;
    while (!closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(closed, 'the connection was closed');
  });

  it('refuses a declared length over the limit before reading it', async () => {
    answers.set('declared', (_req, res) => {
      const body = JSON.stringify({ response: [{ type: 'TEXT', data: { message: 'y'.repeat(10_000) } }] });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    const error = await failure(event(client(), 'declared'));
    assert.equal(error.code, 'vendor-response-too-large');
    assert.equal(error.details.status, 200);
  });

  it('times out a call still waiting for a connection, which is then never sent', async () => {
    const hung: ServerResponse[] = [];
    answers.set('hung', (_req, res) => void hung.push(res));
    const one = client({ connections: 1, timeoutSeconds: 1 });
    const first = event(one, 'hung');
    // Behind the first on the pool's only connection, which the first holds past the timeout.
    const second = event(one, 'queued');
    const [a, b] = await Promise.all([failure(first), failure(second)]);
    assert.equal(a.code, 'vendor-timeout');
    assert.equal(b.code, 'vendor-timeout');
    for (const res of hung) res.end();
    // Had it been sent late, the server would have seen it by the time a later call is answered.
    assert.equal((await event(one, 'after')).status, 200);
    assert.ok(!received.includes('queued'), `received: ${received.join(', ')}`);
  });

  it('reads the headers it needs: a Retry-After on a 429, the type of a body that is not JSON', async () => {
    answers.set('busy', (_req, res) => res.writeHead(429, { 'retry-after': '0' }).end());
    answers.set('html', (_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<p>no</p>'));
    const error = await failure(event(client(), 'busy'));
    assert.equal(error.code, 'vendor-http-error');
    assert.equal(error.details.status, 429);
    const html = await event(client(), 'html');
    assert.match(String(html.notJson), /of text\/html that are not JSON/);
  });
});
