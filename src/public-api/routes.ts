import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { bearerOf } from '../http/server.js';
import { invalid as badRequest, notFound, unauthorized } from '../errors.js';
import { errorBodySchema } from '../http/errors.js';
import { accountIdSchema, errorResponses } from '../http/schemas.js';
import type { Conversations } from '../platform/conversations.js';
import type { Directory } from '../platform/directory.js';
import type { Conversation } from '../platform/types.js';
import type { SessionTokens } from '../sentinel/tokens.js';
import {
  ACTIONS,
  TTL_DEFAULT_SECONDS,
  TTL_MAX_SECONDS,
  TTL_MIN_SECONDS,
  bodySchemas,
  checkLoginVersion,
  checkMessages,
  describeSchemaErrors,
  parseTtl,
  type Action,
  type MessagesCommand,
  type SchemaError,
  type SdesCommand,
  type TransferCommand,
  type TtrCommand,
} from '../contract/public-api.js';
import type { Job, JobStore, NewJob } from './jobs.js';
import { SpanKind, Tracing } from '../ops/tracing.js';
import type { CredentialAttempts } from '../sentinel/attempts.js';
import type { StructuredContentValidator } from '../contract/index.js';

export interface PublicApiRouteDeps {
  directory: Directory;
  conversations: Conversations;
  sessions: SessionTokens;
  jobs: JobStore;
  attempts: CredentialAttempts;
  templates: StructuredContentValidator;
  /** Stores a job and sees it run (JobWorker.accept). */
  accept(input: NewJob): Promise<Job>;
  /** When tracing is on: each accepted command in a `public api request` span, whose context its job keeps. */
  tracing?: Tracing;
}

const tags = ['public-api'];
const security = [{ bearer: [] }];
const errors = {
  400: { ...errorBodySchema, description: 'Bad request: body, query or bearer token' },
  404: { ...errorBodySchema, description: 'Unknown here: no such conversation (or job) in this account' },
  500: { ...errorBodySchema, description: 'Internal server error' },
  ...errorResponses,
};

const accountParams = {
  type: 'object',
  properties: { accountId: accountIdSchema },
  required: ['accountId'],
} as const;

