import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import {
  createCustomEndpointService,
  createTokenVerifier,
  MemorySessions,
  type BotStatusBody,
  type CustomEndpointService,
} from '../sdk/custom-endpoint/index.js';
import { customEndpointPlugin } from '../sdk/custom-endpoint/fastify.js';
import { answer, classify, laterReply, type AnswerOptions } from './answers.js';
import { LaterReplies, type DemoBotPublicApi } from './later.js';

/** Where the product mounts the demo bot: its Custom Endpoint base URL is `<server>/demo-bot`. */
export const DEMO_BOT_PREFIX = '/demo-bot';
/** The bot id the demo account's bot uses (any id matching the contract's pattern is served). */
export const DEMO_BOT_ID = 'demo-bot';
export const DEMO_BOT_API_VERSION = 'v1';
export const DEMO_BOT_VERSION = '1.0.0';
export const DEMO_BOT_ENVIRONMENTS: readonly string[] = ['draft', 'production'];
/** Shown on cards. An inline SVG: the card renders offline and no consumer browser calls a third party. */
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
  /** Accepted token audiences: account ids, or a check of one. Default: any account. */
  accounts?: string[] | ((accountId: string) => Promise<boolean>);
  /** Skill `transfer` hands conversations to; default `human`. Case-sensitive, like skill names. */
  transferSkill?: string;
  log: Logger;
  imageUrl?: string;
  /** Conversations remembered at once; beyond it the least recently answered is forgotten. Default 10,000. */
  maxConversations?: number;
  /** See TokenVerifierOptions.jwksCooldownMs; default 1 s. */
  jwksCooldownMs?: number;
  /** Public API access for "later"; without it the bot says it cannot answer later. */
  publicApi?: DemoBotPublicApi;
  /** How long "later" waits before its real reply. Default 3 s. */
  laterDelayMs?: number;
}

/** Bot ids that report that state, for test-connection failure demos (as LivePerson's reference service does). */
const STATE_BY_BOT_ID = new Map<string, BotStatusBody['state']>([
  ['maintenance', 'maintenance'],
  ['offline', 'offline'],
  ['error', 'error'],
]);
/** What the demo bot keeps of a conversation, besides what the SDK keeps (context and SDES). */
interface DemoSession {
  /** Events answered so far. */
  turns: number;
}

/**
 * The demo Custom Endpoint service, built on the SDK (botbridge/custom-endpoint) like any bot
 * author's: token verification, routing, sessions and the contract's errors are the SDK's; what
 * the bot says is answers.ts. Its answers are not checked before they go out: "invalid" and
 * "empty" send what the connector refuses, on purpose.
 */
export function createDemoBotService(options: DemoBotOptions, later?: LaterReplies): CustomEndpointService {
  const answerOptions: AnswerOptions = {
    transferSkill: options.transferSkill ?? 'human',
    imageUrl: options.imageUrl ?? DEFAULT_IMAGE_URL,
  };
  const log = options.log.child({ component: 'demo-bot' });
  return createCustomEndpointService<DemoSession>({
    verifyToken: createTokenVerifier({
      jwksUrl: options.jwksUrl,
      accounts: options.accounts ?? (() => true),
      jwksCooldownMs: options.jwksCooldownMs,
    }),
    sessions: new MemorySessions<DemoSession>({ capacity: options.maxConversations }),
    version: DEMO_BOT_VERSION,
    checkAnswers: false,
    onError: (error, request) => log.error({ err: error, ...request }, 'demo bot request failed'),
    onRefusal: ({ status, code, message }, request) => log.info({ status, code, ...request }, message),
    handlers: {
      // Only the contract's version: another one names no bot here.
      environments: ({ apiVersion }) => (apiVersion === DEMO_BOT_API_VERSION ? DEMO_BOT_ENVIRONMENTS : undefined),
      state: ({ botId }): BotStatusBody => ({
        state: STATE_BY_BOT_ID.get(botId) ?? 'online',
        version: DEMO_BOT_VERSION,
      }),
      createConversation: () => ({ turns: 0 }),
      event: {
        fallback: async ({ accountId, conversationId, event, session }) => {
          const utterance = event.type === 'TEXT' ? classify(event.data.message) : undefined;
          const answersLater = utterance?.kind === 'later' && later !== undefined && (await later.available(accountId));
          const result = answer(
            event,
            { conversationId, conversationType: session.context.type, turns: session.state.turns, answersLater },
            answerOptions,
          );
          if (answersLater && utterance?.kind === 'later')
            later?.schedule(accountId, conversationId, laterReply(utterance.question));
          session.state.turns += 1;
          return result;
        },
      },
    },
  });
}

/**
 * The demo bot as a Fastify plugin: its Custom Endpoint base URL is where it is registered
 * (`server.register(demoBot, {prefix: '/demo-bot', ...})`), mounted the way the SDK mounts any
 * service, so it behaves the same in the product or alone.
 */
export const demoBot: FastifyPluginAsync<DemoBotOptions> = async (bot, options) => {
  const later = options.publicApi
    ? new LaterReplies(options.publicApi, options.laterDelayMs ?? 3000, options.log.child({ component: 'demo-bot' }))
    : undefined;
  if (later) bot.addHook('onClose', () => later.close());
  await bot.register(customEndpointPlugin, { service: createDemoBotService(options, later) });
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
