import type {} from '../operators/guard.js';
import type { VendorCredentials } from './types.js';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { invalid as badRequest } from '../errors.js';
import { accountParams, anyJson, conversationParams, errorResponses, noContent } from '../http/schemas.js';
import type { SessionTokens } from '../sentinel/tokens.js';
import { baseUrlProblem, createBotSchema, patchBotSchema, vendorSchema, type BotInput } from './bot-config.js';
import type { Connector } from './connector.js';
import { OUTCOMES, WINDOWS, type StatsWindow } from './bot-stats.js';
import type { TestConversations } from './test-conversations.js';
import type { ProbeTokens } from './conformance.js';

const tags = ['admin', 'bots'];
const security = [{ bearer: [] }];
const botParams = {
  type: 'object',
  properties: { acc: accountParams.properties.acc, id: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['acc', 'id'],
} as const;

type WithVendor = { vendor: VendorCredentials & { clientSecret?: string } };

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
  /** Tokens for the conformance check of a bot's service, minted for its app. */
  probeTokens(app: { accountId: string; clientId: string }): ProbeTokens;
  errorCodes: Record<string, { title: string; explanation: string; fix: string }>;
}

const botStatusSchema = {
  type: 'string',
  enum: ['OFFLINE', 'ONLINE', 'VENDOR_INTERRUPTION', 'SERVICE_INTERRUPTION'],
} as const;

/** The conformance check's report (conformance.ts). */
const conformanceReportSchema = {
  type: 'object',
  properties: {
    checks: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          title: { type: 'string' },
          outcome: { type: 'string', enum: ['pass', 'fail', 'warn'] },
          code: { type: 'string' },
          explanation: { type: 'string' },
          fix: { type: 'string' },
          pointer: { type: 'string', description: 'JSON pointer into the response body' },
          pointers: {
            type: 'array',
            items: { type: 'string' },
            description: 'Every JSON pointer of the finding, when there is more than one (the first is `pointer`)',
          },
          request: anyJson('What was sent: method, url, body, and the probe token for auth checks'),
          response: anyJson('What came back: status and body'),
          ms: { type: 'number' },
        },
        required: ['id', 'title', 'outcome', 'ms'],
      },
    },
    passed: { type: 'integer' },
    failed: { type: 'integer' },
    warnings: { type: 'integer' },
  },
  required: ['checks', 'passed', 'failed', 'warnings'],
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

const statsQuerystring = {
  type: 'object',
  properties: {
    window: {
      type: 'string',
      enum: Object.keys(WINDOWS),
      default: 'day',
      description: 'hour: 60 buckets of 1 min; day: 96 of 15 min; week: 168 of 1 h',
    },
  },
} as const;
type StatsRoute = { Querystring: { window: StatsWindow } };

const epochMs = { type: 'integer', description: 'Epoch milliseconds' } as const;
const counts = { type: 'array', items: { type: 'integer' } } as const;
/** Null where the bucket has nothing to say (no exchange called the bot; no sample taken). */
const maybeNumbers = { type: 'array', items: { type: ['number', 'null'] } } as const;
const countsBy = (what: string) => ({ type: 'object', additionalProperties: { type: 'integer' }, description: what });
const statsFrame = {
  window: { type: 'string', enum: Object.keys(WINDOWS) },
  from: { ...epochMs, description: 'Start of the first bucket, epoch ms' },
  to: { ...epochMs, description: 'End (exclusive) of the last bucket, the one now falls in, epoch ms' },
  bucketMs: { type: 'integer' },
} as const;
const statsTotals = {
  type: 'object',
  properties: {
    started: { type: 'integer', description: 'Conversations that reached the bot' },
    escalated: { type: 'integer' },
    closed: { type: 'integer', description: 'Conversations closed while the bot held them' },
    exchanges: { type: 'integer' },
    errors: { type: 'integer', description: 'Errors (an exchange may have several)' },
  },
  required: ['started', 'escalated', 'closed', 'exchanges', 'errors'],
} as const;

/** bot-stats.ts BotStats: totals over the window and a series per display bucket. */
const botStatsSchema = {
  type: 'object',
  properties: {
    ...statsFrame,
    totals: statsTotals,
    escalationsByReason: countsBy('Escalations by reason (error code)'),
    exchangesByOutcome: countsBy(`Exchanges by outcome (${OUTCOMES.join(', ')})`),
    errorsByCode: countsBy('Errors by code (see /error-codes)'),
    latencyMs: {
      type: 'object',
      description:
        'Vendor latency percentiles over the window, as the upper bound of their histogram bucket; null without calls',
      properties: { p50: { type: ['number', 'null'] }, p95: { type: ['number', 'null'] } },
      required: ['p50', 'p95'],
    },
    series: {
      type: 'object',
      properties: {
        t: { type: 'array', items: epochMs, description: 'Bucket starts' },
        started: counts,
        escalated: counts,
        closed: counts,
        exchanges: counts,
        errors: counts,
        latencyP50: maybeNumbers,
        latencyP95: maybeNumbers,
        open: { ...maybeNumbers, description: 'Open conversations, the highest sample in the bucket' },
      },
      required: ['t', 'started', 'escalated', 'closed', 'exchanges', 'errors', 'latencyP50', 'latencyP95', 'open'],
    },
    openNow: {
      type: 'integer',
      description: 'Open conversations the bot holds now (also the last bucket of series.open)',
    },
  },
  required: [
    'openNow',
    'window',
    'from',
    'to',
    'bucketMs',
    'totals',
    'escalationsByReason',
    'exchangesByOutcome',
    'errorsByCode',
    'latencyMs',
    'series',
  ],
} as const;

