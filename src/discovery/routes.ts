import type { FastifyPluginAsync } from 'fastify';
import { accountParams, errorResponses } from '../http/schemas.js';
import type { Directory } from '../platform/directory.js';

/** The services every account finds here, as LivePerson's domain API names them. */
const SERVICES = ['sentinel', 'botConnectorsDomain', 'agentVep', 'asyncMessagingEnt', 'botPlatformApi'];

export interface DomainLookupDeps {
  directory: Directory;
  /** host:port this server is reached at; known only once it listens, hence a function. */
  publicHost: () => string;
}

/**
 * `baseURI.json`: where an account's services live. All of them are this server, reached at
 * `publicHost` (host:port, no scheme, as in LivePerson's answers). No auth, as at LivePerson.
 */
export const domainLookup: FastifyPluginAsync<DomainLookupDeps> = async (server, deps) => {
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
        response: {
          200: {
            type: 'object',
            properties: {
              baseURIs: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    service: { type: 'string' },
                    account: { type: 'string' },
                    baseURI: { type: 'string', description: 'host:port, no scheme' },
                  },
                  required: ['service', 'account', 'baseURI'],
                },
              },
            },
            required: ['baseURIs'],
          },
          ...errorResponses,
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
};
