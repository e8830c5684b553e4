import type { FastifyInstance } from 'fastify';
import { accountParams } from '../http/schemas.js';
import type { Directory } from '../platform/directory.js';

/** The services every account finds here, as LivePerson's domain API names them. */
const SERVICES = ['sentinel', 'botConnectorsDomain', 'agentVep', 'asyncMessagingEnt', 'botPlatformApi'];

/**
 * `baseURI.json`: where an account's services live. All of them are this server, reached at
 * `publicHost` (host:port, no scheme, as in LivePerson's answers).
 */
export function registerDiscoveryRoutes(
  server: FastifyInstance,
  deps: { directory: Directory; publicHost: () => string },
): void {
  server.get<{ Params: { acc: string }; Querystring: { version: string } }>(
    '/api/account/:acc/service/baseURI.json',
    {
      schema: {
        tags: ['discovery'],
        summary: 'Domain lookup: base URIs of the account services',
        params: accountParams,
        querystring: {
          type: 'object',
          properties: { version: { type: 'string', enum: ['1.0'] } },
          required: ['version'],
        },
      },
    },
    async (request) => {
      const { acc } = request.params;
      await deps.directory.requireAccount(acc);
      const baseURI = deps.publicHost();
      return { baseURIs: SERVICES.map((service) => ({ service, account: acc, baseURI })) };
    },
  );
}
