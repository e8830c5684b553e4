import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { accountParams, errorResponses, noContent } from '../http/schemas.js';
import { forbidden } from '../errors.js';
import type { Operators } from './operators.js';
import { ROLES, mayGrant, type Actor, type Role } from './permissions.js';
import type {} from './guard.js';

export interface OperatorRoutesDeps {
  operators: Operators;
  /** That the account exists (not-found otherwise): the platform's directory. */
  requireAccount(accountId: string): Promise<unknown>;
}

const tags = ['operators'];
const security = [{ bearer: [] }];

const roleSchema = { type: 'string', enum: [...ROLES] } as const;
const loginSchema = { type: 'string', minLength: 1, maxLength: 254, pattern: '^[^\\s\\u0000]+$' } as const;
const passwordSchema = { type: 'string', minLength: 8, maxLength: 1024 } as const;
const idParams = {
  type: 'object',
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['id'],
} as const;
const accountIdParams = {
  type: 'object',
  properties: { ...accountParams.properties, id: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['acc', 'id'],
} as const;

const operatorSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    login: { type: 'string' },
    name: { type: 'string' },
    superAdmin: { type: 'boolean' },
    hasPassword: { type: 'boolean', description: 'False for one who signs in only through single sign-on' },
    roles: { type: 'object', additionalProperties: roleSchema, description: 'Role per account id' },
    createdAt: { type: 'integer', description: 'Epoch milliseconds' },
  },
  required: ['id', 'login', 'name', 'superAdmin', 'hasPassword', 'roles', 'createdAt'],
} as const;

const apiTokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    accountId: { type: 'string' },
    name: { type: 'string' },
    role: roleSchema,
    createdBy: { type: 'string', description: 'Who made it: an operator’s login, or admin-token' },
    createdAt: { type: 'integer' },
    lastUsedAt: { type: ['integer', 'null'] },
    revokedAt: { type: ['integer', 'null'] },
  },
  required: ['id', 'accountId', 'name', 'role', 'createdBy', 'createdAt', 'lastUsedAt', 'revokedAt'],
} as const;

const actorSchema = {
  type: 'object',
  description: 'Who the caller is, and what they may do',
  properties: {
    kind: { type: 'string', enum: ['admin-token', 'operator', 'api-token'] },
    id: { type: 'string' },
    login: { type: 'string' },
    name: { type: 'string' },
    superAdmin: { type: 'boolean' },
    roles: { type: 'object', additionalProperties: roleSchema, description: 'Role per account id' },
  },
  required: ['kind', 'superAdmin', 'roles'],
} as const;

/** How an actor is named in records (API tokens' `createdBy`, the audit log). */
export function actorName(actor: Actor): string {
  switch (actor.kind) {
    case 'admin-token':
      return 'admin-token';
    case 'operator':
      return actor.login;
    case 'api-token':
      return `api-token:${actor.name}`;
  }
}

const actorOf = (request: FastifyRequest): Actor => {
  if (!request.actor) throw new Error('an admin route ran without its actor');
  return request.actor;
};

/**
 * Operators and their roles, API tokens, and who the caller is: mounted in the admin scope, so
 * the guard has found the actor and checked each route's permission before the handler runs.
 */
