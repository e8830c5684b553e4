import type { Db } from '../store/index.js';
import type { Assignee, Sdes } from './types.js';

export interface Candidate {
  userId: number;
  userType: 'HUMAN' | 'BOT';
  botId: string | null;
  open: number;
  max: number | null;
}

/**
 * Least-loaded candidate that still has room (a null cap means unlimited), lowest id on ties so
 * routing is deterministic. Pure: the store query gathers candidates, this decides.
 */
export function pickLeastLoaded(candidates: Candidate[]): Candidate | undefined {
  let best: Candidate | undefined;
  for (const c of candidates) {
    if (c.max !== null && c.open >= c.max) continue;
    if (!best || c.open < best.open || (c.open === best.open && c.userId < best.userId)) best = c;
  }
  return best;
}

export function hasCapacity(c: Candidate): boolean {
  return c.max === null || c.open < c.max;
}

export function toAssignee(c: Candidate): Assignee {
  return { userId: String(c.userId), userType: c.userType, ...(c.botId ? { botId: c.botId } : {}) };
}

/** ONLINE bot users serving the skill, with their current load. */
export async function onlineBots(db: Db, skillId: number): Promise<Candidate[]> {
  const rows = await db
    .selectFrom('users')
    .innerJoin('user_skills', 'user_skills.user_id', 'users.id')
    .select([
      'users.id',
      'users.user_type',
      'users.bot_id',
      'users.max_conversations',
      'users.open_conversations as open',
    ])
    .where('user_skills.skill_id', '=', skillId)
    .where('users.user_type', '=', 'BOT')
    .where('users.state', '=', 'ONLINE')
    .execute();
  return rows.map((r) => ({
    userId: r.id,
    userType: r.user_type,
    botId: r.bot_id,
    open: Number(r.open),
    max: r.max_conversations,
  }));
}

/**
 * One user of the account as a routing candidate, or undefined when unknown. `lock` (PostgreSQL)
 * holds the user's row until the change commits: two changes handing the same agent a
 * conversation at once take turns, and the second reads the load the first committed (a locking
 * read returns the row's latest version), so a cap holds however many instances assign at once.
 */
export async function candidate(
  db: Db,
  accountId: string,
  userId: number,
  lock = false,
): Promise<(Candidate & { online: boolean }) | undefined> {
  const query = db
    .selectFrom('users')
    .select([
      'users.id',
      'users.user_type',
      'users.bot_id',
      'users.max_conversations',
      'users.state',
      'users.open_conversations as open',
    ])
    .where('users.account_id', '=', accountId)
    .where('users.id', '=', userId);
  const r = await (lock ? query.forUpdate() : query).executeTakeFirst();
  if (!r) return undefined;
  return {
    userId: r.id,
    userType: r.user_type,
    botId: r.bot_id,
    open: Number(r.open),
    max: r.max_conversations,
    online: r.state === 'ONLINE',
  };
}

/**
 * SDES updates merge by engagement-attribute type: a new `personal` SDE deep-merges into the
 * stored `personal` one, other types are kept. Pure.
 */
export function mergeSdes(current: Sdes, update: Sdes): Sdes {
  return {
    authenticatedSdes: deepMerge(current.authenticatedSdes ?? {}, update.authenticatedSdes ?? {}),
    unauthenticatedSdes: deepMerge(current.unauthenticatedSdes ?? {}, update.unauthenticatedSdes ?? {}),
  };
}

/** An SDE list (the LivePerson `[{type, ...}]` form) as a keyed SDES patch. */
export function sdesFromList(list: { type: string; [k: string]: unknown }[], authenticated = false): Sdes {
  const keyed: Record<string, unknown> = {};
  for (const sde of list) keyed[sde.type] = deepMerge((keyed[sde.type] as Record<string, unknown>) ?? {}, sde);
  return authenticated ? { authenticatedSdes: keyed } : { unauthenticatedSdes: keyed };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}