const accountStatsSchema = {
  type: 'object',
  properties: {
    ...statsFrame,
    bots: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          botId: { type: 'string' },
          name: { type: 'string' },
          status: botStatusSchema,
          totals: statsTotals,
          series: {
            type: 'object',
            properties: { t: { type: 'array', items: epochMs }, exchanges: counts, errors: counts },
            required: ['t', 'exchanges', 'errors'],
          },
        },
        required: ['botId', 'name', 'status', 'totals', 'series'],
      },
    },
  },
  required: ['window', 'from', 'to', 'bucketMs', 'bots'],
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
      config: { permission: 'account:write' },
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
      config: { permission: 'account:read' },
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
      config: { permission: 'account:read' },
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
      config: { permission: 'account:write' },
      schema: {
        tags,
        security,
        summary: 'Change settings (vendor.clientId names another app installation; no secret is needed)',
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
      config: { permission: 'account:write' },
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
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'The bot service’s environment list',
        params: botParams,
        response: { 200: environmentsBody, ...errorResponses },
      },
    },
    async (request) => ({ environments: await connector.checks.environments(request.params.acc, request.params.id) }),
  );

  server.post<BotRoute>(
    '/accounts/:acc/bots/:id/test-connection',
    {
      config: { permission: 'account:write' },
      schema: {
        tags,
        security,
        summary: 'Get the bot state; only `online` passes, anything else names the reason',
        params: botParams,
        response: { 200: testConnectionBody, ...errorResponses },
      },
    },
    async (request) => connector.checks.testConnection(request.params.acc, request.params.id),
  );

  server.post<{ Params: { acc: string }; Body: WithVendor }>(
    '/accounts/:acc/vendor/environments',
    {
      // A read sent as a POST (it carries credentials), asked again as the bot form is typed in.
      config: { permission: 'account:write', requestLog: 'debug' },
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
    async (request) => ({
      environments: await connector.checks.environmentsFor(request.params.acc, request.body.vendor),
    }),
  );

  server.post<{ Params: { acc: string }; Body: WithVendor }>(
    '/accounts/:acc/vendor/test-connection',
    {
      config: { permission: 'account:write' },
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
    async (request) => connector.checks.testConnectionFor(request.params.acc, request.body.vendor),
  );

  server.post<BotRoute>(
    '/accounts/:acc/bots/:id/start',
    {
      config: { permission: 'account:write' },
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
      config: { permission: 'account:write' },
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
      config: { permission: 'account:read' },
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
    async (request) => ({
      exchanges: await connector.reads.logs(request.params.acc, request.params.id, request.query),
    }),
  );

  server.get<{ Params: { acc: string; id: string }; Querystring: { limit?: number } }>(
    '/accounts/:acc/conversations/:id/exchanges',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'Exchanges of every bot that held the conversation or spoke in it, newest first',
        description:
          'The bot logs’ entries of this conversation, across its bots; each bot keeps its newest exchanges only, so an old conversation’s may be gone.',
        params: conversationParams,
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
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
    async (request) => ({
      exchanges: await connector.reads.conversationLogs(request.params.acc, request.params.id, request.query.limit),
    }),
  );

  server.get<BotRoute & StatsRoute>(
    '/accounts/:acc/bots/:id/stats',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary:
          'The bot’s statistics over a window: conversations, exchanges, errors, vendor latency, open conversations',
        params: botParams,
        querystring: statsQuerystring,
        response: { 200: botStatsSchema, ...errorResponses },
      },
    },
    async (request) => connector.reads.botStats(request.params.acc, request.params.id, request.query.window),
  );

  server.get<{ Params: { acc: string } } & StatsRoute>(
    '/accounts/:acc/bot-stats',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'Every bot of the account with its totals and exchange and error series over a window',
        params: accountParams,
        querystring: statsQuerystring,
        response: { 200: accountStatsSchema, ...errorResponses },
      },
    },
    async (request) => connector.reads.accountStats(request.params.acc, request.query.window),
  );

  server.post<BotRoute>(
    '/accounts/:acc/bots/:id/test-conversations',
    {
      config: { permission: 'account:write' },
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
      // The tester renews on a timer for as long as it is open.
      config: { permission: 'account:write', requestLog: 'debug' },
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
      config: { permission: 'account:write' },
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

  server.post<BotRoute>(
    '/accounts/:acc/bots/:id/conformance',
    {
      config: { permission: 'account:write' },
      schema: {
        tags,
        security,
        summary: 'Check the bot’s service against the whole Custom Endpoint contract, auth probes included',
        description:
          'Calls the service with made-up conversations (ids `conformance-…`, never stored) and with tokens it must refuse. Failures first.',
        params: botParams,
        response: { 200: conformanceReportSchema, ...errorResponses },
      },
    },
    async (request) => connector.checks.conformance(request.params.acc, request.params.id, deps.probeTokens),
  );

  server.get(
    '/error-codes',
    {
      config: { permission: 'installation:read' },
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
