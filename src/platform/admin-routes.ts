import { MAX_INT32 } from '../store/index.js';
import type { StreamMessage } from './types.js';
import type { FastifyPluginAsync } from 'fastify';
import {
  NO_NUL,
  accountIdSchema,
  accountParams,
  conversationParams,
  errorResponses,
  sequenceSchema,
  skillNameSchema,
  streamResponse,
} from '../http/schemas.js';
import type { Conversations } from './conversations.js';
import type { RealtimeHub } from './realtime.js';
import { conversationSchema, conversationWithEventsSchema, eventSchema, skillSchema, userSchema } from './schemas.js';
import { decodeCursor } from './conversation-search.js';
import { invalid } from '../errors.js';
import { visibleAccounts } from '../operators/permissions.js';
import type {} from '../operators/guard.js';
import { serveSse, serveWebSocket } from './stream-transports.js';
import type { AgentChange, Directory, NewUser } from './directory.js';

export interface PlatformAdminDeps {
  directory: Directory;
  conversations: Conversations;
  hub: RealtimeHub;
}

const tags = ['admin'];
const security = [{ bearer: [] }];

const accountSchema = {
  type: 'object',
  properties: { accountId: { type: 'string' } },
  required: ['accountId'],
} as const;

const functionSchema = {
  type: 'object',
  properties: {
    lambdaUuid: { type: 'string', description: 'What INVOKE_FUNCTION actions name' },
    accountId: { type: 'string' },
    name: { type: ['string', 'null'] },
    url: { type: 'string' },
  },
  required: ['lambdaUuid', 'accountId', 'name', 'url'],
} as const;

interface ConversationSearchQuery {
  bot?: string;
  skill?: string;
  status?: 'OPEN' | 'CLOSED';
  from?: number;
  to?: number;
  words?: string;
  cursor?: string;
  limit?: number;
}

/** `{<name>: [items]}`, the shape of every list here. */
const listOf = (name: string, items: object) =>
  ({ type: 'object', properties: { [name]: { type: 'array', items } }, required: [name] }) as const;

/**
 * The platform's part of the admin API: accounts, skills, users, functions, and any conversation
 * read or streamed whole. Mounted under /admin/v1, whose scope checks the admin token (app.ts).
 */
