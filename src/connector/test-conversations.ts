import type { Logger } from 'pino';
import type { Conversations } from '../platform/conversations.js';
import type { Conversation } from '../platform/types.js';
import { isDomainError, notFound } from '../errors.js';
import type { Connector } from './connector.js';

export interface TestConversationOptions {
  /** How long a test conversation stays open without its tester renewing it. */
  leaseMs?: number;
  /** How often lapsed ones are looked for. */
  sweepMs?: number;
}

/**
 * The console tester's conversations: handed straight to the bot, marked as tests wherever they
 * appear, and closed when the tester leaves. A page that closes cleanly says so; one that
 * crashes, loses its network or is reloaded just stops renewing, and whichever instance sweeps
 * next closes it, so none is left counting against the bot's open conversations or waiting in
 * an agent's queue. The lease lives in the conversation's row, so any instance serves the
 * tester and any instance sweeps.
 */
export class TestConversations {
  readonly leaseMs: number;
  private readonly sweepMs: number;
  private timer?: NodeJS.Timeout;
  private sweeping: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: { connector: Connector; conversations: Conversations; log: Logger },
    options: TestConversationOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.sweepMs = options.sweepMs ?? 15_000;
  }

  open(accountId: string, botId: string): Promise<Conversation> {
    return this.deps.connector.testConversation(accountId, botId, Date.now() + this.leaseMs);
  }

  /** The tester is still there; not-found when it is not an open test conversation of the account. */
  async keep(accountId: string, conversationId: string): Promise<void> {
    if (!(await this.deps.conversations.keepTest(accountId, conversationId, Date.now() + this.leaseMs)))
      throw notFound(`no open test conversation '${conversationId}'`);
  }

  /** The tester is done with it (restart, leaving the page). A test conversation already closed is fine. */
  async end(accountId: string, conversationId: string): Promise<void> {
    const conversation = await this.deps.conversations.get(accountId, conversationId);
    if (!conversation.test) throw notFound(`no test conversation '${conversationId}'`);
    await this.close(accountId, conversationId);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.sweeping = this.sweep();
    }, this.sweepMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  private async sweep(): Promise<void> {
    try {
      for (const { accountId, conversationId } of await this.deps.conversations.lapsedTests(Date.now())) {
        this.deps.log.info({ accountId, conversationId }, 'test conversation closed: its tester left');
        await this.close(accountId, conversationId);
      }
    } catch (err) {
      this.deps.log.warn({ err }, 'sweeping test conversations failed');
    }
  }

  private async close(accountId: string, conversationId: string): Promise<void> {
    try {
      await this.deps.conversations.close(accountId, conversationId, { role: 'SYSTEM' }, { reason: 'SYSTEM' });
    } catch (error) {
      // Another instance's sweep, or the bot, came first.
      if (!isDomainError(error, 'conversation-closed')) throw error;
    }
  }
}
