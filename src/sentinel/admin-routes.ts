import type { FastifyPluginAsync } from 'fastify';
import { accountParams, errorResponses } from '../http/schemas.js';
import type { Accounts, App } from './tokens.js';
import type { KeyRing } from './keys.js';
import type { AppTokens } from './tokens.js';

export interface SentinelAdminDeps {
  apps: AppTokens;
  keys: KeyRing;
  directory: Accounts;
}

const tags = ['admin'];
const security = [{ bearer: [] }];

/** An app installation as listed: never its secret. */
const appSchema = {
  type: 'object',
  properties: { client_id: { type: 'string' }, name: { type: 'string' }, scope: { type: 'string' } },
  required: ['client_id', 'name', 'scope'],
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
      schema: {
        tags,
        security,
        summary: 'List app installations (secrets are never shown again)',
        params: accountParams,
        response: {
          200: {
            type: 'object',
            properties: { apps: { type: 'array', items: appSchema } },
            required: ['apps'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await deps.directory.requireAccount(request.params.acc);
      const apps = await deps.apps.list(request.params.acc);
      return { apps: apps.map((a) => ({ client_id: a.clientId, name: a.name, scope: a.scope })) };
    },
  );

  server.post<{ Params: { acc: string; clientId: string } }>(
    '/accounts/:acc/apps/:clientId/secret',
    {
      schema: {
        tags,
        security,
        summary: 'Rotate an app’s client secret: the new one is shown only in this answer, the old one stops working',
        params: {
          type: 'object',
          properties: {
            acc: accountParams.properties.acc,
            clientId: { type: 'string', minLength: 1, maxLength: 64 },
          },
          required: ['acc', 'clientId'],
        },
        response: { 200: appWithSecretSchema, ...errorResponses },
      },
    },
    async (request) => {
      await deps.directory.requireAccount(request.params.acc);
      return withSecret(await deps.apps.rotateSecret(request.params.acc, request.params.clientId));
    },
  );

  server.post(
    '/sentinel/rotate-keys',
    {
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
