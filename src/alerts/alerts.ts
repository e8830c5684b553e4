import { randomUUID } from 'node:crypto';
import type { Kysely, Migration } from 'kysely';
import { request, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { invalid, notFound } from '../errors.js';
import { tablesOf, type Dialect, type MigrationDb, type Store } from '../store/index.js';
import type { AlertDelivery, AlertDestination, AlertEvent, AlertFormat, AlertState, AlertTestResult } from './types.js';

/**
 * Alerts: per account, webhook destinations (Slack- and Teams-compatible bodies, or the event as
 * JSON) told when a bot's status changes between ONLINE and an interruption. Each event is written
 * to an outbox in the store, one row per destination, under a key that makes a second write of the
 * same change a no-op; a worker on every instance claims due rows (a claim with an expiry, so one
 * instance sends each at a time: the cluster sends it once) and sends them with retries and
 * exponential backoff. The rows stay, delivered or failed, for the console's list.
 */

/** The bot statuses an alert is about; OFFLINE is an operator's doing, not an alert. */
const WATCHED = new Set(['ONLINE', 'VENDOR_INTERRUPTION', 'SERVICE_INTERRUPTION']);

export type AlertTables = {
  alert_destinations: {
    id: string;
    account_id: string;
    name: string;
    /** Never logged, nor shown whole by the API: a webhook URL is a credential. */
    url: string;
    format: string;
    created_at: number;
  };
  alert_events: {
    id: string;
    /** The event's identity and the destination: a second write of the same event is a no-op. */
    key: string;
    event_id: string;
    account_id: string;
    destination_id: string;
    kind: string;
    /** JSON: the AlertEvent. */
    payload: string;
    state: string;
    attempts: number;
    /** When it is next due (pending). */
    next_at: number;
    /** The instance sending it now, until claim_until. */
    claimed_by: string | null;
    claim_until: number | null;
    last_error: string | null;
    created_at: number;
    delivered_at: number | null;
  };
  alert_rules: {
    id: string;
    account_id: string;
    kind: string;
    threshold: number;
    window_minutes: number;
    min_count: number;
    bot_id: string | null;
    created_at: number;
  };
  /** A rule's condition per subject (a bot, or '' for the account): firing since when, or not. */
  alert_rule_states: {
    rule_id: string;
    subject: string;
    firing_since: number | null;
    /** The value at the last change of state. */
    value: number | null;
    changed_at: number;
  };
};

export function alertMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '0230_alerts': {
      async up(db: MigrationDb) {
        await db.schema
          .createTable('alert_destinations')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('alert_destinations_account')
          .on('alert_destinations')
          .column('account_id')
          .execute();
        await db.schema
          .createTable('alert_events')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('key', 'text', (c) => c.notNull().unique())
          .addColumn('event_id', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('destination_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('state', 'text', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull())
          .addColumn('next_at', 'bigint', (c) => c.notNull())
          .addColumn('claimed_by', 'text')
          .addColumn('claim_until', 'bigint')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('delivered_at', 'bigint')
          .execute();
        await db.schema.createIndex('alert_events_due').on('alert_events').columns(['state', 'next_at']).execute();
        await db.schema
          .createIndex('alert_events_account')
          .on('alert_events')
          .columns(['account_id', 'created_at'])
          .execute();
      },
    },
    '0231_alert_rules': {
      async up(db: MigrationDb) {
        await db.schema
          .createTable('alert_rules')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('kind', 'text', (c) => c.notNull())
          .addColumn('threshold', 'double precision', (c) => c.notNull())
          .addColumn('window_minutes', 'integer', (c) => c.notNull())
          .addColumn('min_count', 'integer', (c) => c.notNull())
          .addColumn('bot_id', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('alert_rules_account').on('alert_rules').column('account_id').execute();
        await db.schema
          .createTable('alert_rule_states')
          .addColumn('rule_id', 'text', (c) => c.notNull())
          .addColumn('subject', 'text', (c) => c.notNull())
          .addColumn('firing_since', 'bigint')
          .addColumn('value', 'double precision')
          .addColumn('changed_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('alert_rule_states_key', ['rule_id', 'subject'])
          .execute();
        // The prune's look-up of old alerts, delivered or given up.
        await db.schema.createIndex('alert_events_created').on('alert_events').columns(['created_at']).execute();
      },
    },
  };
}

/** A bot's status change, as the connector reports it. */
export interface BotStatusChange {
  accountId: string;
  botId: string;
  botName: string;
  from: string;
  to: string;
  lastError: { code: string; message: string; at: number } | null;
  /** The last error the bot had before the change: a return to ONLINE is identified by the interruption it ends. */
  previousError: { at: number } | null;
}

export interface AlertTimings {
  /** How often each instance looks for due alerts (it also looks at once when it writes one). */
  pollMs: number;
  /** The first retry's delay; each next one doubles, up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Attempts before an alert is given up as failed. */
  maxAttempts: number;
  /** One webhook call's time limit. */
  timeoutMs: number;
  /** How long a claim keeps other instances off an alert being sent (longer than timeoutMs). */
  claimMs: number;
}

export const DEFAULT_ALERT_TIMINGS: AlertTimings = {
  pollMs: 2_000,
  backoffMs: 2_000,
  maxBackoffMs: 5 * 60_000,
  maxAttempts: 10,
  timeoutMs: 10_000,
  claimMs: 60_000,
};

export interface AlertsDeps {
  store: Store;
  dispatcher: Dispatcher;
  log: Logger;
  /** This instance, for its claims. */
  instance: string;
  timings?: Partial<AlertTimings>;
  now?: () => number;
}

const DUE_BATCH = 20;

/** Checks a destination URL: http or https, no user name or password in it. Its parsed form. */
export function checkDestinationUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('url is not a URL', 'invalid-url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('url must be http or https', 'invalid-url');
  if (url.username || url.password)
    throw invalid('url must not hold a user name or password: use the webhook URL the service issues', 'invalid-url');
  return url;
}

/** The URL as the API shows it: scheme and host, the path (the webhook's secret) left out. */
export function shownUrl(text: string): string {
  try {
    const url = new URL(text);
    return url.pathname === '/' && !url.search ? `${url.origin}/` : `${url.origin}/…`;
  } catch {
    return '…';
  }
}

/** The body a destination of the format is sent. */
export function bodyFor(format: AlertFormat, event: AlertEvent): unknown {
  switch (format) {
    case 'slack':
      return { text: event.text };
    case 'teams':
      return {
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        summary: event.text,
        themeColor:
          event.to === 'ONLINE' || event.state === 'resolved' ? '2EB886' : event.kind === 'test' ? '439FE0' : 'D00000',
        title:
          event.kind === 'test'
            ? 'botbridge test alert'
            : event.kind === 'bot-status'
              ? 'botbridge bot status'
              : `botbridge ${event.kind} ${event.state ?? ''}`.trim(),
        text: event.text,
      };
    case 'json':
      return event;
  }
}

function statusText(change: BotStatusChange): string {
  const bot = `Bot “${change.botName}” (${change.botId}) of account ${change.accountId}`;
  if (change.to === 'ONLINE') return `${bot} is back ONLINE (was ${change.from}).`;
  const why = change.lastError ? `: ${change.lastError.code} — ${change.lastError.message}` : '';
  return `${bot} is in ${change.to} (was ${change.from})${why}`;
}

export class Alerts {
  private readonly db: Kysely<AlertTables>;
  private readonly timings: AlertTimings;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private closed = false;

  constructor(private readonly deps: AlertsDeps) {
    this.db = tablesOf<AlertTables>(deps.store.db);
    this.timings = { ...DEFAULT_ALERT_TIMINGS, ...deps.timings };
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    this.timer = setInterval(() => this.kick(), this.timings.pollMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }

  // ---- destinations ----

  async destinations(accountId: string): Promise<AlertDestination[]> {
    const rows = await this.db
      .selectFrom('alert_destinations')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(destinationOf);
  }

  async addDestination(
    accountId: string,
    input: { name: string; url: string; format: AlertFormat },
  ): Promise<AlertDestination> {
    checkDestinationUrl(input.url);
    const row = {
      id: randomUUID(),
      account_id: accountId,
      name: input.name,
      url: input.url,
      format: input.format,
      created_at: this.now(),
    };
    await this.db.insertInto('alert_destinations').values(row).execute();
    return destinationOf(row);
  }

  async removeDestination(accountId: string, id: string): Promise<void> {
    const result = await this.db
      .deleteFrom('alert_destinations')
      .where('account_id', '=', accountId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!Number(result.numDeletedRows)) throw notFound(`unknown alert destination '${id}'`);
    // What it still owed is given up: there is nowhere to send it.
    await this.db
      .updateTable('alert_events')
      .set({ state: 'failed', last_error: 'destination removed', claimed_by: null, claim_until: null })
      .where('destination_id', '=', id)
      .where('state', '=', 'pending')
      .execute();
  }

  /** Sends a test alert to the destination now; how it went (also kept in the account's events). */
  async test(accountId: string, id: string): Promise<AlertTestResult> {
    const destination = await this.db
      .selectFrom('alert_destinations')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!destination) throw notFound(`unknown alert destination '${id}'`);
    const at = this.now();
    const event: AlertEvent = {
      id: randomUUID(),
      accountId,
      kind: 'test',
      at,
      text: `Test alert from botbridge for account ${accountId} (destination “${destination.name}”).`,
    };
    const started = performance.now();
    const outcome = await this.send(destination.url, destination.format as AlertFormat, event);
    const durationMs = Math.round(performance.now() - started);
    await this.db
      .insertInto('alert_events')
      .values({
        id: randomUUID(),
        key: `test:${event.id}`,
        event_id: event.id,
        account_id: accountId,
        destination_id: id,
        kind: 'test',
        payload: JSON.stringify(event),
        state: outcome.ok ? 'delivered' : 'failed',
        attempts: 1,
        next_at: at,
        claimed_by: null,
        claim_until: null,
        last_error: outcome.error ?? null,
        created_at: at,
        delivered_at: outcome.ok ? this.now() : null,
      })
      .execute();
    return { ...outcome, durationMs };
  }

  // ---- events ----

  /** The account's alerts, newest first, one per destination. */
  async events(accountId: string, limit = 50): Promise<AlertDelivery[]> {
    const rows = await this.db
      .selectFrom('alert_events')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((row) => ({
      id: row.id,
      eventId: row.event_id,
      destinationId: row.destination_id,
      kind: row.kind,
      state: row.state as AlertState,
      attempts: Number(row.attempts),
      ...(row.last_error !== null ? { lastError: row.last_error } : {}),
      createdAt: Number(row.created_at),
      ...(row.state === 'pending' ? { nextAttemptAt: Number(row.next_at) } : {}),
      ...(row.delivered_at !== null ? { deliveredAt: Number(row.delivered_at) } : {}),
      event: JSON.parse(row.payload) as AlertEvent,
    }));
  }

  /**
   * A bot's status changed: an alert for each of the account's destinations when the change is
   * between ONLINE and an interruption. Its key is the change's identity — the bot, the new
   * status and the error that started the interruption (for a return to ONLINE, the one it
   * ends) — so the same change reported twice (two instances, a retried write) is written once.
   */
  async botStatusChanged(change: BotStatusChange): Promise<void> {
    if (change.from === change.to || !WATCHED.has(change.from) || !WATCHED.has(change.to)) return;
    const at = this.now();
    const cause = change.to === 'ONLINE' ? change.previousError?.at : change.lastError?.at;
    const identity = `status:${change.botId}:${change.from}>${change.to}:${cause ?? at}`;
    const event: AlertEvent = {
      id: randomUUID(),
      accountId: change.accountId,
      kind: 'bot-status',
      at,
      text: statusText(change),
      bot: { id: change.botId, name: change.botName },
      from: change.from,
      to: change.to,
      ...(change.lastError && change.to !== 'ONLINE'
        ? { lastError: { code: change.lastError.code, message: change.lastError.message } }
        : {}),
    };
    if (await this.enqueue(identity, event)) this.kick();
  }

  /**
   * One outbox row per destination of the account; whether any was new. `db` is the caller's
   * transaction when the event is written with the change it reports (then the caller kicks the
   * worker once it is committed).
   */
  async enqueue(identity: string, event: AlertEvent, db: Kysely<AlertTables> = this.db): Promise<boolean> {
    const destinations = await db
      .selectFrom('alert_destinations')
      .select('id')
      .where('account_id', '=', event.accountId)
      .execute();
    if (!destinations.length) return false;
    const result = await db
      .insertInto('alert_events')
      .values(
        destinations.map((d) => ({
          id: randomUUID(),
          key: `${identity}|${d.id}`,
          event_id: event.id,
          account_id: event.accountId,
          destination_id: d.id,
          kind: event.kind,
          payload: JSON.stringify(event),
          state: 'pending',
          attempts: 0,
          next_at: event.at,
          claimed_by: null,
          claim_until: null,
          last_error: null,
          created_at: event.at,
          delivered_at: null,
        })),
      )
      .onConflict((oc) => oc.column('key').doNothing())
      .returning('id')
      .execute();
    return result.length > 0;
  }

  // ---- the worker ----

  /** Looks for due alerts now (again once the round under way is done). */
  kick(): void {
    if (this.closed) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.round()
      .catch((err) => this.deps.log.warn({ err }, 'alerts: a delivery round failed'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Claims and sends the due alerts, until none is left. */
  private async round(): Promise<void> {
    for (;;) {
      const now = this.now();
      const due = await this.db
        .selectFrom('alert_events')
        .select('id')
        .where('state', '=', 'pending')
        .where('next_at', '<=', now)
        .where((eb) => eb.or([eb('claim_until', 'is', null), eb('claim_until', '<', now)]))
        .orderBy('next_at')
        .limit(DUE_BATCH)
        .execute();
      if (!due.length || this.closed) return;
      await Promise.all(due.map((row) => this.deliver(row.id)));
      if (due.length < DUE_BATCH) return;
    }
  }

  /** Claims the alert (another instance may have first: then it is theirs) and sends it. */
  private async deliver(id: string): Promise<void> {
    const { instance, log } = this.deps;
    const now = this.now();
    const claimed = await this.db
      .updateTable('alert_events')
      .set({ claimed_by: instance, claim_until: now + this.timings.claimMs })
      .where('id', '=', id)
      .where('state', '=', 'pending')
      .where('next_at', '<=', now)
      .where((eb) => eb.or([eb('claim_until', 'is', null), eb('claim_until', '<', now)]))
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1) return;
    const row = await this.db
      .selectFrom('alert_events')
      .innerJoin('alert_destinations', 'alert_destinations.id', 'alert_events.destination_id')
      .select(['alert_events.payload', 'alert_events.attempts', 'alert_destinations.url', 'alert_destinations.format'])
      .where('alert_events.id', '=', id)
      .executeTakeFirst();
    const mine = (q: ReturnType<typeof this.claimedUpdate>) => q.where('claimed_by', '=', instance);
    if (!row) {
      await mine(this.claimedUpdate(id, { state: 'failed', last_error: 'destination removed' })).execute();
      return;
    }
    const event = JSON.parse(row.payload) as AlertEvent;
    const outcome = await this.send(row.url, row.format as AlertFormat, event);
    const attempts = Number(row.attempts) + 1;
    if (outcome.ok) {
      await mine(this.claimedUpdate(id, { state: 'delivered', attempts, delivered_at: this.now() })).execute();
      log.info({ alertId: id, kind: event.kind, attempts }, 'alert delivered');
      return;
    }
    const givenUp = attempts >= this.timings.maxAttempts;
    const delay = Math.min(this.timings.backoffMs * 2 ** (attempts - 1), this.timings.maxBackoffMs);
    await mine(
      this.claimedUpdate(id, {
        state: givenUp ? 'failed' : 'pending',
        attempts,
        last_error: outcome.error ?? null,
        next_at: this.now() + delay,
      }),
    ).execute();
    log.warn(
      { alertId: id, kind: event.kind, attempts, error: outcome.error, givenUp },
      givenUp ? 'alert given up' : 'alert delivery failed: retrying',
    );
  }

  private claimedUpdate(
    id: string,
    set: Partial<Pick<AlertTables['alert_events'], 'state' | 'attempts' | 'last_error' | 'next_at' | 'delivered_at'>>,
  ) {
    return this.db
      .updateTable('alert_events')
      .set({ ...set, claimed_by: null, claim_until: null })
      .where('id', '=', id);
  }

  /** One webhook call. Its outcome names no URL: the URL is the destination's secret. */
  private async send(
    url: string,
    format: AlertFormat,
    event: AlertEvent,
  ): Promise<{ ok: boolean; status?: number; error?: string }> {
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher: this.deps.dispatcher,
        headers: { 'content-type': 'application/json', 'user-agent': 'botbridge-alerts' },
        body: JSON.stringify(bodyFor(format, event)),
        headersTimeout: this.timings.timeoutMs,
        bodyTimeout: this.timings.timeoutMs,
        signal: AbortSignal.timeout(this.timings.timeoutMs),
      });
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      return ok
        ? { ok, status: response.statusCode }
        : { ok, status: response.statusCode, error: `HTTP ${response.statusCode}` };
    } catch (err) {
      const e = err as { code?: string; name?: string };
      return { ok: false, error: e.code ?? e.name ?? 'request failed' };
    }
  }
}

function destinationOf(row: AlertTables['alert_destinations']): AlertDestination {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    url: shownUrl(row.url),
    format: row.format as AlertFormat,
    createdAt: Number(row.created_at),
  };
}
