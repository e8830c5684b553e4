import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { tokenInQuery } from '../http/auth.js';
import { requireSession } from '../sentinel/require-session.js';
import { forbidden, unauthorized } from '../errors.js';
import { errorBodySchema } from '../http/errors.js';
import {
  accountParams,
  conversationParams,
  errorResponses,
  noContent,
  skillNameSchema,
  streamResponse,
  ttrSchema,
  ttrValue,
} from '../http/schemas.js';
import type { SessionTokens } from '../sentinel/tokens.js';
import type { CredentialAttempts } from '../sentinel/attempts.js';
import type { Conversations } from './conversations.js';
import type { Directory } from './directory.js';
import type { RealtimeHub, Subscriber } from './realtime.js';
import {
  conversationSchema,
  conversationWithEventsSchema,
  queuedConversationSchema,
  sequenceBody,
  skillSchema,
} from './schemas.js';
import { serveSse, serveWebSocket } from './stream-transports.js';
import type { Audience, Sdes, StreamMessage, Ttr, User } from './types.js';

export interface AgentApiDeps {
  conversations: Conversations;
  directory: Directory;
  sessions: SessionTokens;
  hub: RealtimeHub;
  attempts: CredentialAttempts;
}

/** Where the agent API is mounted (HTTP-SURFACE.md). */
export const AGENT_API_PREFIX = '/api/account/:acc/agent';
const tags = ['agent'];
const security = [{ bearer: [] }];

const skillsSchema = { type: 'array', items: skillSchema } as const;
const conversationResponse = { 200: conversationSchema, ...errorResponses } as const;

/** The agent workspace's API: log in, then take conversations from the queue and work them. */
export const agentApi: FastifyPluginAsync<AgentApiDeps> = async (
  agent,
  { conversations, directory, sessions, hub, attempts },
) => {
  agent.post<{ Params: { acc: string }; Body: { username: string; password: string } }>(
    '/login',
    {
      schema: {
        tags,
        summary: 'Log a HUMAN user in; returns the agent bearer token',
        params: accountParams,
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
            properties: {
              token: { type: 'string', description: 'The agent bearer' },
              user: {
                type: 'object',
                properties: { id: { type: 'string' }, loginName: { type: 'string' }, skills: skillsSchema },
                required: ['id', 'loginName', 'skills'],
              },
            },
            required: ['token', 'user'],
          },
          401: { ...errorBodySchema, description: 'Wrong username or password (never says which)' },
          429: { ...errorBodySchema, description: 'Too many failed logins; see Retry-After' },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { acc } = request.params;
      const { username, password } = request.body;
      await directory.requireAccount(acc);
      const user = await attempts.verify(
        { credential: 'password', accountId: acc, name: username, address: request.ip },
        () => directory.authenticate(acc, username, password),
      );
      if (!user) throw unauthorized('invalid username or password', 'invalid-credentials');
      await directory.setUserState(user.id, 'ONLINE');
      const token = await sessions.issue({ kind: 'agent', accountId: acc, subject: user.id });
      return { token, user: { id: user.id, loginName: user.loginName, skills: user.skills } };
    },
  );

  // Named one by one: the options this plugin got also hold its prefix, which would apply twice.
  await agent.register(agentWorkspace, { conversations, directory, sessions, hub, attempts });
};

/**
 * What a logged-in agent does. The agent bearer is checked once for all of these routes, after
 * validation and before any handler, and its user looked up: handlers read it with agentOf.
 * A stream may carry the bearer in the query (tokenInQuery).
 */
