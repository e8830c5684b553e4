/**
 * The audit log as the console reads it: its entries, the page's filters, and what changed
 * between an entry's before and after. Kept apart from api.ts: it is the Audit log page's alone.
 */
import type { AuditEntry } from '../../../../audit/shape.js';
import { ApiError, OPERATOR_SESSION, OPERATOR_SESSION_ENDED } from './api';

export type { AuditActor, AuditEntry } from '../../../../audit/shape.js';

export interface AuditPage {
  entries: AuditEntry[];
  next?: string;
}

/** The page's filters, as GET …/audit takes them. */
export interface AuditQuery {
  actor?: string;
  objectType?: string;
  objectId?: string;
  from?: number;
  to?: number;
  cursor?: string;
  limit?: number;
}

export function auditQueryString(query: AuditQuery): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '') params.set(key, String(value));
  return params.toString();
}

/** One account's audit log (its owners'). */
export async function accountAudit(
  token: string,
  accountId: string,
  query: AuditQuery,
  signal?: AbortSignal,
): Promise<AuditPage> {
  const headers: Record<string, string> = { accept: 'application/json', 'x-botbridge-console': '1' };
  if (token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(`/admin/v1/accounts/${encodeURIComponent(accountId)}/audit?${auditQueryString(query)}`, {
      headers,
      signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'network', 'The server could not be reached. Check that botbridge is running.');
  }
  const body = (await response.json().catch(() => undefined)) as
    | (AuditPage & { error?: { code?: string; message?: string } })
    | undefined;
  if (!response.ok) {
    if (response.status === 401 && token === OPERATOR_SESSION) window.dispatchEvent(new Event(OPERATOR_SESSION_ENDED));
    throw new ApiError(
      response.status,
      body?.error?.code ?? `http-${response.status}`,
      body?.error?.message ?? response.statusText,
    );
  }
  return body as AuditPage;
}

/** One difference between before and after: where, and the two values (undefined: absent). */
export interface Change {
  path: string;
  before: unknown;
  after: unknown;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * What differs between two JSON values, leaf by leaf (`vendor.baseUrl`); arrays compare whole,
 * since an item moved is not an item changed.
 */
export function changesBetween(before: unknown, after: unknown, path = ''): Change[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((key) => changesBetween(before[key], after[key], path ? `${path}.${key}` : key));
  }
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  return [{ path: path || '(whole object)', before, after }];
}

const ACTIONS: Record<string, string> = {
  secret: 'rotated the secret of',
  start: 'started',
  stop: 'stopped',
  'test-connection': 'tested the connection of',
  conformance: 'checked the conformance of',
};
const VERBS: Record<string, string> = {
  POST: 'created or acted on',
  PUT: 'replaced',
  PATCH: 'changed',
  DELETE: 'deleted',
};

/** The action in words: "Signed in", "changed bot", "POST …/start". */
export function describeAction(entry: AuditEntry): string {
  const [method, route = ''] = entry.action.split(' ');
  if (route.endsWith('/session')) {
    if (method === 'DELETE') return 'Signed out';
    return entry.outcome < 300 ? 'Signed in' : 'Failed sign-in';
  }
  // Giving an operator a role on the account answers the operator: not a new operator.
  if (method === 'POST' && route.endsWith('/accounts/:acc/operators')) return 'gave a role to operator';
  const last = route.split('/').pop() ?? '';
  // An action on an object (…/bots/:id/start): its name says it best.
  if (method === 'POST' && last && !last.startsWith(':') && !route.endsWith(`/${entry.object.type}s`))
    return `${ACTIONS[last] ?? last.replace(/-/g, ' ')} ${entry.object.type}`;
  if (method === 'POST') return `created ${entry.object.type}`;
  return `${VERBS[method] ?? method} ${entry.object.type}`;
}
