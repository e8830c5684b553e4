import type { ConversationBody, PostEventResponseBody } from './types.js';

/**
 * What a Custom Endpoint service keeps of each conversation between calls: what the connector
 * said when it created the conversation (context and SDES) and the service's own dialog state.
 */

/** One conversation on one bot: the account comes from the verified token, never from the path. */
export interface SessionKey {
  accountId: string;
  botId: string;
  environment: string;
  conversationId: string;
}

export interface Session<State = Record<string, unknown>> {
  /** The create-conversation body's SDES (engagement attributes). */
  sdes: ConversationBody['sdes'];
  /** The create-conversation body's context: the conversation's type, skill, engagement, visitor. */
  context: ConversationBody['context'];
  /** The service's own dialog state; kept as JSON, so only JSON data survives. */
  state: State;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** Milliseconds since the epoch; sessions idle for longer than a store's `idleMs` are forgotten. */
  updatedAt: number;
  /**
   * The last events answered, by identity (their type and log sequence), with the answer sent:
   * a redelivery (the connector retries with the same identity) gets that answer again, and the
   * handler is not called twice. Kept by the service; a handler need not touch it.
   */
  answered?: AnsweredEvent[];
}

export interface AnsweredEvent {
  /** `TEXT#42`: the event's type and `context.lpEvent.sequence`. */
  event: string;
  answer: PostEventResponseBody;
}

/**
 * Where sessions live. Asynchronous so that any store fits (a database, Redis…). A store may
 * forget a session (idle, full): the connector answers a 404 by creating the conversation again
 * and resending the event, so a forgotten session costs the dialog state, not the conversation.
 */
export interface SessionStore<State = Record<string, unknown>> {
  get(key: SessionKey): Promise<Session<State> | undefined>;
  /** Creates or replaces. */
  set(key: SessionKey, session: Session<State>): Promise<void>;
  /** True when there was one. */
  delete(key: SessionKey): Promise<boolean>;
}

/** A week: messaging conversations stay open for days between a consumer's messages. */
export const DEFAULT_SESSION_IDLE_MS = 7 * 24 * 60 * 60 * 1000;

export interface MemorySessionsOptions {
  /** Sessions kept at once; beyond it the least recently written is forgotten. Default 10,000. */
  capacity?: number;
  /** Forgotten after this long without a write. Default a week. */
  idleMs?: number;
  now?: () => number;
}

/**
 * Sessions in this process's memory: lost on restart (then the connector re-creates each
 * conversation on its next event). Stored as JSON text, like the durable store, so a handler
 * that keeps a reference to its session cannot change the stored one behind the store's back.
 */
export class MemorySessions<State = Record<string, unknown>> implements SessionStore<State> {
  private readonly byKey = new Map<string, { json: string; updatedAt: number }>();
  private readonly capacity: number;
  private readonly idleMs: number;
  private readonly now: () => number;

  constructor(options: MemorySessionsOptions = {}) {
    this.capacity = options.capacity ?? 10_000;
    this.idleMs = options.idleMs ?? DEFAULT_SESSION_IDLE_MS;
    this.now = options.now ?? Date.now;
  }

  async get(key: SessionKey): Promise<Session<State> | undefined> {
    const id = keyOf(key);
    const entry = this.byKey.get(id);
    if (!entry) return undefined;
    if (this.now() - entry.updatedAt > this.idleMs) {
      this.byKey.delete(id);
      return undefined;
    }
    return JSON.parse(entry.json) as Session<State>;
  }

  async set(key: SessionKey, session: Session<State>): Promise<void> {
    const id = keyOf(key);
    // Re-inserted, so the Map's order is the order of last writes and the first entry is the one to forget.
    this.byKey.delete(id);
    this.byKey.set(id, { json: JSON.stringify(session), updatedAt: session.updatedAt });
    while (this.byKey.size > this.capacity) this.byKey.delete(this.byKey.keys().next().value as string);
  }

  async delete(key: SessionKey): Promise<boolean> {
    return this.byKey.delete(keyOf(key));
  }

  get size(): number {
    return this.byKey.size;
  }
}

export function keyOf(key: SessionKey): string {
  return JSON.stringify([key.accountId, key.botId, key.environment, key.conversationId]);
}