export const platformAdmin: FastifyPluginAsync<PlatformAdminDeps> = async (
  server,
  { directory, conversations, hub },
) => {
  server.post<{ Body: { accountId: string } }>(
    '/accounts',
    {
      config: { permission: 'installation:manage' },
      schema: {
        tags,
        security,
        summary: 'Create an account',
        body: { type: 'object', properties: { accountId: accountIdSchema }, required: ['accountId'] },
        response: { 201: accountSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.status(201).send(await directory.createAccount(request.body.accountId)),
  );

  server.get(
    '/accounts',
    {
      config: { permission: 'installation:read' },
      schema: {
        tags,
        security,
        summary: 'List the accounts the caller operates (every account, for a super-admin)',
        response: { 200: listOf('accounts', accountSchema), ...errorResponses },
      },
    },
    async (request) => {
      const visible = request.actor ? visibleAccounts(request.actor) : [];
      const accounts = await directory.listAccounts();
      return { accounts: visible ? accounts.filter((a) => visible.includes(a.accountId)) : accounts };
    },
  );

  server.post<{ Params: { acc: string }; Body: { name: string } }>(
    '/accounts/:acc/skills',
    {
      config: { permission: 'account:write' },
      schema: {
        tags,
        security,
        summary: 'Create a skill (names are case-sensitive and unique per account)',
        params: accountParams,
        body: { type: 'object', properties: { name: skillNameSchema }, required: ['name'] },
        response: { 201: skillSchema, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await directory.createSkill(request.params.acc, request.body.name)),
  );

  server.get<{ Params: { acc: string } }>(
    '/accounts/:acc/skills',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'List skills',
        params: accountParams,
        response: { 200: listOf('skills', skillSchema), ...errorResponses },
      },
    },
    async (request) => ({ skills: await directory.listSkills(request.params.acc) }),
  );

  server.post<{ Params: { acc: string }; Body: NewUser }>(
    '/accounts/:acc/users',
    {
      config: { permission: 'account:write' },
      schema: {
        tags,
        security,
        summary: 'Create a user (HUMAN agents log in with their password; BOT users are driven by the connector)',
        params: accountParams,
        body: {
          type: 'object',
          properties: {
            loginName: { type: 'string', minLength: 1, maxLength: 128, pattern: NO_NUL },
            password: { type: 'string', minLength: 8, maxLength: 1024 },
            userType: { type: 'string', enum: ['HUMAN', 'BOT'] },
            skills: { type: 'array', items: skillNameSchema, maxItems: 1000 },
            maxConversations: { type: 'integer', minimum: 1, maximum: MAX_INT32 },
          },
          required: ['loginName', 'userType', 'skills'],
        },
        response: {
          201: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              loginName: { type: 'string' },
              userType: { type: 'string', enum: ['HUMAN', 'BOT'] },
            },
            required: ['id', 'loginName', 'userType'],
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const user = await directory.createUser(request.params.acc, request.body);
      return reply.status(201).send({ id: user.id, loginName: user.loginName, userType: user.userType });
    },
  );

  server.patch<{ Params: { acc: string; id: string }; Body: AgentChange }>(
    '/accounts/:acc/users/:id',
    {
      config: { permission: 'account:write' },
      schema: {
        tags,
        security,
        summary: 'Change an agent’s skills, capacity (null: no cap) or password; bot users follow their bot',
        params: {
          type: 'object',
          properties: { acc: accountParams.properties.acc, id: { type: 'string', minLength: 1, maxLength: 32 } },
          required: ['acc', 'id'],
        },
        body: {
          type: 'object',
          properties: {
            password: { type: 'string', minLength: 8, maxLength: 1024 },
            skills: { type: 'array', items: skillNameSchema, maxItems: 1000 },
            maxConversations: { type: ['integer', 'null'], minimum: 1, maximum: MAX_INT32 },
          },
          additionalProperties: false,
          minProperties: 1,
        },
        response: { 200: userSchema, ...errorResponses },
      },
    },
    async (request) => directory.updateAgent(request.params.acc, request.params.id, request.body),
  );

  server.get<{ Params: { acc: string } }>(
    '/accounts/:acc/users',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'List users',
        params: accountParams,
        response: { 200: listOf('users', userSchema), ...errorResponses },
      },
    },
    async (request) => ({ users: await directory.listUsers(request.params.acc) }),
  );

  server.post<{ Params: { acc: string }; Body: { url: string; name?: string } }>(
    '/accounts/:acc/functions',
    {
      config: { permission: 'account:write' },
      schema: {
        tags,
        security,
        summary: 'Register a function (webhook) that INVOKE_FUNCTION actions call by lambdaUuid',
        params: accountParams,
        body: {
          type: 'object',
          properties: {
            url: { type: 'string', format: 'uri', pattern: '^https?://' },
            name: { type: 'string', maxLength: 255 },
          },
          required: ['url'],
        },
        response: {
          201: {
            type: 'object',
            properties: {
              lambdaUuid: functionSchema.properties.lambdaUuid,
              name: functionSchema.properties.name,
              url: functionSchema.properties.url,
            },
            required: ['lambdaUuid', 'name', 'url'],
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const fn = await directory.registerFunction(request.params.acc, request.body);
      return reply.status(201).send({ lambdaUuid: fn.lambdaUuid, name: fn.name, url: fn.url });
    },
  );

  server.get<{ Params: { acc: string } }>(
    '/accounts/:acc/functions',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'List functions',
        params: accountParams,
        response: { 200: listOf('functions', functionSchema), ...errorResponses },
      },
    },
    async (request) => ({ functions: await directory.listFunctions(request.params.acc) }),
  );

  server.get<{ Params: { acc: string }; Querystring: ConversationSearchQuery }>(
    '/accounts/:acc/conversations',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'The account’s conversations, newest first: filtered by bot, skill, status, start time and words',
        description:
          'Each item is the conversation object with `closedAt` and, in `events`, the messages the words matched (up to three) or else its last message; `GET …/conversations/{id}` has the whole log. `words` match the start of words of one message, all of them (letters and digits; case and accents ignored). Pass `next` back as `cursor` for the following page.',
        params: accountParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            bot: { type: 'string', minLength: 1, maxLength: 64, pattern: NO_NUL, description: 'A bot id' },
            skill: skillNameSchema,
            status: { type: 'string', enum: ['OPEN', 'CLOSED'] },
            from: {
              type: 'integer',
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER,
              description: 'Started at or after (epoch ms)',
            },
            to: {
              type: 'integer',
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER,
              description: 'Started before (epoch ms)',
            },
            words: { type: 'string', maxLength: 200, pattern: NO_NUL },
            cursor: { type: 'string', maxLength: 200 },
            limit: { type: 'integer', minimum: 1, maximum: 100, default: 25 },
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              conversations: {
                type: 'array',
                items: {
                  ...conversationSchema,
                  properties: {
                    ...conversationSchema.properties,
                    closedAt: { type: 'integer', description: 'Epoch milliseconds' },
                    events: { type: 'array', items: eventSchema },
                  },
                  required: [...conversationSchema.required, 'events'],
                },
              },
              next: { type: 'string', description: 'The cursor of the next page; absent on the last' },
            },
            required: ['conversations'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { acc } = request.params;
      const { bot, skill, status, from, to, words, cursor, limit = 25 } = request.query;
      await directory.requireAccount(acc);
      if (cursor !== undefined && !decodeCursor(cursor)) throw invalid('cursor is not one this list gave');
      const skillId = skill === undefined ? undefined : (await directory.requireSkill(acc, skill)).id;
      return conversations.search(acc, { botId: bot, skillId, status, from, to, words, cursor, limit });
    },
  );

  server.get<{ Params: { acc: string; id: string } }>(
    '/accounts/:acc/conversations/:id',
    {
      config: { permission: 'account:read' },
      schema: {
        tags,
        security,
        summary: 'A conversation with its full event log',
        params: conversationParams,
        response: { 200: conversationWithEventsSchema, ...errorResponses },
      },
    },
    async (request) => {
      await directory.requireAccount(request.params.acc);
      return conversations.withEvents(request.params.acc, request.params.id);
    },
  );

  const replayFor = (acc: string, id: string, after: number | undefined) => async (): Promise<StreamMessage[]> =>
    (await conversations.events(acc, id, { after, forConsumer: false })).map((event) => ({
      kind: 'event',
      conversationId: id,
      event,
    }));

  server.route<{ Params: { acc: string; id: string }; Querystring: { after?: number; token?: string } }>({
    method: 'GET',
    url: '/accounts/:acc/conversations/:id/stream',
    config: { permission: 'account:read' },
    schema: {
      tags,
      security,
      summary: 'Realtime events of a conversation, private texts included (WebSocket or SSE); ?after= replays first',
      params: conversationParams,
      querystring: { type: 'object', properties: { after: sequenceSchema, token: { type: 'string' } } },
      response: { 200: streamResponse, ...errorResponses },
    },
    preHandler: async (request) => {
      await conversations.get(request.params.acc, request.params.id);
    },
    handler: async (request, reply) => {
      const { acc, id } = request.params;
      serveSse(
        hub,
        request,
        reply,
        (s) => hub.watchConversation(id, { send: s.send, includePrivate: true }),
        replayFor(acc, id, request.query.after),
      );
    },
    wsHandler: (socket, request) => {
      const { acc, id } = request.params;
      serveWebSocket(
        hub,
        socket,
        (s) => hub.watchConversation(id, { send: s.send, includePrivate: true }),
        replayFor(acc, id, request.query.after),
      );
    },
  });
};
