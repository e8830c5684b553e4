import type { FastifyInstance, FastifyRequest } from 'fastify';
import { invalid as badRequest } from '../errors.js';
import { accountParams } from '../http/schemas.js';
import type { SessionTokens } from '../sentinel/tokens.js';
import {
  baseUrlProblem,
  createBotSchema,
  patchBotSchema,
  vendorSchema,
  type BotInput,
  type VendorCredentials,
} from './bot-config.js';
import type { Connector } from './connector.js';

const tags = ['admin', 'bots'];
const security = [{ bearer: [] }];
const botParams = {
  type: 'object',
  properties: { acc: accountParams.properties.acc, id: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['acc', 'id'],
} as const;

type WithVendor = { vendor: VendorCredentials };

/** What the schema cannot say about a vendor base URL: that it parses (see baseUrlProblem). */
const callableVendor = async (request: FastifyRequest) => {
  const problem = baseUrlProblem((request.body as { vendor?: { baseUrl?: string } } | undefined)?.vendor?.baseUrl);
  if (problem) throw badRequest(problem, 'invalid-request');
};
type BotRoute = { Params: { acc: string; id: string } };

/** Admin API for Custom Endpoint bots (HTTP-SURFACE.md), mounted under /admin/v1. */
export function registerConnectorAdminRoutes(
  server: FastifyInstance,
  deps: {
    connector: Connector;
    sessions: SessionTokens;
    errorCodes: Record<string, { title: string; explanation: string; fix: string }>;
  },
): void {
  const { connector, sessions } = deps;

  server.post<{ Params: { acc: string }; Body: BotInput & WithVendor }>(
    '/accounts/:acc/bots',
    {
      schema: {
        tags,
        security,
        summary: 'Create a Custom Endpoint bot (OFFLINE until started)',
        params: accountParams,
        body: createBotSchema,
      },
      preHandler: callableVendor,
    },
    async (request, reply) => {
      const bot = await connector.create(request.params.acc, request.body);
      return reply.status(201).send({ id: bot.id, status: bot.status });
    },
  );

  server.get<{ Params: { acc: string } }>(
    '/accounts/:acc/bots',
    { schema: { tags, security, summary: 'List bots with live status', params: accountParams } },
    async (request) => ({ bots: await connector.list(request.params.acc) }),
  );

  server.get<BotRoute>(
    '/accounts/:acc/bots/:id',
    {
      schema: {
        tags,
        security,
        summary: 'A bot: configuration (secret masked), status, open conversations, last error',
        params: botParams,
      },
    },
    async (request) => connector.get(request.params.acc, request.params.id),
  );

  server.patch<BotRoute & { Body: BotInput }>(
    '/accounts/:acc/bots/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Change settings (omit vendor.clientSecret to keep it)',
        params: botParams,
        body: patchBotSchema,
      },
      preHandler: callableVendor,
    },
    async (request) => connector.patch(request.params.acc, request.params.id, request.body),
  );

  server.delete<BotRoute>(
    '/accounts/:acc/bots/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Delete a bot; its open conversations are handed back to routing',
        params: botParams,
      },
    },
    async (request, reply) => {
      await connector.remove(request.params.acc, request.params.id);
      return reply.status(204).send();
    },
  );

  server.get<BotRoute>(
    '/accounts/:acc/bots/:id/environments',
    { schema: { tags, security, summary: 'The bot service’s environment list', params: botParams } },
    async (request) => ({ environments: await connector.environments(request.params.acc, request.params.id) }),
  );

  server.post<BotRoute>(
    '/accounts/:acc/bots/:id/test-connection',
    {
      schema: {
        tags,
        security,
        summary: 'Get the bot state; only `online` passes, anything else names the reason',
        params: botParams,
      },
    },
    async (request) => connector.testConnection(request.params.acc, request.params.id),
  );

  server.post<{ Params: { acc: string }; Body: WithVendor }>(
    '/accounts/:acc/vendor/environments',
    {
      schema: {
        tags,
        security,
        summary: 'Environment list for vendor credentials not saved yet',
        params: accountParams,
        body: {
          type: 'object',
          properties: { vendor: vendorSchema },
          required: ['vendor'],
          additionalProperties: false,
        },
      },
      preHandler: callableVendor,
    },
    async (request) => ({ environments: await connector.environmentsFor(request.params.acc, request.body.vendor) }),
  );

  server.post<{ Params: { acc: string }; Body: WithVendor }>(
    '/accounts/:acc/vendor/test-connection',
    {
      schema: {
        tags,
        security,
        summary: 'Test connection for vendor credentials not saved yet',
        params: accountParams,
        body: {
          type: 'object',
          properties: { vendor: vendorSchema },
          required: ['vendor'],
          additionalProperties: false,
        },
      },
      preHandler: callableVendor,
    },
    async (request) => connector.testConnectionFor(request.params.acc, request.body.vendor),
  );

  server.post<BotRoute>(
    '/accounts/:acc/bots/:id/start',
    {
      schema: {
        tags,
        security,
        summary: 'Start: test connection first; 409 with the reason when it fails',
        params: botParams,
      },
    },
    async (request) => connector.start(request.params.acc, request.params.id),
  );

  server.post<BotRoute>(
    '/accounts/:acc/bots/:id/stop',
    { schema: { tags, security, summary: 'Stop: the bot takes no new conversations', params: botParams } },
    async (request) => connector.stop(request.params.acc, request.params.id),
  );

  server.get<BotRoute & { Querystring: { conversationId?: string; limit?: number } }>(
    '/accounts/:acc/bots/:id/logs',
    {
      schema: {
        tags,
        security,
        summary: 'Exchanges with the bot service, newest first: request, raw response, parsed items, errors, timings',
        params: botParams,
        querystring: {
          type: 'object',
          properties: {
            conversationId: { type: 'string', maxLength: 64 },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
          },
        },
      },
    },
    async (request) => ({ exchanges: await connector.logs(request.params.acc, request.params.id, request.query) }),
  );

  server.post<BotRoute>(
    '/accounts/:acc/bots/:id/test-conversations',
    {
      schema: {
        tags,
        security,
        summary: 'Open a conversation handed straight to this bot (the console’s tester)',
        params: botParams,
      },
    },
    async (request, reply) => {
      const conversation = await connector.testConversation(request.params.acc, request.params.id);
      const consumerToken = await sessions.issue({
        kind: 'consumer',
        accountId: request.params.acc,
        subject: conversation.conversationId,
      });
      return reply.status(201).send({ conversationId: conversation.conversationId, consumerToken });
    },
  );

  server.get(
    '/error-codes',
    { schema: { tags, security, summary: 'What each connector error code means and how to fix it' } },
    async () => ({
      codes: deps.errorCodes,
    }),
  );
}
