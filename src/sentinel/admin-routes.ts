import type {} from '../operators/guard.js';
import type { FastifyPluginAsync } from 'fastify';
import { accountParams, errorResponses, noContent } from '../http/schemas.js';
import { conflict } from '../errors.js';
import type { Accounts, App } from './tokens.js';
import type { KeyRing } from './keys.js';
import type { AppTokens } from './tokens.js';

export interface SentinelAdminDeps {
  apps: AppTokens;
  keys: KeyRing;
  directory: Accounts;
  /** Who uses the apps (the connector's bots, which refer to them): listed with each app, told of a rotation. */
  appUsers?: AppUsers;
}

/** A bot on an app, after a rotation: how its test connection went once its cached tokens were dropped. */
export interface RotatedBot {
  id: string;
  name: string;
  status: string;
  test: { ok: boolean; state?: string; version?: string; code?: string; error?: string };
}

export interface AppUsers {
  botsOf(accountId: string, clientId: string): Array<{ id: string; name: string }>;
  rotated(accountId: string, clientId: string): Promise<RotatedBot[]>;
}

const botRef = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' } },
  required: ['id', 'name'],
} as const;

const tags = ['admin'];

const appParams = {
  type: 'object',
  properties: {
    acc: accountParams.properties.acc,
    clientId: { type: 'string', minLength: 1, maxLength: 64 },
  },
  required: ['acc', 'clientId'],
} as const;
const security = [{ bearer: [] }];

/** An app installation as listed: never its secret. */
const appSchema = {
  type: 'object',
  properties: { client_id: { type: 'string' }, name: { type: 'string' }, scope: { type: 'string' } },
  required: ['client_id', 'name', 'scope'],
} as const;

/** An app as the list shows it: with the bots that refer to it. */
const listedAppSchema = {
  ...appSchema,
  properties: {
    ...appSchema.properties,
    bots: {
      type: 'array',
      items: botRef,
      description: 'The bots that refer to this app (their calls carry its tokens)',
    },
  },
} as const;

/** An app with its client secret: the answer of the two calls that make one, the only times it is shown. */
const appWithSecretSchema = {
  type: 'object',
  properties: {
    ...appSchema.properties,
    client_secret: { type: 'string', description: 'Shown only here: keep it' },
  },
  required: ['client_id', 'client_secret', 'scope', 'name'],
} as const;

/** A rotation's answer: the new secret, and the app's bots as they are after it. */
const rotatedSchema = {
  ...appWithSecretSchema,
  properties: {
    ...appWithSecretSchema.properties,
    bots: {
      type: 'array',
      description:
        'The bots on this app: they keep working (they refer to the app, not its secret); their cached tokens were dropped and each was tested again',
      items: {
        type: 'object',
        properties: {
          ...botRef.properties,
          status: { type: 'string' },
          test: {
            type: 'object',
            properties: {
              ok: { type: 'boolean' },
              state: { type: 'string' },
              version: { type: 'string' },
              code: { type: 'string' },
              error: { type: 'string' },
            },
            required: ['ok'],
          },
        },
        required: ['id', 'name', 'status', 'test'],
      },
    },
  },
} as const;

const withSecret = (app: App & { clientSecret: string }) => ({
  client_id: app.clientId,
  client_secret: app.clientSecret,
  scope: app.scope,
  name: app.name,
});

/**
 * Sentinel's part of the admin API: app installations and signing-key rotation. Mounted under
 * /admin/v1, whose scope checks the admin token (app.ts).
 */
export const sentinelAdmin: FastifyPluginAsync<SentinelAdminDeps> = async (server, deps) => {
  server.post<{ Params: { acc: string }; Body: { name: string; scope: string } }>(
    '/accounts/:acc/apps',
    {
      config: { permission: 'account:write' },
      schema: {
        tags,
        security,
        summary: 'Install an app; the client secret is shown only in this answer',
        params: accountParams,
        body: {
          type: 'object',
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 255 },
            scope: { type: 'string', minLength: 1, maxLength: 1024 },
          },
          required: ['name', 'scope'],
        },
        response: { 201: appWithSecretSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deps.directory.requireAccount(request.params.acc);
      return reply.status(201).send(withSecret(await deps.apps.install(request.params.acc, request.body)));
    },
  );

  server.get<{ Params: { acc: string } }>(
    '/accounts/:acc/apps',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'List app installations (secrets are never shown again)',
        params: accountParams,
        response: {
          200: {
            type: 'object',
            properties: { apps: { type: 'array', items: listedAppSchema } },
            required: ['apps'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await deps.directory.requireAccount(request.params.acc);
      const apps = await deps.apps.list(request.params.acc);
      return {
        apps: apps.map((a) => ({
          client_id: a.clientId,
          name: a.name,
          scope: a.scope,
          bots: deps.appUsers?.botsOf(a.accountId, a.clientId) ?? [],
        })),
      };
    },
  );

  server.post<{ Params: { acc: string; clientId: string } }>(
    '/accounts/:acc/apps/:clientId/secret',
    {
      config: { permission: 'account:write' },
      schema: {
        tags,
        security,
        summary:
          'Rotate an app’s client secret: the new one is shown only in this answer, the old one stops working; the app’s bots are tested again',
        params: appParams,
        response: { 200: rotatedSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { acc, clientId } = request.params;
      await deps.directory.requireAccount(acc);
      const rotated = withSecret(await deps.apps.rotateSecret(acc, clientId));
      return { ...rotated, bots: (await deps.appUsers?.rotated(acc, clientId)) ?? [] };
    },
  );

  server.delete<{ Params: { acc: string; clientId: string } }>(
    '/accounts/:acc/apps/:clientId',
    {
      config: { permission: 'account:write' },
      schema: {
        tags,
        security,
        summary: 'Remove an app installation (refused while bots refer to it): its secret and tokens stop working',
        params: appParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { acc, clientId } = request.params;
      await deps.directory.requireAccount(acc);
      const bots = deps.appUsers?.botsOf(acc, clientId) ?? [];
      if (bots.length)
        throw conflict(
          `bots refer to this app: ${bots.map((b) => `'${b.name}'`).join(', ')}; point them at another app first`,
          'app-in-use',
        );
      await deps.apps.remove(acc, clientId);
      return reply.status(204).send();
    },
  );

  server.post(
    '/sentinel/rotate-keys',
    {
      config: { permission: 'installation:manage' },
      schema: {
        tags,
        security,
        summary: 'Rotate the app-token signing key; the previous key stays published until its tokens expire',
        response: {
          200: {
            type: 'object',
            properties: {
              kid: { type: 'string', description: 'The new signing key' },
              retired: { type: 'array', items: { type: 'string' }, description: 'The keys it replaces' },
            },
            required: ['kid', 'retired'],
          },
          ...errorResponses,
        },
      },
    },
    async () => deps.keys.rotate(),
  );
};
