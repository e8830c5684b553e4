/**
 * The audit log's pure part: what a request is about (its object, from the route pattern), where
 * the object can be read before and after, and what of it may be kept (never a secret).
 */
import { isCredentialName, redactUrl } from '../ops/redaction.js';

export const REDACTED = '[REDACTED]';
/** A before or after larger than this is not kept whole: an audit entry is a record, not a backup. */
export const MAX_SNAPSHOT_CHARS = 64 * 1024;
/** API tokens say what they are (operators.ts): such a string is a secret whatever key holds it. */
const TOKEN_VALUE = /^bbt_[A-Za-z0-9_-]{20,}$/;

/**
 * The value with every credential hidden: values under a key the log redaction calls a
 * credential, strings that are API tokens, and credential query values in URLs. Keys are kept,
 * with the mark as value, so a diff still shows that a secret was set or changed.
 */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>))
      out[key] =
        isCredentialName(key) && inner !== null && inner !== undefined && inner !== false ? REDACTED : redact(inner);
    return out;
  }
  if (typeof value === 'string') {
    if (TOKEN_VALUE.test(value)) return REDACTED;
    if (/^[a-z][a-z0-9+.-]*:\/\/[^\s]*\?/i.test(value)) return redactUrl(value);
  }
  return value;
}

/** The redacted value as stored JSON; a value too large to keep is replaced by its size. */
export function snapshot(value: unknown): string | null {
  if (value === undefined) return null;
  const text = JSON.stringify(redact(value));
  if (text === undefined) return null;
  if (text.length <= MAX_SNAPSHOT_CHARS) return text;
  return JSON.stringify({ truncated: true, chars: text.length });
}

const segmentsOf = (pattern: string) => pattern.split('/').filter(Boolean);
const isParam = (segment: string) => segment.startsWith(':');
/** `bots` → `bot`, `api-tokens` → `api-token`: the type of one of a collection. */
export const singular = (collection: string) => (collection.endsWith('s') ? collection.slice(0, -1) : collection);

/** The keys an object's id goes by in the admin API's answers. */
const ID_KEYS = ['id', 'client_id', 'accountId'] as const;

export function idIn(answer: unknown): string | undefined {
  if (!answer || typeof answer !== 'object' || Array.isArray(answer)) return undefined;
  for (const key of ID_KEYS) {
    const id = (answer as Record<string, unknown>)[key];
    if (typeof id === 'string' && id) return id;
    if (typeof id === 'number') return String(id);
  }
  return undefined;
}

/**
 * What a write's route pattern is about. A pattern ending in a parameter names its object
 * (`/accounts/:acc/bots/:id` → bot); literals after it are an action on that object
 * (`…/bots/:id/start`, `…/apps/:clientId/secret`); a pattern ending in a collection is a create
 * in it when `isCollection` says the collection is listed there (its id is then in the answer),
 * else an action on whatever the last parameter names (`/accounts/:acc/vendor/environments`).
 */
export interface Subject {
  /** The object's type: a collection's name, singular. */
  type: string;
  /** The route parameter holding the object's id; undefined for a create (the answer names it). */
  param?: string;
  /** The pattern the object is found at (ends in `param`); for a create, the collection's. */
  at?: string;
  create: boolean;
}

/** `pattern` is relative to the admin API's prefix (`/accounts/:acc/bots/:id`). */
export function subjectOf(pattern: string, isCollection: (pattern: string) => boolean): Subject {
  const segments = segmentsOf(pattern);
  let end = segments.length;
  while (end > 0 && !isParam(segments[end - 1])) end--;
  const tail = segments.slice(end);
  const prefix = (n: number) => `/${segments.slice(0, n).join('/')}`;
  if (tail.length && isCollection(pattern)) return { type: singular(tail[tail.length - 1]), at: pattern, create: true };
  // `/sentinel/rotate-keys`: the part of the installation the action is on.
  if (end === 0) return { type: segments[0] ?? 'installation', create: false };
  const param = segments[end - 1].slice(1);
  const collection = end >= 2 ? segments[end - 2] : param;
  return { type: singular(collection), param, at: prefix(end), create: false };
}

/** The concrete URL of a pattern, its parameters filled in (each encoded). */
export function fill(pattern: string, params: Readonly<Record<string, string>>): string {
  return pattern.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => encodeURIComponent(params[name] ?? ''));
}

/** The pattern of the collection an object's pattern is in (`/a/:acc/bots/:id` → `/a/:acc/bots`). */
export function collectionOf(objectPattern: string): string {
  return objectPattern.slice(0, objectPattern.lastIndexOf('/'));
}

/** The item of a listing (the first array in the answer) whose id is `id`; null when none is. */
export function itemIn(listing: unknown, id: string): unknown {
  if (!listing || typeof listing !== 'object') return null;
  const items = Array.isArray(listing) ? listing : Object.values(listing).find(Array.isArray);
  return (items as unknown[] | undefined)?.find((item) => idIn(item) === id) ?? null;
}

export type AuditActorKind = 'admin-token' | 'operator' | 'api-token' | 'anonymous';

/** Who did it, as the audit log names them: no credential, only what tells people apart. */
export interface AuditActor {
  kind: AuditActorKind;
  /** The operator's or API token's id; none for the admin token or an unknown login. */
  id?: string;
  /** The operator's login, `api-token:<name>`, `admin-token`, or the login a failed sign-in typed. */
  name: string;
}

/** One entry, as recorded. */
export interface AuditInput {
  at?: number;
  actor: AuditActor;
  /** The client address (request.ip: TRUST_PROXY decides whose). */
  address: string;
  accountId?: string;
  /** Method and route pattern: `PATCH /admin/v1/accounts/:acc/bots/:id`. */
  action: string;
  object: { type: string; id?: string };
  /** The HTTP status answered. */
  outcome: number;
  /** The object before and after, as the API shows it; redacted here whatever the caller passes. */
  before?: unknown;
  after?: unknown;
  requestId?: string;
}

/** One entry, as read: as recorded, with its id and time. */
export interface AuditEntry extends Omit<AuditInput, 'at'> {
  id: string;
  at: number;
}
