import Database from 'better-sqlite3';
import { ensurePrivateFile, tightenIfPresent } from '../../util/private-files.js';
import { DEFAULT_SESSION_IDLE_MS, type Session, type SessionKey, type SessionStore } from './sessions.js';

export interface SqliteSessionsOptions {
  /** Forgotten after this long without a write. Default a week. */
  idleMs?: number;
  now?: () => number;
}

/** Idle sessions are swept at most this often, on a write: no timer keeps the process alive. */
const SWEEP_EVERY_MS = 60_000;

/**
 * Sessions in a SQLite file (better-sqlite3), so a restarted bot service still knows its
 * conversations and answers 404 only for the ones it truly lacks. Several processes may share
 * the file (WAL, with a busy timeout). The file holds SDES, which is personal data: it is made
 * readable by its owner only.
 */
export class SqliteSessions<State = Record<string, unknown>> implements SessionStore<State> {
  private readonly db: Database.Database;
  private readonly idleMs: number;
  private readonly now: () => number;
  private lastSweep = 0;
  private readonly statements: {
    get: Database.Statement<[string, string, string, string], { session: string; updated_at: number }>;
    set: Database.Statement<[string, string, string, string, string, number, number]>;
    delete: Database.Statement<[string, string, string, string]>;
    sweep: Database.Statement<[number]>;
  };

  constructor(path: string, options: SqliteSessionsOptions = {}) {
    this.idleMs = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.now = options.now ?? Date.now;
    const onDisk = path !== ':memory:' && path !== '';
    if (onDisk) ensurePrivateFile(path);
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // Survives a crash of the process; FULL would also survive a power cut, at a cost per write.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    if (onDisk) for (const suffix of ['-wal', '-shm']) tightenIfPresent(`${path}${suffix}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS conversation_sessions (
        account_id TEXT NOT NULL,
        bot_id TEXT NOT NULL,
        environment TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        session TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (account_id, bot_id, environment, conversation_id)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS conversation_sessions_updated_at ON conversation_sessions (updated_at);
    `);
    const where = 'account_id = ? AND bot_id = ? AND environment = ? AND conversation_id = ?';
    this.statements = {
      get: this.db.prepare(`SELECT session, updated_at FROM conversation_sessions WHERE ${where}`),
      set: this.db.prepare(
        `INSERT INTO conversation_sessions (account_id, bot_id, environment, conversation_id, session, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (account_id, bot_id, environment, conversation_id)
         DO UPDATE SET session = excluded.session, updated_at = excluded.updated_at`,
      ),
      delete: this.db.prepare(`DELETE FROM conversation_sessions WHERE ${where}`),
      sweep: this.db.prepare('DELETE FROM conversation_sessions WHERE updated_at < ?'),
    };
    this.sweep();
  }

  async get(key: SessionKey): Promise<Session<State> | undefined> {
    const row = this.statements.get.get(...params(key));
    if (!row) return undefined;
    if (this.now() - row.updated_at > this.idleMs) {
      this.statements.delete.run(...params(key));
      return undefined;
    }
    return JSON.parse(row.session) as Session<State>;
  }

  async set(key: SessionKey, session: Session<State>): Promise<void> {
    this.statements.set.run(...params(key), JSON.stringify(session), session.createdAt, session.updatedAt);
    if (this.now() - this.lastSweep >= SWEEP_EVERY_MS) this.sweep();
  }

  async delete(key: SessionKey): Promise<boolean> {
    return this.statements.delete.run(...params(key)).changes > 0;
  }

  /** Forgets every session idle for longer than `idleMs`; returns how many. */
  sweep(): number {
    this.lastSweep = this.now();
    return this.statements.sweep.run(this.lastSweep - this.idleMs).changes;
  }

  close(): void {
    this.db.close();
  }
}

function params(key: SessionKey): [string, string, string, string] {
  return [key.accountId, key.botId, key.environment, key.conversationId];
}
