import WebSocket from 'ws';

/** Messages of one realtime stream, collected as they come, with a wait for the one you expect. */
export interface StreamReader {
  messages: any[];
  waitFor(predicate: (m: any) => boolean, what?: string): Promise<any>;
  close(): void;
}

function reader(): StreamReader & { push(m: any): void; closers: (() => void)[] } {
  const messages: any[] = [];
  const waiters: { predicate: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  const closers: (() => void)[] = [];
  return {
    messages,
    closers,
    push(m) {
      messages.push(m);
      for (const w of [...waiters]) {
        if (w.predicate(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    },
    waitFor(predicate, what = 'stream message') {
      const found = messages.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages).slice(0, 2000)}`)),
          15_000,
        );
        waiters.push({
          predicate,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
    close() {
      for (const close of closers) close();
    },
  };
}

/** Opens a stream over WebSocket; resolves once the server said `ready` (replay done). */
export async function openWebSocket(url: string, token?: string): Promise<StreamReader> {
  const r = reader();
  const wsUrl = url.replace(/^http/, 'ws');
  const ws = new WebSocket(wsUrl, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  ws.on('message', (data) => r.push(JSON.parse(String(data))));
  r.closers.push(() => ws.close());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`websocket refused: ${res.statusCode}`)));
  });
  await r.waitFor((m) => m.kind === 'ready', 'ready');
  return r;
}

/** Opens a stream over Server-Sent Events; resolves once the server said `ready`. */
export async function openSse(url: string, token?: string): Promise<StreamReader> {
  const r = reader();
  const controller = new AbortController();
  const res = await fetch(url, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: controller.signal,
  });
  if (res.status !== 200) throw new Error(`sse refused: ${res.status} ${await res.text()}`);
  r.closers.push(() => controller.abort());
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let at = buffer.indexOf('\n\n'); at >= 0; at = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const data = frame
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (data) r.push(JSON.parse(data));
        }
      }
    } catch {
      /* aborted */
    }
  })();
  await r.waitFor((m) => m.kind === 'ready', 'ready');
  return r;
}
