import type { Generated, Kysely, Migration, Selectable } from 'kysely';
import { tablesOf, type Dialect, type MigrationDb, type Store } from '../store/index.js';
import { snapshot, type AuditActorKind, type AuditEntry, type AuditInput } from './shape.js';

/**
 * The audit log: every change made through the admin API or the console, every sign-in and
 * failed sign-in, in the store (every instance writes to, and reads, the same log), kept for the
 * retention and then pruned a batch at a time.
 */

type AuditTables = {
  audit_log: {
    /** Insertion order: the log's order, and its cursor. */
    seq: Generated<number>;
    at: number;
    actor_kind: string;
    actor_id: string | null;
    actor_name: string;
    address: string;
    account_id: string | null;
    action: string;
    object_type: string;
    object_id: string | null;
    outcome: number;
    /** JSON, redacted before it is written (shape.ts `snapshot`). */
    before_json: string | null;
    after_json: string | null;
    request_id: string | null;
  };
};

type Row = Selectable<AuditTables['audit_log']>;
type Insertable = Omit<Row, 'seq'>;

export function auditMigrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0220_audit_log': {
      async up(db: MigrationDb) {
        await db.schema
          .createTable('audit_log')
          .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('actor_kind', 'text', (c) => c.notNull())
          .addColumn('actor_id', 'text')
          .addColumn('actor_name', 'text', (c) => c.notNull())
          .addColumn('address', 'text', (c) => c.notNull())
          .addColumn('account_id', 'text')
          .addColumn('action', 'text', (c) => c.notNull())
          .addColumn('object_type', 'text', (c) => c.notNull())
          .addColumn('object_id', 'text')
          .addColumn('outcome', 'integer', (c) => c.notNull())
          .addColumn('before_json', 'text')
          .addColumn('after_json', 'text')
          .addColumn('request_id', 'text')
          .execute();
        // The filters: an account's log, someone's doings, an object's history, the pruning by age.
        await db.schema.createIndex('audit_log_account').on('audit_log').columns(['account_id', 'seq']).execute();
        await db.schema.createIndex('audit_log_actor_id').on('audit_log').columns(['actor_id', 'seq']).execute();
        await db.schema.createIndex('audit_log_actor_name').on('audit_log').columns(['actor_name', 'seq']).execute();
        await db.schema
          .createIndex('audit_log_object')
          .on('audit_log')
          .columns(['object_type', 'object_id', 'seq'])
          .execute();
        await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
      },
    },
  };
}

export interface AuditQuery {
  /** Only this account's entries. */
  accountId?: string;
  /** An actor's id or name (an operator's login, `api-token:<name>`, `admin-token`). */
  actor?: string;
  objectType?: string;
  objectId?: string;
  /** Exact: `PATCH /admin/v1/accounts/:acc/bots/:id`. */
  action?: string;
  /** Epoch milliseconds, inclusive. */
  from?: number;
  /** Epoch milliseconds, exclusive. */
  to?: number;
  /** The `next` of the previous page. */
  cursor?: string;
  limit?: number;
}

export interface AuditOptions {
  /** How long entries are kept (AUDIT_RETENTION_DAYS). */
  retentionDays: number;
  now?: () => number;
}

/** Old rows removed per statement: small, so pruning never holds the table for long. */
export const PRUNE_BATCH = 100;
/** A prune that found less than a full batch waits this long before the next one. */
const PRUNE_PAUSE_MS = 60_000;
const DAY_MS = 24 * 60 * 60 * 1000;

export const encodeCursor = (seq: number) => String(seq);
export const decodeCursor = (cursor: string): number | undefined => {
  if (!/^\d{1,15}$/.test(cursor)) return undefined;
  return Number(cursor);
};

export class AuditLog {
  private readonly db: Kysely<AuditTables>;
  private readonly now: () => number;
  private readonly dialect: Dialect;
  private nextPruneAt = 0;
  private pruning?: Promise<number>;

  constructor(
    store: Store,
    private readonly options: AuditOptions,
  ) {
    this.db = tablesOf<AuditTables>(store.db);
    this.now = options.now ?? Date.now;
    this.dialect = store.dialect;
  }

