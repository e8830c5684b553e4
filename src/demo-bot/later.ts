import type { Logger } from 'pino';
import {
  createPublicApiClient,
  PublicApiCredentialsError,
  type MessagesCommand,
  type PublicApiClient,
} from '../sdk/custom-endpoint/index.js';

/** The Public API login the demo bot uses for an account's later replies. */
export interface PublicApiLogin {
  username: string;
  password: string;
}

export interface DemoBotPublicApi {
  /** Where the domain lookup is asked: the platform's URL (a function when known only after listen). */
  domainLookup: string | (() => string);
  /** The account's login, or undefined when the bot has none there (then "later" says it cannot). */
  login(accountId: string): Promise<PublicApiLogin | undefined>;
}

/**
 * The asynchronous pattern: the event is answered at once with a holding text, and the real
 * reply goes out through the Public API a few seconds later. The wait is a timer in this
 * process: a demo bot that stops meanwhile never sends it (a production service would keep its
 * pending replies where a restart finds them). One client per account, kept while its login works.
 */
export class LaterReplies {
  private readonly clients = new Map<string, PublicApiClient>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly publicApi: DemoBotPublicApi,
    private readonly delayMs: number,
    private readonly log: Logger,
  ) {}

  async available(accountId: string): Promise<boolean> {
    return !this.closed && (await this.publicApi.login(accountId)) !== undefined;
  }

  schedule(accountId: string, conversationId: string, command: MessagesCommand): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.send(accountId, conversationId, command);
    }, this.delayMs);
    this.timers.add(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.clients.values()].map((client) => client.dispose()));
    this.clients.clear();
  }

  private async send(accountId: string, conversationId: string, command: MessagesCommand): Promise<void> {
    try {
      const client = await this.clientFor(accountId);
      if (!client) {
        this.log.warn({ accountId, conversationId }, 'demo bot: no Public API login any more; later reply not sent');
        return;
      }
      const { jobId } = await client.sendMessages(conversationId, command);
      this.log.info({ accountId, conversationId, jobId }, 'demo bot: later reply queued through the Public API');
    } catch (error) {
      // A changed password: the next reply reads the login again.
      if (error instanceof PublicApiCredentialsError) this.forget(accountId);
      this.log.warn(
        { accountId, conversationId, err: error instanceof Error ? error.message : String(error) },
        'demo bot: later reply not sent',
      );
    }
  }

  private async clientFor(accountId: string): Promise<PublicApiClient | undefined> {
    const kept = this.clients.get(accountId);
    if (kept) return kept;
    const login = await this.publicApi.login(accountId);
    if (!login || this.closed) return undefined;
    const raced = this.clients.get(accountId);
    if (raced) return raced;
    const { domainLookup } = this.publicApi;
    const client = createPublicApiClient({
      accountId,
      ...login,
      domainLookup: typeof domainLookup === 'function' ? domainLookup() : domainLookup,
    });
    this.clients.set(accountId, client);
    return client;
  }

  private forget(accountId: string): void {
    const client = this.clients.get(accountId);
    this.clients.delete(accountId);
    void client?.dispose();
  }
}
