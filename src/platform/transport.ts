import type { Assignee, Originator } from './types.js';

/**
 * How the instances sharing one store hear of each other's changes. The bus of each instance
 * publishes its own changes directly; what other instances committed arrives here as notices,
 * which the platform turns into the same bus events, in sequence order (Conversations.receive).
 * One process (SQLite) has nobody to hear from: InProcessTransport.
 */
export interface BusTransport {
  /** Starts delivering other instances' notices; resolves once listening. */
  listen(handlers: TransportHandlers): Promise<void>;
  /** Best effort, now: what is announced, not stored (typing), or a bot's configuration changed. */
  tell(notice: TypingNotice | BotNotice): void;
  /** Undefined when there is nothing to listen to; else whether the listener is connected. */
  health(): { ok: boolean; error?: string } | undefined;
  close(): Promise<void>;
}

export interface TransportHandlers {
  change(notice: ChangeNotice): void;
  typing(notice: TypingNotice): void;
  bot(notice: BotNotice): void;
  /** The listener was cut off and is back: notices may have been missed meanwhile. */
  resync(): void;
}

/**
 * A committed change of a conversation, as the store announces it (a trigger on PostgreSQL):
 * the log entries it wrote are (from, to], and who held it, on which skill, before and after.
 */
export interface ChangeNotice {
  conversationId: string;
  accountId: string;
  from: number;
  to: number;
  holder: Assignee | null;
  skillId: number;
  status: 'OPEN' | 'CLOSED';
  /** Before the change; absent when it opened the conversation. */
  previous?: { holder: Assignee | null; skillId: number; status: 'OPEN' | 'CLOSED' };
  opened: boolean;
}

export interface TypingNotice {
  conversationId: string;
  originator: Originator;
  typing: boolean;
}

export interface BotNotice {
  botId: string;
}

/** One process alone on its store: every change is already on its own bus. */
export class InProcessTransport implements BusTransport {
  async listen(): Promise<void> {}
  tell(): void {}
  health(): undefined {
    return undefined;
  }
  async close(): Promise<void> {}
}
