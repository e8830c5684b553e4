import type { VendorCredentials } from './types.js';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { invalid as badRequest } from '../errors.js';
import { accountParams, anyJson, errorResponses, noContent } from '../http/schemas.js';
import type { SessionTokens } from '../sentinel/tokens.js';
import { baseUrlProblem, createBotSchema, patchBotSchema, vendorSchema, type BotInput } from './bot-config.js';
import type { Connector } from './connector.js';
import type { TestConversations } from './test-conversations.js';

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
type TestConversationRoute = { Params: { acc: string; id: string; conversationId: string } };
const testConversationParams = {
  type: 'object',
  properties: { ...botParams.properties, conversationId: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['acc', 'id', 'conversationId'],
} as const;

export interface ConnectorAdminDeps {
  connector: Connector;
  tests: TestConversations;
  sessions: SessionTokens;
  errorCodes: Record<string, { title: string; explanation: string; fix: string }>;
}

const botStatusSchema = {
  type: 'string',
  enum: ['OFFLINE', 'ONLINE', 'VENDOR_INTERRUPTION', 'SERVICE_INTERRUPTION'],
} as const;

/**
 * A bot as the admin API shows it (BotView): its settings, which are the properties a create
 * takes (the client secret masked), and its live state.
 */
const botSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    accountId: { type: 'string' },
    ...createBotSchema.properties,
    status: botStatusSchema,
    openConversations: { type: 'integer' },
    lastError: {
      type: ['object', 'null'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        at: { type: 'integer', description: 'Epoch milliseconds' },
      },
      required: ['code', 'message', 'at'],
    },
    instance: { type: ['string', 'null'], description: 'The instance driving the bot now; null while none does' },
  },
  required: ['id', 'accountId', 'name', 'conversationType', 'skills', 'vendor', 'status', 'openConversations'],
} as const;

const statusBody = {
  type: 'object',
  properties: { status: botStatusSchema },
  required: ['status'],
} as const;

const environmentsBody = {
  type: 'object',
  properties: { environments: { type: 'array', items: { type: 'string' } } },
  required: ['environments'],
} as const;

/** TestConnectionResult: only the state `online` passes. */
const testConnectionBody = {
  type: 'object',
  properties: {
    ok: { type: 'boolean' },
    state: { type: 'string', description: 'What the bot service says its state is' },
    version: { type: 'string' },
    error: { type: 'string', description: 'Why it did not pass' },
    code: { type: 'string', description: 'The error code (see /error-codes)' },
  },
  required: ['ok'],
} as const;

/**
 * One round trip with the bot service (store.ts Exchange). Kept as a JSON record and read back
 * whole, so a record carries what the version that wrote it put there.
 */
const exchangeSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    botId: { type: 'string' },
    conversationId: { type: 'string' },
    eventType: { type: 'string' },
    startedAt: { type: 'integer', description: 'Epoch milliseconds' },
    durationMs: { type: 'number' },
    attempts: { type: 'integer' },
    request: {
      type: ['object', 'null'],
      properties: { method: { type: 'string' }, url: { type: 'string' }, body: anyJson('As sent') },
    },
    response: {
      type: ['object', 'null'],
      properties: { status: { type: 'integer' }, body: anyJson('As received'), durationMs: { type: 'number' } },
    },
    parsed: {
      type: ['object', 'null'],
      properties: {
        items: { type: 'array', items: anyJson('A parsed item') },
        action: anyJson('The action, if any'),
        intents: { type: 'array', items: anyJson('An intent') },
      },
    },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { code: { type: 'string' }, message: { type: 'string' }, path: { type: 'string' } },
        required: ['code', 'message'],
      },
    },
    effects: { type: 'array', items: { type: 'string' } },
    outcome: { type: 'string', enum: ['PROCESSED', 'PARTIAL', 'ESCALATED', 'FAILED'] },
  },
  additionalProperties: true,
} as const;

/**
 * The connector's part of the admin API (HTTP-SURFACE.md): bots, their lifecycle and exchange
 * log, vendor checks before saving, and what the error codes mean. Mounted under /admin/v1, whose
 * scope checks the admin token (app.ts).
 */