export const operatorAdmin: FastifyPluginAsync<OperatorRoutesDeps> = async (server, { operators, requireAccount }) => {
  server.get(
    '/me',
    {
      config: { permission: 'installation:read' },
      schema: {
        tags,
        security,
        summary: 'Who the caller is: its kind, super-admin or not, its role per account',
        response: { 200: actorSchema, ...errorResponses },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      switch (actor.kind) {
        case 'admin-token':
          return { kind: actor.kind, superAdmin: true, roles: {} };
        case 'operator': {
          const operator = await operators.require(actor.id);
          return {
            kind: actor.kind,
            id: operator.id,
            login: operator.login,
            name: operator.name,
            superAdmin: operator.superAdmin,
            roles: operator.roles,
          };
        }
        case 'api-token':
          return {
            kind: actor.kind,
            id: actor.id,
            name: actor.name,
            superAdmin: false,
            roles: { [actor.accountId]: actor.role },
          };
      }
    },
  );

  // ---- operators of the installation (super-admins) ----

  server.post<{ Body: { login: string; name?: string; password?: string; superAdmin?: boolean } }>(
    '/operators',
    {
      config: { permission: 'installation:manage' },
      schema: {
        tags,
        security,
        summary: 'Add an operator (a password signs them in; without one, only single sign-on does)',
        body: {
          type: 'object',
          properties: {
            login: loginSchema,
            name: { type: 'string', minLength: 1, maxLength: 255 },
            password: passwordSchema,
            superAdmin: { type: 'boolean' },
          },
          required: ['login'],
          additionalProperties: false,
        },
        response: { 201: operatorSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await operators.create(request.body)),
  );

  server.get(
    '/operators',
    {
      config: { permission: 'installation:manage' },
      schema: {
        tags,
        security,
        summary: 'Every operator of the installation, with their roles',
        response: {
          200: {
            type: 'object',
            properties: { operators: { type: 'array', items: operatorSchema } },
            required: ['operators'],
          },
          ...errorResponses,
        },
      },
    },
    async () => ({ operators: await operators.list() }),
  );

  server.patch<{ Params: { id: string }; Body: { name?: string; password?: string | null; superAdmin?: boolean } }>(
    '/operators/:id',
    {
      config: { permission: 'installation:manage' },
      schema: {
        tags,
        security,
        summary: 'Change an operator: name, password (null: single sign-on only), super-admin',
        params: idParams,
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 255 },
            password: { anyOf: [passwordSchema, { type: 'null' }] },
            superAdmin: { type: 'boolean' },
          },
          additionalProperties: false,
          minProperties: 1,
        },
        response: { 200: operatorSchema, ...errorResponses },
      },
    },
    async (request) => {
      const actor = actorOf(request);
      if (actor.kind === 'operator' && actor.id === request.params.id && request.body.superAdmin === false)
        throw forbidden('a super-admin cannot take their own super-admin away: another one must');
      return operators.update(request.params.id, request.body);
    },
  );

  server.delete<{ Params: { id: string } }>(
    '/operators/:id',
    {
      config: { permission: 'installation:manage' },
      schema: {
        tags,
        security,
        summary: 'Remove an operator: their sessions end at their next request',
        params: idParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      if (actor.kind === 'operator' && actor.id === request.params.id)
        throw forbidden('an operator cannot remove themselves');
      await operators.remove(request.params.id);
      return reply.status(204).send();
    },
  );

  // ---- who operates an account (its owners) ----

  server.get<{ Params: { acc: string } }>(
    '/accounts/:acc/operators',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'The operators with a role on the account',
        params: accountParams,
        response: {
          200: {
            type: 'object',
            properties: { operators: { type: 'array', items: operatorSchema } },
            required: ['operators'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await requireAccount(request.params.acc);
      return { operators: await operators.ofAccount(request.params.acc) };
    },
  );

  server.post<{ Params: { acc: string }; Body: { login: string; role: Role } }>(
    '/accounts/:acc/operators',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'Give an operator (by login) a role on the account, replacing the one they had',
        params: accountParams,
        body: {
          type: 'object',
          properties: { login: loginSchema, role: roleSchema },
          required: ['login', 'role'],
          additionalProperties: false,
        },
        response: { 200: operatorSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { acc } = request.params;
      await requireAccount(acc);
      const login = request.body.login.toLowerCase();
      const operator = await operators.findByLogin(login);
      if (!operator) throw forbidden(`no operator signs in as '${login}': a super-admin adds operators`);
      return operators.setRole(operator.id, acc, request.body.role);
    },
  );

  server.delete<{ Params: { acc: string; id: string } }>(
    '/accounts/:acc/operators/:id',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'Take an operator’s role on the account away',
        params: accountIdParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await requireAccount(request.params.acc);
      await operators.removeRole(request.params.id, request.params.acc);
      return reply.status(204).send();
    },
  );

  // ---- API tokens (automation) ----

  server.post<{ Params: { acc: string }; Body: { name: string; role: Role } }>(
    '/accounts/:acc/api-tokens',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'A token for automation with one role on the account: shown only in this answer',
        description: 'Send it as `Authorization: Bearer bbt_…`. Its role is at most the caller’s own on the account.',
        params: accountParams,
        body: {
          type: 'object',
          properties: { name: { type: 'string', minLength: 1, maxLength: 255 }, role: roleSchema },
          required: ['name', 'role'],
          additionalProperties: false,
        },
        response: {
          201: {
            ...apiTokenSchema,
            properties: {
              ...apiTokenSchema.properties,
              token: { type: 'string', description: 'Shown only here: keep it' },
            },
            required: [...apiTokenSchema.required, 'token'],
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { acc } = request.params;
      const actor = actorOf(request);
      await requireAccount(acc);
      if (!mayGrant(actor, acc, request.body.role))
        throw forbidden(`a token's role is at most your own on account '${acc}'`);
      return reply.status(201).send(await operators.issueToken(acc, request.body, actorName(actor)));
    },
  );

  server.get<{ Params: { acc: string } }>(
    '/accounts/:acc/api-tokens',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'The account’s API tokens (never the tokens themselves), with their last use',
        params: accountParams,
        response: {
          200: {
            type: 'object',
            properties: { tokens: { type: 'array', items: apiTokenSchema } },
            required: ['tokens'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await requireAccount(request.params.acc);
      return { tokens: await operators.tokens(request.params.acc) };
    },
  );

  server.delete<{ Params: { acc: string; id: string } }>(
    '/accounts/:acc/api-tokens/:id',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags,
        security,
        summary: 'Revoke an API token: refused from its next request on, on every instance',
        params: accountIdParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await requireAccount(request.params.acc);
      await operators.revokeToken(request.params.acc, request.params.id);
      return reply.status(204).send();
    },
  );
};
