import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A webhook receiver: every body it was posted, by path; `failFirst` answers 500 that many times first. */
export class WebhookReceiver {
  readonly got: Array<{ path: string; body: any }> = [];
  failFirst = 0;
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (c) => (text += c));
      req.on('end', () => {
        if (this.failFirst > 0) {
          this.failFirst--;
          res.writeHead(500).end('not now');
          return;
        }
        this.got.push({ path: req.url ?? '', body: JSON.parse(text) });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  on(path: string) {
    return this.got.filter((g) => g.path === path);
  }

  async stop(): Promise<void> {
    await new Promise((r) => this.server?.close(r));
  }
}