const conversationParams = {
  type: 'object',
  properties: { accountId: accountIdSchema, conversationId: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['accountId', 'conversationId'],
} as const;

const jobParams = {
  type: 'object',
  properties: { accountId: accountIdSchema, jobId: { type: 'string', minLength: 1, maxLength: 64 } },
  required: ['accountId', 'jobId'],
} as const;

/** Documentation only: the raw value is checked by parseTtl before any schema sees it. */
const ttlQuery = {
  type: 'object',
  properties: {
    ttl: {
      type: 'integer',
      minimum: TTL_MIN_SECONDS,
      maximum: TTL_MAX_SECONDS,
      default: TTL_DEFAULT_SECONDS,
      description: 'Seconds to keep the command valid; not started by then, it is dropped',
    },
  },
} as const;

/** Validation failures in the one error shape, naming the field. */
const schemaErrorFormatter = (errors: SchemaError[], dataVar: string) =>
  badRequest(describeSchemaErrors(errors, dataVar), 'invalid-request');

const summaries: Record<Action, string> = {
  messages:
    'Send messages: texts, pauses, structured content, quick replies (messaging only), with context and metadata',
  transfer: 'Transfer the conversation to a skill (name is case-sensitive)',
  close: 'Close the conversation',
  sdes: 'Merge engagement attributes (SDES) into the conversation',
  ttr: 'Set the time to response: URGENT, NORMAL, PRIORITIZED, or CUSTOM with value seconds (messaging only)',
};

type ActionRequest = FastifyRequest<{
  Params: { accountId: string; conversationId: string };
  Querystring: Record<string, unknown>;
  Body: unknown;
}>;

/** Where the conversation actions and job status are mounted (the login predates the version). */
export const PUBLIC_API_V1_PREFIX = '/api/v1/account/:accountId';

/**
 * Public API v1: the login, then the five conversation actions (PUT and POST alike, as the page
 * uses both) and job status. Validation failures answer in the one error shape naming the field,
 * throughout this plugin.
 */
export const publicApi: FastifyPluginAsync<PublicApiRouteDeps> = async (
  server,
  { directory, conversations, sessions, jobs, attempts, templates, accept, tracing },
) => {
  server.setSchemaErrorFormatter(schemaErrorFormatter);

  server.post<{
    Params: { accountId: string };
    Querystring: { v?: string };
    Body: { username: string; password: string };
  }>(
    '/api/account/:accountId/login',
    {
      schema: {
        tags,
        summary: 'Log in a user of the account; returns the bearer for the Public API (valid one hour)',
        params: accountParams,
        querystring: {
          type: 'object',
          properties: { v: { type: 'string', enum: ['1.3'], description: 'API version, must be 1.3' } },
          required: ['v'],
        },
        body: {
          type: 'object',
          properties: {
            username: { type: 'string', minLength: 1, maxLength: 256 },
            password: { type: 'string', minLength: 1, maxLength: 1024 },
          },
          required: ['username', 'password'],
        },
        response: {
          200: {
            type: 'object',
            properties: { bearer: { type: 'string' } },
            required: ['bearer'],
            description: 'The bearer (a signed JWT)',
          },
          400: { ...errorBodySchema, description: 'Missing or unsupported v, or a bad body' },
          401: { ...errorBodySchema, description: 'Wrong username or password (never says which)' },
          404: { ...errorBodySchema, description: 'Unknown account' },
          429: { ...errorBodySchema, description: 'Too many failed logins; see Retry-After' },
          ...errorResponses,
        },
      },
      preValidation: async (request) => {
        const version = checkLoginVersion((request.query as Record<string, unknown>).v);
        if (!version.ok) throw badRequest(version.message, 'unsupported-version');
      },
    },
    async (request) => {
      const { accountId } = request.params;
      const { username, password } = request.body;
      await directory.requireAccount(accountId);
      const user = await attempts.verify(
        { credential: 'password', accountId, name: username, address: request.ip },
        () => directory.authenticate(accountId, username, password),
      );
      if (!user) throw unauthorized('invalid username or password', 'invalid-credentials');
      return { bearer: await sessions.issue({ kind: 'api', accountId, subject: user.id }) };
    },
  );

  // Named one by one: the options this plugin got may hold its own register options too.
  await server.register(publicApiV1, {
    directory,
    conversations,
    sessions,
    jobs,
    attempts,
    templates,
    accept,
    ...(tracing ? { tracing } : {}),
    prefix: PUBLIC_API_V1_PREFIX,
  });
};

/**
 * The conversation actions and job status. The bearer is checked once for all of them, before
 * the body is looked at (preValidation), and its user's id kept for the handlers. The page answers
 * 400 for any bearer problem; a bearer of another account is not told whether this account's
 * conversation (or job) exists: that is a 404 before anything is looked up.
 */
const publicApiV1: FastifyPluginAsync<PublicApiRouteDeps> = async (server, deps) => {
  const { directory, conversations, sessions, jobs, templates } = deps;
  const users = new WeakMap<FastifyRequest, string>();
  const ttls = new WeakMap<FastifyRequest, number>();

  server.addHook('preValidation', async (request: FastifyRequest) => {
    const { accountId, conversationId, jobId } = request.params as {
      accountId: string;
      conversationId?: string;
      jobId?: string;
    };
    const token = bearerOf(request);
    if (!token) throw badRequest('an Authorization: Bearer token from the login is required', 'missing-bearer');
    const { claims, reason } = await sessions.verify(token, 'api');
    if (!claims) {
      throw reason === 'expired'
        ? badRequest('bearer token expired: log in again', 'expired-bearer')
        : badRequest('invalid bearer token', 'invalid-bearer');
    }
    if (claims.accountId !== accountId)
      throw jobId !== undefined
        ? notFound(`unknown job '${jobId}'`)
        : notFound(`unknown conversation '${conversationId}'`);
    const userId = await directory.existingUserId(accountId, claims.subject);
    if (userId === undefined) throw badRequest('invalid bearer token: its user no longer exists', 'invalid-bearer');
    users.set(request, userId);
  });

  /** Checks that need the conversation; returns the command as it will be stored. */
  const prepare = async (action: Action, conversation: Conversation, body: unknown): Promise<unknown> => {
    switch (action) {
      case 'messages': {
        const command = body as MessagesCommand;
        const refusal = checkMessages(command, conversation.type, templates);
        if (refusal) throw badRequest(refusal.message, refusal.code);
        return command;
      }
      case 'transfer': {
        const { skill } = body as TransferCommand;
        if (!(await directory.findSkill(conversation.accountId, skill)))
          throw badRequest(`unknown skill '${skill}' (skill names are case-sensitive)`, 'unknown-skill');
        return { skill };
      }
      case 'close':
        return {};
      case 'sdes':
        return body as SdesCommand;
      case 'ttr':
        if (conversation.type === 'CHAT')
          throw badRequest('setting the TTR is only supported in messaging conversations', 'messaging-only');
        return body as TtrCommand;
    }
  };

  for (const action of ACTIONS) {
    const handler = async (request: ActionRequest, reply: FastifyReply) => {
      const { accountId, conversationId } = request.params;
      // Both set in preValidation, which runs before any handler.
      const userId = users.get(request) as string;
      const ttlSeconds = ttls.get(request) as number;
      // As this instance last committed it (read when it holds none): the check is re-made on the row when the
      // job runs, as it must be anyway for a conversation that changes after the answer.
      const conversation = await conversations.current(conversationId);
      if (conversation?.accountId !== accountId) throw notFound(`unknown conversation '${conversationId}'`);
      if (conversation.status !== 'OPEN')
        throw badRequest(`conversation '${conversationId}' is closed`, 'conversation-closed');
      const payload = await prepare(action, conversation, request.body);
      const command = { accountId, conversationId, action, payload, actorUserId: userId, ttlSeconds };
      const job = deps.tracing
        ? await tracedAccept(deps.tracing, deps.accept, command, request.headers)
        : await deps.accept(command);
      return reply.send({ jobId: job.id });
    };
    for (const method of ['PUT', 'POST'] as const) {
      server.route({
        method,
        url: `/conversation/:conversationId/${action}`,
        schema: {
          tags,
          security,
          summary: summaries[action],
          description:
            'Checked at once (bearer, ttl, body, conversation open in this account), then queued: the answer is the job id.',
          params: conversationParams,
          querystring: ttlQuery,
          body: bodySchemas[action],
          response: {
            200: {
              type: 'object',
              properties: { jobId: { type: 'string' } },
              required: ['jobId'],
              description: 'Accepted and queued',
            },
            ...errors,
          },
        },
        // Before the body is looked at, and after the scope's bearer check: for how long the command may wait.
        preValidation: async (request: FastifyRequest) => {
          const ttl = parseTtl((request.query as Record<string, unknown>).ttl);
          if (!ttl.ok) throw badRequest(ttl.message, 'invalid-ttl');
          ttls.set(request, ttl.value);
          // Close has no body: none, '' and {} all mean the same.
          if (action === 'close' && request.body === undefined) request.body = {};
        },
        handler,
      });
    }
  }

  server.get<{ Params: { accountId: string; jobId: string } }>(
    '/jobs/:jobId',
    {
      schema: {
        tags,
        security,
        summary:
          'Status of a job: queued, running, done, expired (its ttl ran out before it started) or failed (with the reason)',
        params: jobParams,
        response: {
          200: {
            type: 'object',
            properties: {
              jobId: { type: 'string' },
              action: { type: 'string', enum: [...ACTIONS] },
              conversationId: { type: 'string' },
              status: { type: 'string', enum: ['queued', 'running', 'done', 'expired', 'failed'] },
              error: { type: 'string' },
            },
            required: ['jobId', 'status'],
            description: 'The job',
          },
          ...errors,
        },
      },
    },
    async (request) => {
      const { accountId, jobId } = request.params;
      const job = await jobs.get(accountId, jobId);
      if (!job) throw notFound(`unknown job '${jobId}'`);
      return {
        jobId: job.id,
        action: job.action,
        conversationId: job.conversationId,
        status: job.status,
        ...(job.error ? { error: job.error } : {}),
      };
    },
  );
};

/**
 * Stores the job within a `public api request` span (continuing the caller's traceparent) and
 * keeps that span's context with it: the job's run, on whichever instance, joins the trace.
 */
async function tracedAccept(
  tracing: Tracing,
  accept: PublicApiRouteDeps['accept'],
  command: NewJob,
  headers: Record<string, string | string[] | undefined>,
): Promise<Job> {
  const parent = tracing.extract(headers);
  const span = tracing.start(
    'public api request',
    {
      'botbridge.account': command.accountId,
      'botbridge.conversation_id': command.conversationId,
      'botbridge.action': command.action,
      'botbridge.actor_user_id': command.actorUserId,
    },
    parent,
    SpanKind.SERVER,
  );
  const carrier: Record<string, string> = {};
  tracing.inject(tracing.within(span, parent), carrier);
  try {
    const job = await accept({ ...command, ...(carrier.traceparent ? { traceparent: carrier.traceparent } : {}) });
    span.setAttribute('botbridge.job_id', job.id);
    return job;
  } catch (error) {
    Tracing.failWith(span, error);
    throw error;
  } finally {
    span.end();
  }
}
