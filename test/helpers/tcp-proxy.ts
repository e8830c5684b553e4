import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of one server (PostgreSQL here), so a test can partition one
 * client process from it without root: `cut()` makes every path through the proxy go silent in
 * both directions, as a network partition does, rather than closing anything — neither side
 * learns of the cut from the proxy; each finds out only through its own timeouts.
 */
export interface ProxyStats {
  /** Connections accepted since the start. */
  connections: number;
  /** Open now. */
  open: number;
  /** Accepted while cut (held, never forwarded). */
  heldDuringCut: number;
  /** Client → server and server → client. */
  bytesUp: number;
  bytesDown: number;
}

interface Path {
  client: Socket;
  /** Absent for a connection accepted during a cut: it is never forwarded. */
  server?: Socket;
  /** Open during a cut: destroyed when the cut heals, as a partition longer than TCP's timeouts ends it. */
  severed: boolean;
}

export class TcpProxy {
  readonly stats: ProxyStats = { connections: 0, open: 0, heldDuringCut: 0, bytesUp: 0, bytesDown: 0 };
  private readonly paths = new Set<Path>();
  private cutNow = false;
  port = 0;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((socket) => proxy!.accept(socket));
    proxy = new TcpProxy(server, { host: targetHost, port: targetPort });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.port = (server.address() as { port: number }).port;
    return proxy;
  }

  get isCut(): boolean {
    return this.cutNow;
  }

  /** From now on nothing passes, either way, on any connection; new ones are accepted and held. */
  cut(): void {
    this.cutNow = true;
    for (const path of this.paths) {
      path.severed = true;
      path.client.pause();
      path.server?.pause();
    }
  }

  /** Connections that lived through the cut are ended; new ones are forwarded again. */
  heal(): void {
    this.cutNow = false;
    for (const path of [...this.paths]) if (path.severed) this.end(path);
  }

  async close(): Promise<void> {
    for (const path of [...this.paths]) this.end(path);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.stats.connections++;
    this.stats.open++;
    const path: Path = { client, severed: this.cutNow };
    this.paths.add(path);
    client.on('error', () => this.lose(path));
    client.on('close', () => this.lose(path));
    if (this.cutNow) {
      // The client's SYN got its answer (the kernel's), and then nothing: a silent network.
      this.stats.heldDuringCut++;
      client.pause();
      return;
    }
    const server = connect(this.target.port, this.target.host);
    path.server = server;
    server.on('error', () => this.lose(path));
    server.on('close', () => this.lose(path));
    this.forward(path, client, server, 'bytesUp');
    this.forward(path, server, client, 'bytesDown');
  }

  /** With backpressure, which must not wake a side the cut paused. */
  private forward(path: Path, from: Socket, to: Socket, counter: 'bytesUp' | 'bytesDown'): void {
    from.on('data', (chunk: Buffer) => {
      if (path.severed) return;
      this.stats[counter] += chunk.length;
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => {
          if (!path.severed) from.resume();
        });
      }
    });
    from.on('end', () => {
      if (!path.severed) to.end();
    });
  }

  /** One side went away: the other goes too, unless the path is cut (a partition carries no FIN). */
  private lose(path: Path): void {
    if (!this.paths.has(path)) return;
    if (path.severed && this.cutNow) return;
    this.end(path);
  }

  private end(path: Path): void {
    if (!this.paths.delete(path)) return;
    this.stats.open--;
    path.client.destroy();
    path.server?.destroy();
  }
}
