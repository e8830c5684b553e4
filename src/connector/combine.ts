import type { BotSettings } from './types.js';
import type { ConversationEvent } from '../platform/types.js';

type CombineSettings = BotSettings['combineMessages'];

interface Held {
  botId: string;
  settings: CombineSettings;
  events: ConversationEvent[];
  timer?: NodeJS.Timeout;
}

/**
 * Combine messages: a bot set to it gets a consumer's quick messages as one event, once
 * `maxMessages` have arrived or the consumer has been quiet for the time frame (longer while they
 * type). Only timing lives here: the messages themselves are in the store, and whatever a
 * restart drops from this buffer is recovered from there.
 */
export class CombineBuffer {
  private readonly held = new Map<string, Held>();

  constructor(private readonly release: (conversationId: string, botId: string, events: ConversationEvent[]) => void) {}

  add(conversationId: string, botId: string, settings: CombineSettings, event: ConversationEvent): void {
    const held = this.held.get(conversationId) ?? { botId, settings, events: [] };
    this.held.set(conversationId, held);
    held.events.push(event);
    if (held.events.length >= settings.maxMessages) this.flush(conversationId);
    else this.wait(conversationId, settings.timeFrameSeconds * 1000);
  }

  /** Typing extends the window: wait for the consumer to finish their thought. */
  typing(conversationId: string, typing: boolean): void {
    const held = this.held.get(conversationId);
    if (!held) return;
    const { timeFrameSeconds, timeFrameAfterTypingSeconds } = held.settings;
    this.wait(
      conversationId,
      (typing ? timeFrameSeconds + timeFrameAfterTypingSeconds : timeFrameAfterTypingSeconds) * 1000,
    );
  }

  /** Forgets the conversation (it left the bot, or closed); nothing is released. */
  drop(conversationId: string): void {
    clearTimeout(this.held.get(conversationId)?.timer);
    this.held.delete(conversationId);
  }

  /** Forgets every conversation of the bot (this instance stopped driving it). */
  dropBot(botId: string): void {
    for (const [conversationId, held] of this.held) if (held.botId === botId) this.drop(conversationId);
  }

  clear(): void {
    for (const held of this.held.values()) clearTimeout(held.timer);
    this.held.clear();
  }

  private wait(conversationId: string, ms: number): void {
    const held = this.held.get(conversationId);
    if (!held) return;
    clearTimeout(held.timer);
    held.timer = setTimeout(() => this.flush(conversationId), ms);
  }

  private flush(conversationId: string): void {
    const held = this.held.get(conversationId);
    if (!held) return;
    this.drop(conversationId);
    this.release(conversationId, held.botId, held.events);
  }
}