export const connectorAdmin: FastifyPluginAsync<ConnectorAdminDeps> = async (server, deps) => {
  const { connector, sessions, tests } = deps;

  server.post<{ Params: { acc: string }; Body: BotInput & WithVendor }>(
    '/accounts/:acc/bots',
    {
      schema: {
        tags,
        security,
        summary: 'Create a Custom Endpoint bot (OFFLINE until started)',
        params: accountParams,
        body: createBotSchema,
        response: {
          201: {
            type: 'object',
            properties: { id: { type: 'string' }, status: botStatusSchema },
            required: ['id', 'status'],
          },
          ...errorResponses,
        },
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
    {
      schema: {
        tags,
        security,
        summary: 'List bots with live status',
        params: accountParams,
        response: {
          200: { type: 'object', properties: { bots: { type: 'array', items: botSchema } }, required: ['bots'] },
          ...errorResponses,
        },
      },
    },
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
        response: { 200: botSchema, ...errorResponses },
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
        response: { 200: botSchema, ...errorResponses },
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
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await connector.remove(request.params.acc, request.params.id);
      return reply.status(204).send();
    },
  );

  server.get<BotRoute>(
    '/accounts/:acc/bots/:id/environments',
    {
      schema: {
        tags,
        security,
        summary: 'The bot service’s environment list',
        params: botParams,
        response: { 200: environmentsBody, ...errorResponses },
      },
    },
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
        response: { 200: testConnectionBody, ...errorResponses },
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
        response: { 200: environmentsBody, ...errorResponses },
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
        response: { 200: testConnectionBody, ...errorResponses },
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
        response: { 200: statusBody, ...errorResponses },
      },
    },
    async (request) => connector.start(request.params.acc, request.params.id),
  );

  server.post<BotRoute>(
    '/accounts/:acc/bots/:id/stop',
    {
      schema: {
        tags,
        security,
        summary: 'Stop: the bot takes no new conversations',
        params: botParams,
        response: { 200: statusBody, ...errorResponses },
      },
    },
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
        response: {
          200: {
            type: 'object',
            properties: { exchanges: { type: 'array', items: exchangeSchema } },
            required: ['exchanges'],
          },
          ...errorResponses,
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
        summary: 'Open a test conversation handed straight to this bot (the console’s tester)',
        description:
          'Marked `test` wherever it appears. It stays open while the tester renews it (POST …/keep, within `keepSeconds`) and is closed when the tester ends it (DELETE) or stops renewing.',
        params: botParams,
        response: {
          201: {
            type: 'object',
            properties: {
              conversationId: { type: 'string' },
              consumerToken: { type: 'string' },
              keepSeconds: { type: 'integer', description: 'Renew it within this long, or it is closed' },
            },
            required: ['conversationId', 'consumerToken', 'keepSeconds'],
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const conversation = await tests.open(request.params.acc, request.params.id);
      const consumerToken = await sessions.issue({
        kind: 'consumer',
        accountId: request.params.acc,
        subject: conversation.conversationId,
      });
      return reply.status(201).send({
        conversationId: conversation.conversationId,
        consumerToken,
        keepSeconds: Math.floor(tests.leaseMs / 1000),
      });
    },
  );

  server.post<TestConversationRoute>(
    '/accounts/:acc/bots/:id/test-conversations/:conversationId/keep',
    {
      schema: {
        tags,
        security,
        summary: 'The tester is still there: keep its test conversation open for another `keepSeconds`',
        params: testConversationParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await tests.keep(request.params.acc, request.params.conversationId);
      return reply.status(204).send();
    },
  );

  server.delete<TestConversationRoute>(
    '/accounts/:acc/bots/:id/test-conversations/:conversationId',
    {
      schema: {
        tags,
        security,
        summary: 'End a test conversation (closed by the system; one closed already is fine)',
        params: testConversationParams,
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await tests.end(request.params.acc, request.params.conversationId);
      return reply.status(204).send();
    },
  );

  server.get(
    '/error-codes',
    {
      schema: {
        tags,
        security,
        summary: 'What each connector error code means and how to fix it',
        response: {
          200: {
            type: 'object',
            properties: {
              codes: {
                type: 'object',
                description: 'By error code',
                additionalProperties: {
                  type: 'object',
                  properties: { title: { type: 'string' }, explanation: { type: 'string' }, fix: { type: 'string' } },
                  required: ['title', 'explanation', 'fix'],
                },
              },
            },
            required: ['codes'],
          },
          ...errorResponses,
        },
      },
    },
    async () => ({
      codes: deps.errorCodes,
    }),
  );
};