const agentWorkspace: FastifyPluginAsync<AgentApiDeps> = async (
  server,
  { conversations, directory, sessions, hub },
) => {
  const agents = new WeakMap<FastifyRequest, User>();
  server.addHook('preHandler', async (request: FastifyRequest) => {
    const { acc } = request.params as { acc: string };
    const claims = await requireSession(sessions, request, 'agent', acc, tokenInQuery(request));
    const user = await directory.user(acc, claims.subject);
    if (!user) throw unauthorized('user no longer exists');
    agents.set(request, user);
  });
  // Set by the hook above before any handler of this scope runs.
  const agentOf = (request: FastifyRequest): User => agents.get(request) as User;

  /** An agent works only the conversations they hold. */
  const held = async (acc: string, id: string, user: User) => {
    const conversation = await conversations.get(acc, id);
    if (conversation.assignee?.userId !== user.id) throw forbidden('you do not hold this conversation');
    return conversation;
  };

  server.get<{ Params: { acc: string } }>(
    '/me',
    {
      schema: {
        tags,
        security,
        summary: 'The logged-in agent and the conversations they hold',
        params: accountParams,
        response: {
          200: {
            type: 'object',
            properties: {
              user: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  loginName: { type: 'string' },
                  skills: skillsSchema,
                  maxConversations: { type: ['integer', 'null'], description: 'null: no cap' },
                },
                required: ['id', 'loginName', 'skills', 'maxConversations'],
              },
              conversations: { type: 'array', items: conversationSchema },
            },
            required: ['user', 'conversations'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { acc } = request.params;
      const user = agentOf(request);
      return {
        user: { id: user.id, loginName: user.loginName, skills: user.skills, maxConversations: user.maxConversations },
        conversations: await conversations.heldBy(acc, user.id),
      };
    },
  );

  server.get<{ Params: { acc: string } }>(
    '/transfer-targets',
    {
      schema: {
        tags,
        security,
        summary: 'Where a conversation can be transferred: the account’s skills and its other agents',
        params: accountParams,
        response: {
          200: {
            type: 'object',
            properties: {
              skills: skillsSchema,
              agents: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'string' },
                    loginName: { type: 'string' },
                    skills: skillsSchema,
                    available: { type: 'boolean', description: 'Online and under their cap: would take it now' },
                  },
                  required: ['id', 'loginName', 'skills', 'available'],
                },
              },
            },
            required: ['skills', 'agents'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => directory.transferTargets(request.params.acc, agentOf(request).id),
  );

  server.get<{ Params: { acc: string } }>(
    '/queue',
    {
      schema: {
        tags,
        security,
        summary: 'Conversations waiting on the agent’s skills, most urgent TTR first, then longest waiting',
        params: accountParams,
        response: {
          200: {
            type: 'object',
            properties: { conversations: { type: 'array', items: queuedConversationSchema } },
            required: ['conversations'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { acc } = request.params;
      const user = agentOf(request);
      return {
        conversations: await conversations.queue(
          acc,
          user.skills.map((s) => s.id),
        ),
      };
    },
  );

  server.post<{ Params: { acc: string; id: string } }>(
    '/conversations/:id/accept',
    {
      schema: {
        tags,
        security,
        summary: 'Take a queued conversation',
        params: conversationParams,
        response: conversationResponse,
      },
    },
    async (request) => {
      const { acc, id } = request.params;
      const user = agentOf(request);
      return conversations.accept(acc, id, user.id);
    },
  );

  server.get<{ Params: { acc: string; id: string } }>(
    '/conversations/:id',
    {
      schema: {
        tags,
        security,
        summary: 'The full conversation with its log, private texts included',
        params: conversationParams,
        response: { 200: conversationWithEventsSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { acc, id } = request.params;
      const user = agentOf(request);
      const conversation = await conversations.withEvents(acc, id);
      const mine = conversation.assignee?.userId === user.id;
      const queuedForMe = !conversation.assignee && user.skills.some((s) => s.id === conversation.skill.id);
      if (!mine && !queuedForMe) throw forbidden('this conversation is neither yours nor waiting on your skills');
      return conversation;
    },
  );

  server.post<{ Params: { acc: string; id: string }; Body: { text: string; audience?: Audience } }>(
    '/conversations/:id/messages',
    {
      schema: {
        tags,
        security,
        summary: 'Reply; audience AGENTS_AND_MANAGERS makes a private text',
        params: conversationParams,
        body: {
          type: 'object',
          properties: {
            text: { type: 'string', minLength: 1, maxLength: 10000 },
            audience: { type: 'string', enum: ['ALL', 'AGENTS_AND_MANAGERS'] },
          },
          required: ['text'],
        },
        response: { 201: sequenceBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { acc, id } = request.params;
      const user = agentOf(request);
      await held(acc, id, user);
      const event = await conversations.post(acc, id, { role: 'AGENT', userId: user.id }, request.body);
      return reply.status(201).send({ sequence: event.sequence });
    },
  );

  server.post<{ Params: { acc: string; id: string }; Body: { typing: boolean } }>(
    '/conversations/:id/typing',
    {
      // Sent as the agent types: on at info, it would outnumber the messages themselves.
      config: { requestLog: 'debug' },
      schema: {
        tags,
        security,
        summary: 'Tell the consumer the agent is (or stopped) typing',
        params: conversationParams,
        body: { type: 'object', properties: { typing: { type: 'boolean' } }, required: ['typing'] },
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { acc, id } = request.params;
      const user = agentOf(request);
      await held(acc, id, user);
      await conversations.typing(acc, id, { role: 'AGENT', userId: user.id }, request.body.typing);
      return reply.status(204).send();
    },
  );

  server.post<{ Params: { acc: string; id: string }; Body: { skill: string; agentId?: string } }>(
    '/conversations/:id/transfer',
    {
      schema: {
        tags,
        security,
        summary: 'Transfer to a skill, or to a preferred agent with the skill as fallback',
        params: conversationParams,
        body: {
          type: 'object',
          properties: { skill: skillNameSchema, agentId: { type: 'string', minLength: 1 } },
          required: ['skill'],
        },
        response: conversationResponse,
      },
    },
    async (request) => {
      const { acc, id } = request.params;
      const user = agentOf(request);
      await held(acc, id, user);
      return conversations.transfer(acc, id, { role: 'AGENT', userId: user.id }, request.body);
    },
  );

  server.post<{ Params: { acc: string; id: string }; Body: { ttrType: Ttr['ttrType']; value?: number | string } }>(
    '/conversations/:id/ttr',
    {
      schema: {
        tags,
        security,
        summary: 'Set the time to response',
        params: conversationParams,
        body: ttrSchema,
        response: conversationResponse,
      },
    },
    async (request) => {
      const { acc, id } = request.params;
      const user = agentOf(request);
      await held(acc, id, user);
      const { ttrType, value } = request.body;
      return conversations.setTtr(acc, id, { role: 'AGENT', userId: user.id }, { ttrType, value: ttrValue(value) });
    },
  );

  server.post<{ Params: { acc: string; id: string }; Body: Sdes }>(
    '/conversations/:id/sdes',
    {
      schema: {
        tags,
        security,
        summary: 'Merge engagement attributes (SDES) into the conversation',
        params: conversationParams,
        body: {
          type: 'object',
          properties: { authenticatedSdes: { type: 'object' }, unauthenticatedSdes: { type: 'object' } },
          additionalProperties: false,
          minProperties: 1,
        },
        response: conversationResponse,
      },
    },
    async (request) => {
      const { acc, id } = request.params;
      const user = agentOf(request);
      await held(acc, id, user);
      return conversations.updateSdes(acc, id, { role: 'AGENT', userId: user.id }, request.body);
    },
  );

  server.post<{ Params: { acc: string; id: string } }>(
    '/conversations/:id/close',
    {
      schema: {
        tags,
        security,
        summary: 'End the conversation',
        params: conversationParams,
        response: conversationResponse,
      },
    },
    async (request) => {
      const { acc, id } = request.params;
      const user = agentOf(request);
      await held(acc, id, user);
      return conversations.close(acc, id, { role: 'AGENT', userId: user.id }, { reason: 'AGENT' });
    },
  );

  const replayFor = (acc: string, user: User) => async (): Promise<StreamMessage[]> => {
    const mine = await conversations.heldBy(acc, user.id);
    return mine.map((conversation) => ({ kind: 'conversation', conversation }));
  };

  const streamFor = (acc: string, user: User) => ({
    subscribe: (s: Subscriber) =>
      hub.watchAgent(acc, { send: s.send, userId: user.id, skillIds: new Set(user.skills.map((k) => k.id)) }),
    replay: replayFor(acc, user),
  });

  server.route<{ Params: { acc: string }; Querystring: { token?: string } }>({
    method: 'GET',
    url: '/stream',
    schema: {
      tags,
      security,
      summary: 'Realtime events of held conversations and queue changes (WebSocket or SSE)',
      params: accountParams,
      querystring: { type: 'object', properties: { token: { type: 'string' } } },
      response: { 200: streamResponse, ...errorResponses },
    },
    handler: async (request, reply) => {
      const { subscribe, replay } = streamFor(request.params.acc, agentOf(request));
      serveSse(hub, request, reply, subscribe, replay);
    },
    wsHandler: (socket, request) => {
      const { subscribe, replay } = streamFor(request.params.acc, agentOf(request));
      serveWebSocket(hub, socket, subscribe, replay);
    },
  });
};
