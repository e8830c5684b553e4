import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import {
  createContractValidator,
  type BotStatusBody,
  type ConversationBody,
  type ConversationEventBody,
} from '../contract/index.js';
import { conflict, invalid, isDomainError, notFound, unauthorized, type DomainError } from '../errors.js';
import { httpAnswerOf, sendError, type HttpAnswer } from '../http/errors.js';
import { errorResponses } from '../http/schemas.js';
import { answer, type AnswerOptions } from './answers.js';
import { createAppTokenVerifier } from './auth.js';
import { DemoConversations } from './conversations.js';

/** Where the product mounts the demo bot: its Custom Endpoint base URL is `<server>/demo-bot`. */
export const DEMO_BOT_PREFIX = '/demo-bot';
/** The bot id the demo account's bot uses (any id matching the contract's pattern is served). */
export const DEMO_BOT_ID = 'demo-bot';
export const DEMO_BOT_API_VERSION = 'v1';
export const DEMO_BOT_VERSION = '1.0.0';
export const DEMO_BOT_ENVIRONMENTS: readonly string[] = ['draft', 'production'];
/** Shown on cards; any https image works, the console renders it in the consumer's browser. */
/** An inline SVG: the card renders offline and no consumer browser calls a third party. */
export const DEFAULT_IMAGE_URL =
  'data:image/svg+xml,%3Csvg xmlns="http://www.w3.org/2000/svg" width="600" height="300" viewBox="0 0 600 300"%3E%3Cdefs%3E%3ClinearGradient id="g" x1="0" y1="0" x2="1" y2="1"%3E%3Cstop offset="0" stop-color="%232b59c3"/%3E%3Cstop offset="1" stop-color="%237b4fd6"/%3E%3C/linearGradient%3E%3C/defs%3E%3Crect width="600" height="300" fill="url%28%23g%29"/%3E%3Ccircle cx="300" cy="120" r="48" fill="%23fff" opacity=".9"/%3E%3Ccircle cx="284" cy="112" r="7" fill="%232b59c3"/%3E%3Ccircle cx="316" cy="112" r="7" fill="%232b59c3"/%3E%3Crect x="280" y="134" width="40" height="6" rx="3" fill="%232b59c3"/%3E%3Ctext x="300" y="230" font-family="sans-serif" font-size="34" fill="%23fff" text-anchor="middle"%3Ebotbridge demo bot%3C/text%3E%3C/svg%3E';

export interface DemoBotOptions {
  /**
   * Path the routes are mounted under: Fastify's own register option, so `server.register(demoBot,
   * {prefix})` mounts it there ('' or none: the root). createDemoBotServer defaults it to DEMO_BOT_PREFIX.
   */
  prefix?: string;
  /** The platform's JWKS (`/sentinel/well-known/jwks`); a function when the port is known only after listen. */
  jwksUrl: string | (() => string);
  /** Accepted token audiences: account ids, or a check of one (see AppTokenVerifierOptions.accounts). */
  accounts?: string[] | ((accountId: string) => Promise<boolean>);
  /** Skill `transfer` hands conversations to; default `human`. Case-sensitive, like skill names. */
  transferSkill?: string;
  log: Logger;
  imageUrl?: string;
  /** Conversations remembered at once; the oldest is forgotten beyond it. Default 10,000. */
  maxConversations?: number;
  /** See AppTokenVerifierOptions.jwksCooldownMs; default 1 s. */
  jwksCooldownMs?: number;
}

/** Bot ids that report that state, for test-connection failure demos (as LivePerson's reference service does). */
const STATE_BY_BOT_ID = new Map<string, BotStatusBody['state']>([
  ['maintenance', 'maintenance'],
  ['offline', 'offline'],
  ['error', 'error'],
]);
/** The contract's botId parameter. */
const BOT_ID = /^[A-Za-z0-9-]{1,36}$/;

interface BotParams {
  botId: string;
}
interface EnvironmentParams extends BotParams {
  environment: string;
}
interface ConversationParams extends EnvironmentParams {
  convId: string;
}

const security = [{ bearer: [] }];

/** The answer to an event, as the contract has it (PostEventResponseBody): what the bot defines. */
const postEventResponseSchema = {
  type: 'object',
  properties: {
    response: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        description: 'A TEXT, STRUCTURED_CONTENT, DELAY or ACTION item',
      },
    },
    analytics: {
      type: 'object',
      properties: {
        intents: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              description: { type: 'string' },
              confidenceScore: { type: 'number' },
            },
            additionalProperties: true,
          },
        },
      },
      additionalProperties: true,
    },
  },
  additionalProperties: true,
} as const;

/**
 * The demo Custom Endpoint service as a Fastify plugin: the contract's four routes, under the
 * prefix it is registered with. Every request is authenticated with the platform's app JWT (an
 * onRequest hook for the whole plugin), and errors answer in the platform's error shape from the
 * plugin's own handler, so the plugin behaves the same mounted in the product or alone.
 */
