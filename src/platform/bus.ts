import type { Logger } from 'pino';
import type { Conversation, ConversationEvent, Assignee, Originator } from './types.js';

/**
 * What the platform announces after each change is durable. The connector, the Public API and
 * the realtime streams subscribe here; none of them reach into the platform's tables.
 */
export type PlatformEvent =
  | { type: 'conversation.opened'; conversation: Conversation }
  /** A new entry in the conversation's log (message, transfer, TTR, SDES, close...). */
  | { type: 'conversation.event'; conversation: Conversation; event: ConversationEvent }
  /** The holder changed: routed, accepted, transferred or requeued (assignee null = in queue). */
  | {
      type: 'conversation.assigned';
      conversation: Conversation;
      previousAssignee: Assignee | null;
      previousSkillId: number;
    }
  | { type: 'conversation.closed'; conversation: Conversation }
  /** Typing indicators are transient: announced, never written to the log. */
  | { type: 'conversation.typing'; conversation: Conversation; originator: Originator; typing: boolean };

export type PlatformEventType = PlatformEvent['type'];
type Handler = (event: PlatformEvent) => void | Promise<void>;

export class EventBus {
  private readonly handlers = new Set<Handler>();

  constructor(private readonly log: Logger) {}

  /** Returns the unsubscribe function. */
  subscribe(handler: Handler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /**
   * Delivers synchronously in subscription order, so a subscriber sees one conversation's
   * events in the order they were written. A failing subscriber is logged, never propagated:
   * one broken listener must not undo a durable write or starve the others.
   */
  publish(event: PlatformEvent): void {
    for (const handler of this.handlers) {
      try {
        const result = handler(event);
        if (result && typeof (result as Promise<void>).catch === 'function') {
          (result as Promise<void>).catch((err) => this.log.error({ err, event: event.type }, 'bus subscriber failed'));
        }
      } catch (err) {
        this.log.error({ err, event: event.type }, 'bus subscriber failed');
      }
    }
  }
}
