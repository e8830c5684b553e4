import type { StreamMessage } from './types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { outgoing, type Outgoing, type RealtimeHub, type Subscriber } from './realtime.js';

/**
 * The two ways a realtime stream travels: Server-Sent Events and WebSocket, both replaying the log
 * first and then relaying what the hub fans out. Apart from the hub so it stays plain fan-out, and
 * here in platform rather than in http/ because they speak the platform's stream (its messages,
 * the replay by sequence, the `ready` mark): http/ imports nothing of the platform, and an
 * http ↔ platform folder cycle would be the kind the ops ↔ http split removed.
 */

/**
 * Serves a stream over Server-Sent Events: replay first, then live messages. Live messages that
 * arrive during the replay are held and released after it, skipping what the replay covered.
 */
export function serveSse(
  hub: RealtimeHub,
  request: FastifyRequest,
  reply: FastifyReply,
  subscribe: (subscriber: Subscriber) => () => void,
  replay: () => Promise<StreamMessage[]>,
): void {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-request-id': String(request.id),
  });
  const write = (m: StreamMessage, json: () => string) => {
    const id = m.kind === 'event' ? `id: ${m.event.sequence}\n` : '';
    raw.write(`${id}data: ${json()}\n\n`);
  };
  const stop = streamWith(subscribe, replay, write, () => raw.end());
  const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), 25_000);
  const untrack = hub.track(() => raw.end());
  request.raw.on('close', () => {
    clearInterval(keepAlive);
    untrack();
    stop();
  });
}

/**
 * The same stream over a WebSocket, one JSON text frame per message. The hub can end it (a
 * shutdown, or a change listener that was cut off): the client reconnects from its last sequence.
 */
export function serveWebSocket(
  hub: RealtimeHub,
  socket: WebSocket,
  subscribe: (subscriber: Subscriber) => () => void,
  replay: () => Promise<StreamMessage[]>,
): void {
  const stop = streamWith(
    subscribe,
    replay,
    (_m, json) => socket.readyState === socket.OPEN && socket.send(json()),
    () => socket.close(),
  );
  const untrack = hub.track(() => socket.close(1012, 'the server asks the client to reconnect'));
  const end = () => {
    untrack();
    stop();
  };
  forgetUpgrade(socket);
  socket.on('close', end);
  socket.on('error', end);
}

/**
 * Lets go of the HTTP request the WebSocket was upgraded from. @fastify/websocket keeps it for the
 * connection's whole life twice over: its error listener closes over the request and reply, and
 * the TCP socket's `_httpMessage` is the ServerResponse it made for routing, which holds the
 * request. A stream needs neither once it runs (its own listeners take errors); measured with
 * 2,000 open consumer streams, forgetting both takes a stream's heap from ~9.9 KB to ~6.7 KB (one
 * of the two alone saves nothing: each keeps the request by itself).
 */
function forgetUpgrade(socket: WebSocket): void {
  socket.removeAllListeners('error');
  const tcp = (socket as WebSocket & { _socket?: { _httpMessage?: unknown } })._socket;
  if (tcp) tcp._httpMessage = null;
}

function streamWith(
  subscribe: (subscriber: Subscriber) => () => void,
  replay: () => Promise<StreamMessage[]>,
  write: (m: StreamMessage, json: () => string) => void,
  fail: () => void,
): () => void {
  let held: Outgoing[] | undefined = [];
  const unsubscribe = subscribe({
    send: (message, json) => (held ? held.push({ message, json }) : write(message, json)),
  });
  replay().then(
    (messages) => {
      const seen = new Map<string, number>();
      for (const m of messages) {
        write(m, outgoing(m).json);
        if (m.kind === 'event') seen.set(m.conversationId, Math.max(seen.get(m.conversationId) ?? 0, m.event.sequence));
      }
      const ready = outgoing({ kind: 'ready' });
      write(ready.message, ready.json);
      const pending = held ?? [];
      held = undefined;
      for (const { message: m, json } of pending) {
        if (m.kind === 'event' && m.event.sequence <= (seen.get(m.conversationId) ?? 0)) continue;
        write(m, json);
      }
    },
    () => {
      unsubscribe();
      fail();
    },
  );
  return unsubscribe;
}