export const demoBot: FastifyPluginAsync<DemoBotOptions> = async (bot, options) => {
  const contract = createContractValidator();
  const verify = createAppTokenVerifier(options);
  const conversations = new DemoConversations(options.maxConversations);
  const answerOptions: AnswerOptions = {
    transferSkill: options.transferSkill ?? 'human',
    imageUrl: options.imageUrl ?? DEFAULT_IMAGE_URL,
  };
  const log = options.log.child({ component: 'demo-bot' });
  const accountOf = new WeakMap<FastifyRequest, string>();
  const base = `/${DEMO_BOT_API_VERSION}/bots/:botId`;
  const route = (summary: string, answer: Record<number, object>) => ({
    schema: { tags: ['demo-bot'], summary, security, response: { ...answer, ...errorResponses } },
  });

  const account = (request: FastifyRequest): string => {
    const accountId = accountOf.get(request);
    if (!accountId) throw unauthorized('request was not authenticated');
    return accountId;
  };
  const requireBot = (botId: string) => {
    if (!BOT_ID.test(botId)) throw notFound(`no bot '${botId}' (ids are 1-36 letters, digits or '-')`, 'bot-not-found');
  };
  const requireEnvironment = (params: EnvironmentParams) => {
    requireBot(params.botId);
    if (!DEMO_BOT_ENVIRONMENTS.includes(params.environment)) {
      throw notFound(
        `bot '${params.botId}' has no environment '${params.environment}' (it has ${DEMO_BOT_ENVIRONMENTS.join(', ')})`,
        'environment-not-found',
      );
    }
  };
  const requireBody = (name: 'Conversation' | 'ConversationChange', body: unknown) => {
    const verdict = contract.validate(name, body);
    if (!verdict.ok)
      throw invalid(`body does not match the contract's ${name}: ${verdict.errors.join('; ')}`, 'invalid-request');
  };

  bot.setErrorHandler((error: FastifyError | DomainError, request, reply) => {
    const answer = isDomainError(error) ? httpAnswerOf(error) : describeError(error);
    if (answer.status >= 500) request.log.error({ err: error }, 'demo bot request failed');
    return sendError(reply, answer);
  });

  bot.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const verdict = await verify(request.headers.authorization);
    if (!verdict.ok) {
      log.info({ code: verdict.code, method: request.method, route: request.routeOptions.url }, verdict.message);
      await reply.status(verdict.status).send({ error: { code: verdict.code, message: verdict.message } });
      return reply;
    }
    accountOf.set(request, verdict.accountId);
  });

  bot.get<{ Params: BotParams }>(
    `${base}/environments`,
    route('Environments of a bot', { 200: { type: 'array', items: { type: 'string' } } }),
    async (request) => {
      requireBot(request.params.botId);
      return DEMO_BOT_ENVIRONMENTS;
    },
  );

  bot.get<{ Params: EnvironmentParams }>(
    `${base}/environments/:environment/state`,
    route('State and version of a bot', {
      200: {
        type: 'object',
        properties: {
          state: { type: 'string', enum: ['online', 'offline', 'error', 'maintenance'] },
          version: { type: 'string' },
        },
        required: ['state', 'version'],
      },
    }),
    async (request) => {
      requireEnvironment(request.params);
      const status: BotStatusBody = {
        state: STATE_BY_BOT_ID.get(request.params.botId) ?? 'online',
        version: DEMO_BOT_VERSION,
      };
      return status;
    },
  );

  bot.put<{ Params: ConversationParams; Body: unknown }>(
    `${base}/environments/:environment/conversations/:convId`,
    route('Create a conversation on the bot (409 when it exists)', {
      201: { type: 'null', description: 'Created; no body' },
    }),
    async (request, reply) => {
      requireEnvironment(request.params);
      requireBody('Conversation', request.body);
      const { botId, environment, convId } = request.params;
      const key = { accountId: account(request), botId, environment, conversationId: convId };
      const created = conversations.create(key, request.body as ConversationBody, Date.now());
      if (!created)
        throw conflict(
          `conversation '${convId}' already exists on bot '${botId}' (${environment})`,
          'conversation-exists',
        );
      return reply.status(201).send();
    },
  );

  bot.post<{ Params: ConversationParams; Body: unknown }>(
    `${base}/environments/:environment/conversations/:convId/events`,
    route('Send a conversation event; the bot answers with messages, actions and intents', {
      200: postEventResponseSchema,
    }),
    async (request) => {
      requireEnvironment(request.params);
      requireBody('ConversationChange', request.body);
      const { botId, environment, convId } = request.params;
      const conversation = conversations.get({
        accountId: account(request),
        botId,
        environment,
        conversationId: convId,
      });
      if (!conversation)
        throw notFound(
          `conversation '${convId}' does not exist on bot '${botId}' (${environment}); create it with PUT first`,
          'conversation-not-found',
        );
      const event = request.body as ConversationEventBody;
      const result = answer(
        event,
        { conversationId: convId, conversationType: conversation.context.type, turns: conversation.turns },
        answerOptions,
      );
      conversation.turns += 1;
      return result;
    },
  );
};

/** The demo bot alone on its own Fastify instance (main.ts, tests): the plugin plus `/healthz`. */
export async function createDemoBotServer(options: DemoBotOptions): Promise<FastifyInstance> {
  const server = Fastify({ loggerInstance: options.log as FastifyBaseLogger, bodyLimit: 1024 * 1024 });
  server.get(
    '/healthz',
    {
      schema: {
        response: {
          200: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } }, required: ['status'] },
        },
      },
    },
    async () => ({ status: 'ok' }),
  );
  server.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'not-found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
  await server.register(demoBot, { ...options, prefix: options.prefix ?? DEMO_BOT_PREFIX });
  return server;
}

function describeError(error: FastifyError): HttpAnswer {
  const status = error.statusCode ?? 500;
  if (status === 413) return { status, code: 'payload-too-large', message: error.message };
  if (status >= 400 && status < 500) return { status, code: 'bad-request', message: error.message };
  return { status: 500, code: 'internal', message: 'internal server error' };
}