  /**
   * Writes one entry. Before and after are redacted here, whoever calls, so no caller can put a
   * secret in the log by forgetting to. Single sign-on records its sign-ins through this.
   */
  async record(input: AuditInput): Promise<void> {
    const at = input.at ?? this.now();
    const row: Insertable = {
      at,
      actor_kind: input.actor.kind,
      actor_id: storable(input.actor.id),
      actor_name: storable(input.actor.name),
      address: storable(input.address),
      account_id: storable(input.accountId),
      action: storable(input.action),
      object_type: storable(input.object.type),
      object_id: storable(input.object.id),
      outcome: input.outcome,
      before_json: snapshot(input.before),
      after_json: snapshot(input.after),
      request_id: storable(input.requestId),
    };
    await this.db.insertInto('audit_log').values(row).execute();
    // Pruning rides on writing: a log nobody writes to does not grow.
    if (this.now() >= this.nextPruneAt) void this.prune().catch(() => undefined);
  }

  /** A page of entries, newest first; `next` is the cursor of the following page. */
  async list(query: AuditQuery): Promise<{ entries: AuditEntry[]; next?: string }> {
    const limit = query.limit ?? 50;
    let q = this.db.selectFrom('audit_log').selectAll();
    if (query.accountId !== undefined) q = q.where('account_id', '=', query.accountId);
    if (query.actor !== undefined) {
      const actor = query.actor;
      q = q.where((eb) => eb.or([eb('actor_id', '=', actor), eb('actor_name', 'in', [actor, actor.toLowerCase()])]));
    }
    if (query.objectType !== undefined) q = q.where('object_type', '=', query.objectType);
    if (query.objectId !== undefined) q = q.where('object_id', '=', query.objectId);
    if (query.action !== undefined) q = q.where('action', '=', query.action);
    if (query.from !== undefined) q = q.where('at', '>=', query.from);
    if (query.to !== undefined) q = q.where('at', '<', query.to);
    const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    if (after !== undefined) q = q.where('seq', '<', after);
    const rows = await q
      .orderBy('seq', 'desc')
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    return {
      entries: page.map(entryOf),
      ...(rows.length > limit ? { next: encodeCursor(Number(page[page.length - 1].seq)) } : {}),
    };
  }

  /**
   * Removes entries older than the retention, at most a batch per statement, batch after batch
   * while full ones are found; then rests a while. Resolves to the number removed.
   */
  prune(): Promise<number> {
    if (this.pruning !== undefined) return this.pruning;
    this.pruning = (async () => {
      let removed = 0;
      try {
        for (;;) {
          const cutoff = this.now() - this.options.retentionDays * DAY_MS;
          const result = await this.db
            .deleteFrom('audit_log')
            .where('seq', 'in', (eb) => {
              const old = eb.selectFrom('audit_log').select('seq').where('at', '<', cutoff).limit(PRUNE_BATCH);
              // Another instance pruning the same rows is skipped past, not waited for.
              return this.dialect === 'postgres' ? old.forUpdate().skipLocked() : old;
            })
            .executeTakeFirst();
          const count = Number(result.numDeletedRows);
          removed += count;
          if (count < PRUNE_BATCH) break;
        }
        this.nextPruneAt = this.now() + PRUNE_PAUSE_MS;
        return removed;
      } finally {
        this.pruning = undefined;
      }
    })();
    return this.pruning;
  }
}

/**
 * The text as PostgreSQL can hold it: a failed sign-in's login or a route parameter is whatever
 * the caller typed, NULs included, and a refused write is to be recorded all the same.
 */
function storable<T extends string | undefined>(text: T): T extends string ? string : null;
function storable(text: string | undefined): string | null {
  return text === undefined ? null : text.replaceAll('\u0000', '\uFFFD');
}

function entryOf(row: Row): AuditEntry {
  const parse = (text: string | null) => (text === null ? undefined : (JSON.parse(text) as unknown));
  return {
    id: String(row.seq),
    at: Number(row.at),
    actor: {
      kind: row.actor_kind as AuditActorKind,
      ...(row.actor_id !== null ? { id: row.actor_id } : {}),
      name: row.actor_name,
    },
    address: row.address,
    ...(row.account_id !== null ? { accountId: row.account_id } : {}),
    action: row.action,
    object: { type: row.object_type, ...(row.object_id !== null ? { id: row.object_id } : {}) },
    outcome: Number(row.outcome),
    ...(row.before_json !== null ? { before: parse(row.before_json) } : {}),
    ...(row.after_json !== null ? { after: parse(row.after_json) } : {}),
    ...(row.request_id !== null ? { requestId: row.request_id } : {}),
  };
}
