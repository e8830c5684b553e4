import type { FastifyInstance } from 'fastify';
import { accountParams } from '../http/schemas.js';
import type { Directory } from '../platform/directory.js';
import type { KeyRing } from './keys.js';
import type { AppTokens } from './tokens.js';

const tags = ['admin'];
const security = [{ bearer: [] }];

/** Admin API for app installations and signing-key rotation. */
export function registerSentinelAdminRoutes(
  server: FastifyInstance,
  deps: { apps: AppTokens; keys: KeyRing; directory: Directory },
): void {
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
      },
    },
    async (request, reply) => {
      await deps.directory.requireAccount(request.params.acc);
      const app = await deps.apps.install(request.params.acc, request.body);
      return reply
        .status(201)
        .send({ client_id: app.clientId, client_secret: app.clientSecret, scope: app.scope, name: app.name });
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
      },
    },
    async (request) => {
      await deps.directory.requireAccount(request.params.acc);
      const apps = await deps.apps.list(request.params.acc);
      return { apps: apps.map((a) => ({ client_id: a.clientId, name: a.name, scope: a.scope })) };
    },
  );

  server.post(
    '/sentinel/rotate-keys',
    {
      schema: {
        tags,
        security,
        summary: 'Rotate the app-token signing key; the previous key stays published until its tokens expire',
      },
    },
    async () => deps.keys.rotate(),
  );
}
