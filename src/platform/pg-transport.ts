import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { BotNotice, BusTransport, ChangeNotice, TransportHandlers, TypingNotice } from './transport.js';
import type { Assignee } from './types.js';
import { sessionTimeouts, type StoreOptions } from '../store/index.js';
import { clusterTimings } from '../config.js';

const CHANNEL = 'botbridge';
/** How often the listener's connection is asked whether it is still there. */
const PING_MS = 5_000;
const RECONNECT_MAX_MS = 5_000;

/**
 * The name this process's connections carry (`application_name`): the store's change notices
 * say who wrote the change by it, so each instance skips its own. A random part keeps two
 * instances with the same INSTANCE_ID (or the same first 63 characters of one) apart.
 */
export function connectionName(instance: string): string {
  return `bb ${randomBytes(4).toString('hex')} ${instance}`.slice(0, 63);
}

/**
 * Instances on one PostgreSQL hear of each other through LISTEN/NOTIFY on one channel: change
 * notices come from a trigger on the conversations table (delivered on commit, in commit order),
 * typing and bot notices are sent as they happen. A dedicated connection listens; when it drops,
 * it is opened again and `resync` tells the platform that notices may have been missed.
 */
export class PostgresTransport implements BusTransport {
  private client?: pg.Client;
  private handlers?: TransportHandlers;
  private connected = false;
  private lastError?: string;
  private closed = false;
  private pinger?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly options: {
      connectionString: string;
      connectionName: string;
      db: Kysely<unknown>;
      log: Logger;
      /**
       * As the store's pool (default 10 s): a server that accepts and never answers fails the
       * attempt, and the retries go on, instead of one attempt waiting for as long as the socket lives.
       */
      connectTimeoutMs?: number;
      /** As the store's connections: a ping on a path gone silent fails, and the listener is opened again. */
      timeouts?: StoreOptions['timeouts'];
      /**
       * Hears how late another instance's change notice arrived, in seconds (from the change's
       * statement on PostgreSQL's clock to its delivery here on ours: their difference included).
       */
      onLag?: (seconds: number) => void;
    },
  ) {}

  async listen(handlers: TransportHandlers): Promise<void> {
    this.handlers = handlers;
    await this.connect();
  }

  tell(notice: TypingNotice | BotNotice): void {
    const payload =
      'botId' in notice
        ? { k: 'b', i: this.options.connectionName, b: notice.botId }
        : { k: 't', i: this.options.connectionName, ...notice };
    void sql`select pg_notify(${CHANNEL}, ${JSON.stringify(payload)})`
      .execute(this.options.db)
      .catch((err) => this.options.log.warn({ err }, 'could not tell the other instances'));
  }

  health(): { ok: boolean; error?: string } {
    return this.connected
      ? { ok: true }
      : { ok: false, error: this.lastError ?? 'the change listener is not connected' };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pinger);
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    await client?.end().catch(() => undefined);
  }

  private async connect(attempt = 0): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
      application_name: this.options.connectionName,
      ...sessionTimeouts(this.options.timeouts ?? clusterTimings()),
    });
    client.on('notification', (message) => this.deliver(message.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('the change listener connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      if (attempt === 0) throw error;
      this.lost(client, error as Error);
      return;
    }
    this.client = client;
    this.connected = true;
    this.lastError = undefined;
    clearInterval(this.pinger);
    // A connection cut without a FIN (a partition) stays "open" until something is sent on it.
    this.pinger = setInterval(() => {
      client.query('select 1').catch((error: Error) => this.lost(client, error));
    }, PING_MS);
    this.pinger.unref();
    if (attempt > 0) {
      this.options.log.warn({ attempts: attempt }, 'change listener connected again: catching up');
      this.handlers?.resync();
    }
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.closed || (this.client && this.client !== client) || this.retry) return;
    this.connected = false;
    this.lastError = `the change listener lost its connection: ${error.message}`;
    this.client = undefined;
    clearInterval(this.pinger);
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    this.options.log.error({ err: error }, 'change listener lost; reconnecting');
    let attempt = 1;
    const again = () => {
      this.retry = setTimeout(
        async () => {
          this.retry = undefined;
          if (this.closed) return;
          await this.connect(attempt).catch(() => undefined);
          if (!this.connected && !this.retry && !this.closed) {
            attempt++;
            again();
          }
        },
        Math.min(RECONNECT_MAX_MS, 100 * 2 ** attempt),
      );
    };
    again();
  }

  private deliver(payload: string | undefined): void {
    if (!payload || !this.handlers) return;
    let notice: Record<string, unknown>;
    try {
      notice = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      return;
    }
    if (notice.i === this.options.connectionName) return;
    try {
      if (notice.k === 'c') {
        if (typeof notice.at === 'number') this.options.onLag?.(Math.max(0, Date.now() - notice.at) / 1000);
        this.handlers.change(toChangeNotice(notice));
      } else if (notice.k === 't')
        this.handlers.typing({
          conversationId: String(notice.conversationId),
          originator: notice.originator as TypingNotice['originator'],
          typing: notice.typing === true,
        });
      else if (notice.k === 'b') this.handlers.bot({ botId: String(notice.b) });
    } catch (err) {
      this.options.log.error({ err }, 'a change notice could not be handled');
    }
  }
}

function toChangeNotice(n: Record<string, unknown>): ChangeNotice {
  const assignee = (id: unknown, type: unknown, botId: unknown): Assignee | null =>
    id === null || id === undefined
      ? null
      : { userId: String(id), userType: type === 'BOT' ? 'BOT' : 'HUMAN', ...(botId ? { botId: String(botId) } : {}) };
  const status = (v: unknown) => (v === 'CLOSED' ? 'CLOSED' : 'OPEN');
  return {
    conversationId: String(n.c),
    accountId: String(n.a),
    from: Number(n.from),
    to: Number(n.to),
    holder: assignee(n.h, n.ht, n.hb),
    skillId: Number(n.s),
    status: status(n.st),
    ...(n.op
      ? {}
      : { previous: { holder: assignee(n.ph, n.pht, n.phb), skillId: Number(n.ps), status: status(n.pst) } }),
    opened: n.op === true,
  };
}
