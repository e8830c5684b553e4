import type { FastifyPluginAsync } from 'fastify';
import { invalid } from '../errors.js';
import { NO_NUL, accountParams, anyJson, errorResponses } from '../http/schemas.js';
import type {} from '../operators/guard.js';
import { decodeCursor, type AuditLog, type AuditQuery } from './log.js';

export interface AuditRoutesDeps {
  audit: AuditLog;
  /** That the account exists (not-found otherwise): the platform's directory. */
  requireAccount(accountId: string): Promise<unknown>;
}

const tags = ['audit'];
const security = [{ bearer: [] }];

const entrySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    at: { type: 'integer', description: 'Epoch milliseconds' },
    actor: {
      type: 'object',
      description: 'Who: an operator (their login), an API token (`api-token:<name>`), the admin token',
      properties: {
        kind: { type: 'string', enum: ['admin-token', 'operator', 'api-token', 'anonymous'] },
        id: { type: 'string' },
        name: { type: 'string' },
      },
      required: ['kind', 'name'],
    },
    address: { type: 'string', description: 'The client address (TRUST_PROXY decides whose)' },
    accountId: { type: 'string' },
    action: { type: 'string', description: 'Method and route: `PATCH /admin/v1/accounts/:acc/bots/:id`' },
    object: {
      type: 'object',
      properties: { type: { type: 'string' }, id: { type: 'string' } },
      required: ['type'],
    },
    outcome: { type: 'integer', description: 'The HTTP status answered (4xx: refused, nothing changed)' },
    before: anyJson('The object as the API showed it before (secrets redacted); absent when unknown'),
    after: anyJson('The object after (secrets redacted); null when it is gone'),
    requestId: { type: 'string' },
  },
  required: ['id', 'at', 'actor', 'address', 'action', 'object', 'outcome'],
} as const;

const pageSchema = {
  type: 'object',
  properties: {
    entries: { type: 'array', items: entrySchema },
    next: { type: 'string', description: 'The cursor of the next (older) page; absent on the last' },
  },
  required: ['entries'],
} as const;

const filters = {
  actor: {
    type: 'string',
    maxLength: 300,
    pattern: NO_NUL,
    description: 'An actor’s id or name (login, `api-token:<name>`)',
  },
  objectType: {
    type: 'string',
    maxLength: 64,
    pattern: NO_NUL,
    description: 'e.g. bot, skill, app, api-token, operator, session',
  },
  objectId: { type: 'string', maxLength: 300, pattern: NO_NUL },
  action: {
    type: 'string',
    maxLength: 300,
    pattern: NO_NUL,
    description: 'Exact: `PATCH /admin/v1/accounts/:acc/bots/:id`',
  },
  from: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Epoch milliseconds, inclusive' },
  to: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, description: 'Epoch milliseconds, exclusive' },
  cursor: { type: 'string', maxLength: 40 },
  limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
} as const;

type Filters = Omit<AuditQuery, 'accountId'>;

const description =
  'Every change made through the admin API or the console (refused ones too), and every sign-in and failed sign-in: who, from where, what, when, and the object before and after, secrets never shown. Newest first; pass `next` back as `cursor` for older entries. Kept for AUDIT_RETENTION_DAYS.';

function queryOf(raw: Filters): Filters {
  if (raw.cursor !== undefined && decodeCursor(raw.cursor) === undefined)
    throw invalid('cursor is not one this list gave');
  return raw;
}

/** Reading the audit log: the installation's whole (super-admins), an account's (its owners). */
export const auditAdmin: FastifyPluginAsync<AuditRoutesDeps> = async (server, { audit, requireAccount }) => {
  server.get<{ Querystring: Filters }>(
    '/audit',
    {
      config: { permission: 'installation:manage' },
      schema: {
        tags,
        security,
        summary: 'The installation’s audit log',
        description,
        querystring: { type: 'object', properties: filters, additionalProperties: false },
        response: { 200: pageSchema, ...errorResponses },
      },
    },
    async (request) => audit.list(queryOf(request.query)),
  );

  server.get<{ Params: { acc: string }; Querystring: Filters }>(
    '/accounts/:acc/audit',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'The account’s audit log: changes to it and its objects',
        description,
        params: accountParams,
        querystring: { type: 'object', properties: filters, additionalProperties: false },
        response: { 200: pageSchema, ...errorResponses },
      },
    },
    async (request) => {
      await requireAccount(request.params.acc);
      return audit.list({ ...queryOf(request.query), accountId: request.params.acc });
    },
  );
};
