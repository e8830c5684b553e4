import type { BotSettings } from './types.js';
import type { Logger } from 'pino';
import type { Conversations } from '../platform/conversations.js';
import type { Originator } from '../platform/types.js';
import { isDomainError } from '../errors.js';

/** The bot a timer speaks for. */
export interface InactiveBot {
  botId: string;
  userId: string;
  accountId: string;
  settings: BotSettings;
}

/**
 * Chat inactivity (CHAT bots): after the bot has spoken, a warning once the consumer has been
 * silent for a while, then a close. Timers live in memory and are rebuilt from the log when an
 * instance starts driving the bot, so they survive a restart or a failover.
 */
export class ChatInactivity {
  private readonly timers = new Map<string, { botId: string; timers: NodeJS.Timeout[] }>();

  constructor(
    private readonly deps: {
      conversations: Conversations;
      log: Logger;
      /** Runs the task in the conversation's queue, after whatever is ahead of it. */
      inLane: (conversationId: string, task: () => Promise<unknown>) => void;
    },
  ) {}

  /** The bot just spoke (at `since`): the consumer's silence is counted from then. */
  arm(bot: InactiveBot, conversationId: string, since = Date.now(), warned = false): void {
    const { chatInactivity, conversationType } = bot.settings;
    if (!chatInactivity.enabled || conversationType !== 'CHAT') return;
    this.clear(conversationId);
    const speaker: Originator = { role: 'BOT', userId: bot.userId };
    const acc = bot.accountId;
    const { conversations, log, inLane } = this.deps;
    // The conversation may close or move meanwhile (closed, not found: nothing to do); anything else is logged.
    const attempt = (what: string, work: () => Promise<unknown>) =>
      work().catch((err) => {
        if (isDomainError(err, 'conversation-closed') || (isDomainError(err) && err.kind === 'not-found')) return;
        log.error({ err, botId: bot.botId, conversationId }, `chat inactivity: could not ${what}`);
      });
    const at = (seconds: number) => Math.max(0, since + seconds * 1000 - Date.now());
    const timers: NodeJS.Timeout[] = [];
    if (!warned) {
      timers.push(
        setTimeout(
          () =>
            inLane(conversationId, () =>
              attempt('send the warning', () =>
                conversations.post(acc, conversationId, speaker, { text: chatInactivity.warningText }),
              ),
            ),
          at(chatInactivity.warningAfterSeconds),
        ),
      );
    }
    timers.push(
      setTimeout(
        () =>
          inLane(conversationId, () =>
            attempt('close the conversation', () =>
              conversations.act(acc, conversationId, speaker, [
                { kind: 'message', message: { text: chatInactivity.closeText } },
                { kind: 'close', reason: 'BOT' },
              ]),
            ),
          ),
        at(chatInactivity.closeAfterSeconds),
      ),
    );
    this.timers.set(conversationId, { botId: bot.botId, timers });
  }

  /**
   * The timers of every conversation the bot holds where it spoke last, counted from its last
   * words (or, if those were the warning, from the answer the warning followed).
   */
  async rebuild(bot: InactiveBot): Promise<void> {
    const { chatInactivity, conversationType } = bot.settings;
    if (!chatInactivity.enabled || conversationType !== 'CHAT') return;
    for (const conversation of await this.deps.conversations.heldBy(bot.accountId, bot.userId)) {
      const [last] = await this.deps.conversations.eventsAfter(
        conversation.conversationId,
        conversation.lastSequence - 1,
      );
      if (last?.originator.role !== 'BOT' || last.audience !== 'ALL') continue;
      const warned = last.text === chatInactivity.warningText;
      this.arm(
        bot,
        conversation.conversationId,
        warned ? last.serverTimestamp - chatInactivity.warningAfterSeconds * 1000 : last.serverTimestamp,
        warned,
      );
    }
  }

  clear(conversationId: string): void {
    this.timers.get(conversationId)?.timers.forEach(clearTimeout);
    this.timers.delete(conversationId);
  }

  dropBot(botId: string): void {
    for (const [conversationId, entry] of this.timers) if (entry.botId === botId) this.clear(conversationId);
  }

  clearAll(): void {
    for (const entry of this.timers.values()) entry.timers.forEach(clearTimeout);
    this.timers.clear();
  }
}
