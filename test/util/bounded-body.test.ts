import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { readBounded } from '../../src/util/bounded-body.js';

/** Real undici responses, declared or chunked, read against a limit. */
describe('readBounded', () => {
  let server: Server;
  let base = '';
  const dispatcher = new Agent();
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  before(async () => {
    process.on('uncaughtException', onUncaught);
    server = createServer((req, res) => {
      const size = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('size'));
      if (req.url?.startsWith('/declared')) return res.end('a'.repeat(size));
      // Chunked: no length up front, so only counting while reading can stop it.
      let sent = 0;
      const more = () => {
        while (sent < size) {
          sent += 1024;
          if (!res.write('b'.repeat(1024))) return res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    process.off('uncaughtException', onUncaught);
    await dispatcher.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const read = async (path: string, limit: number) => {
    const res = await request(`${base}${path}`, { dispatcher, signal: AbortSignal.timeout(5000) });
    const declared = Number(res.headers['content-length']);
    return readBounded(res.body, limit, Number.isFinite(declared) ? declared : undefined);
  };

  it('returns the text of a body within the limit', async () => {
    assert.deepEqual(await read('/declared?size=4096', 4096), { text: 'a'.repeat(4096), bytes: 4096 });
    const chunked = await read('/chunked?size=4096', 4096);
    assert.equal('text' in chunked && chunked.text.length, 4096);
  });

  it('refuses a declared length over the limit without reading it', async () => {
    assert.deepEqual(await read('/declared?size=20000', 4096), { tooLarge: true, bytes: 20000 });
  });

  it('stops a chunked body as soon as it passes the limit', async () => {
    const result = await read('/chunked?size=10485760', 65536);
    assert.ok('tooLarge' in result);
    assert.ok(result.bytes > 65536 && result.bytes < 10 * 1024 * 1024, `stopped early, at ${result.bytes} bytes`);
  });

  it('leaves no error behind: undici’s abort of a destroyed body must not reach the process', async () => {
    for (let i = 0; i < 5; i++) {
      await read('/declared?size=20000', 1024);
      await read('/chunked?size=1048576', 1024);
    }
    await sleep(50);
    assert.deepEqual(uncaught, []);
  });
});
