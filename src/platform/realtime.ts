import type { FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { EventBus, PlatformEvent } from './bus.js';
import type { StreamMessage } from './types.js';

/** Defined with the platform's other types (which the console shares); re-exported for the stream routes. */
export type { StreamMessage };

export interface Subscriber {
  send(message: StreamMessage): void;
}

/** A conversation watcher: the consumer (public entries only) or an operator (everything). */
export interface ConversationSubscriber extends Subscriber {
  includePrivate?: boolean;
}

export interface AgentSubscriber extends Subscriber {
  userId: string;
  skillIds: Set<number>;
}

/**
 * Fans bus events out to open streams. Consumers are indexed by conversation and agents by
 * account, so an event costs only its own listeners, however many streams are open.
 */
export class RealtimeHub {
  private readonly consumers = new Map<string, Set<ConversationSubscriber>>();
  private readonly agents = new Map<string, Set<AgentSubscriber>>();
  /** How to end each open SSE response, so shutdown does not wait on them forever. */
  private readonly ends = new Set<() => void>();

  constructor(bus: EventBus) {
    bus.subscribe((event) => this.dispatch(event));
  }

  /** A consumer sees its conversation's public entries and the other side typing; an operator sees all. */
  watchConversation(conversationId: string, subscriber: ConversationSubscriber): () => void {
    return addTo(this.consumers, conversationId, subscriber);
  }

  /** An agent sees everything of what they hold, and the queues of their skills changing. */
  watchAgent(accountId: string, subscriber: AgentSubscriber): () => void {
    return addTo(this.agents, accountId, subscriber);
  }

  track(end: () => void): () => void {
    this.ends.add(end);
    return () => this.ends.delete(end);
  }

  endAll(): void {
    for (const end of [...this.ends]) end();
  }

  /** Whether a stream here would show a change of this conversation (its watchers, or the account's agents). */
  watches(conversationId: string, accountId: string): boolean {
    return this.consumers.has(conversationId) || this.agents.has(accountId);
  }

  get openStreams(): number {
    let n = 0;
    for (const set of this.consumers.values()) n += set.size;
    for (const set of this.agents.values()) n += set.size;
    return n;
  }

  private dispatch(e: PlatformEvent): void {
    const { conversation } = e;
    const consumers = this.consumers.get(conversation.conversationId);
    const agents = this.agents.get(conversation.accountId);
    switch (e.type) {
      case 'conversation.event': {
        const message: StreamMessage = { kind: 'event', conversationId: conversation.conversationId, event: e.event };
        consumers?.forEach((s) => (e.event.audience === 'ALL' || s.includePrivate) && s.send(message));
        agents?.forEach((a) => a.userId === conversation.assignee?.userId && a.send(message));
        break;
      }
      case 'conversation.typing': {
        const message: StreamMessage = {
          kind: 'typing',
          conversationId: conversation.conversationId,
          originator: e.originator,
          typing: e.typing,
        };
        consumers?.forEach((s) => (e.originator.role !== 'CONSUMER' || s.includePrivate) && s.send(message));
        agents?.forEach(
          (a) => a.userId === conversation.assignee?.userId && e.originator.role === 'CONSUMER' && a.send(message),
        );
        break;
      }
      case 'conversation.opened':
      case 'conversation.assigned':
      case 'conversation.closed': {
        const message: StreamMessage = { kind: 'conversation', conversation };
        const previous = e.type === 'conversation.assigned' ? e.previousAssignee?.userId : undefined;
        const previousSkill = e.type === 'conversation.assigned' ? e.previousSkillId : undefined;
        agents?.forEach((a) => {
          const concerned =
            a.userId === conversation.assignee?.userId ||
            a.userId === previous ||
            a.skillIds.has(conversation.skill.id) ||
            (previousSkill !== undefined && a.skillIds.has(previousSkill));
          if (concerned) a.send(message);
        });
        if (e.type !== 'conversation.opened') consumers?.forEach((s) => s.send(message));
        break;
      }
    }
  }
}

function addTo<S>(index: Map<string, Set<S>>, key: string, subscriber: S): () => void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(subscriber);
  return () => {
    set!.delete(subscriber);
    if (set!.size === 0 && index.get(key) === set) index.delete(key);
  };
}

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
  const write = (m: StreamMessage) => {
    const id = m.kind === 'event' ? `id: ${m.event.sequence}\n` : '';
    raw.write(`${id}data: ${JSON.stringify(m)}\n\n`);
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
    (m) => socket.readyState === socket.OPEN && socket.send(JSON.stringify(m)),
    () => socket.close(),
  );
  const untrack = hub.track(() => socket.close(1012, 'the server asks the client to reconnect'));
  const end = () => {
    untrack();
    stop();
  };
  socket.on('close', end);
  socket.on('error', end);
}

function streamWith(
  subscribe: (subscriber: Subscriber) => () => void,
  replay: () => Promise<StreamMessage[]>,
  write: (m: StreamMessage) => void,
  fail: () => void,
): () => void {
  let held: StreamMessage[] | undefined = [];
  const unsubscribe = subscribe({ send: (m) => (held ? held.push(m) : write(m)) });
  replay().then(
    (messages) => {
      const seen = new Map<string, number>();
      for (const m of messages) {
        write(m);
        if (m.kind === 'event') seen.set(m.conversationId, Math.max(seen.get(m.conversationId) ?? 0, m.event.sequence));
      }
      write({ kind: 'ready' });
      const pending = held ?? [];
      held = undefined;
      for (const m of pending) {
        if (m.kind === 'event' && m.event.sequence <= (seen.get(m.conversationId) ?? 0)) continue;
        write(m);
      }
    },
    () => {
      unsubscribe();
      fail();
    },
  );
  return unsubscribe;
}
