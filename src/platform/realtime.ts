import type { EventBus, PlatformEvent } from './bus.js';
import type { StreamMessage } from './types.js';

export interface Subscriber {
  /** `json` is the message as JSON text, written once however many streams send it. */
  send(message: StreamMessage, json: () => string): void;
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
 * account, so an event costs only its own listeners, however many streams are open. It knows
 * nothing of how a stream travels: SSE and WebSocket (stream-transports.ts) subscribe to it and
 * tell it how to end them.
 */
export class RealtimeHub {
  private readonly consumers = new Map<string, Set<ConversationSubscriber>>();
  private readonly agents = new Map<string, Set<AgentSubscriber>>();
  /** How to end each open stream, so a shutdown does not wait on them forever. */
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

  /** An open stream's way to end itself, so endAll can reach it; returns how to forget it. */
  track(end: () => void): () => void {
    this.ends.add(end);
    return () => this.ends.delete(end);
  }

  /** Ends every open stream (shutdown, or a change listener that was cut off): clients reconnect and resume. */
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
        const message = outgoing({ kind: 'event', conversationId: conversation.conversationId, event: e.event });
        sendTo(consumers, message, (s) => e.event.audience === 'ALL' || s.includePrivate === true);
        sendTo(agents, message, (a) => a.userId === conversation.assignee?.userId);
        break;
      }
      case 'conversation.typing': {
        const message = outgoing({
          kind: 'typing',
          conversationId: conversation.conversationId,
          originator: e.originator,
          typing: e.typing,
        });
        sendTo(consumers, message, (s) => e.originator.role !== 'CONSUMER' || s.includePrivate === true);
        sendTo(agents, message, (a) => a.userId === conversation.assignee?.userId && e.originator.role === 'CONSUMER');
        break;
      }
      case 'conversation.opened':
      case 'conversation.assigned':
      case 'conversation.closed': {
        const message = outgoing({ kind: 'conversation', conversation });
        const previous = e.type === 'conversation.assigned' ? e.previousAssignee?.userId : undefined;
        const previousSkill = e.type === 'conversation.assigned' ? e.previousSkillId : undefined;
        sendTo(
          agents,
          message,
          (a) =>
            a.userId === conversation.assignee?.userId ||
            a.userId === previous ||
            a.skillIds.has(conversation.skill.id) ||
            (previousSkill !== undefined && a.skillIds.has(previousSkill)),
        );
        if (e.type !== 'conversation.opened') sendTo(consumers, message, () => true);
        break;
      }
    }
  }
}

export interface Outgoing {
  message: StreamMessage;
  json: () => string;
}

/** A message and its JSON text, made when the first stream needs it and shared by the rest. */
export function outgoing(message: StreamMessage): Outgoing {
  let text: string | undefined;
  return { message, json: () => (text ??= JSON.stringify(message)) };
}

function sendTo<S extends Subscriber>(
  subscribers: Set<S> | undefined,
  { message, json }: Outgoing,
  concerned: (subscriber: S) => boolean,
): void {
  if (!subscribers) return;
  for (const subscriber of subscribers) if (concerned(subscriber)) subscriber.send(message, json);
}

function addTo<S>(index: Map<string, Set<S>>, key: string, subscriber: S): () => void {
  let set = index.get(key);
  if (!set) {
    set = new Set();
    index.set(key, set);
  }
  const subscribers = set;
  subscribers.add(subscriber);
  return () => {
    subscribers.delete(subscriber);
    if (subscribers.size === 0 && index.get(key) === subscribers) index.delete(key);
  };
}
