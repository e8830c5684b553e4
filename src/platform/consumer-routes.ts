import { MAX_INT32 } from '../store/index.js';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { tokenInQuery } from '../http/auth.js';
import { requireSession } from '../sentinel/require-session.js';
import { forbidden, invalid as badRequest } from '../errors.js';
import {
  accountParams,
  conversationParams,
  errorResponses,
  noContent,
  numericIdSchema,
  sequenceSchema,
  skillNameSchema,
  streamResponse,
} from '../http/schemas.js';
import type { SessionTokens } from '../sentinel/tokens.js';
import type { Conversations, NewMessage } from './conversations.js';
import type { Directory } from './directory.js';
import { eventSchema, sequenceBody } from './schemas.js';
import type { RealtimeHub } from './realtime.js';
import { serveSse, serveWebSocket } from './stream-transports.js';
import type { ConversationType, Sdes, StreamMessage, Visitor } from './types.js';
import { RICH_CONTENT_LIMITS } from '../contract/index.js';
import { describeJsonLimit, exceededJsonLimit } from '../util/json-bounds.js';
import { SpanKind, Tracing } from '../ops/tracing.js';

export interface ConsumerApiDeps {
  conversations: Conversations;
  directory: Directory;
  sessions: SessionTokens;
  hub: RealtimeHub;
  /** When tracing is on: each consumer message in a span the bot's exchange continues. */
  tracing?: Tracing;
}

/** Where the consumer API is mounted (HTTP-SURFACE.md). */
export const CONSUMER_API_PREFIX = '/api/account/:acc/consumer';
const tags = ['consumer'];
const security = [{ bearer: [] }];

export const messageBodySchema = {
  type: 'object',
  properties: {
    text: { type: 'string', minLength: 1, maxLength: 10000 },
    content: { type: 'object' },
    file: {
      type: 'object',
      properties: {
        relativePath: { type: 'string' },
        fileType: { type: 'string' },
        caption: { type: 'string' },
        preview: { type: 'string' },
      },
      required: ['relativePath', 'fileType'],
    },
    metadata: { type: 'array' },
  },
  oneOf: [{ required: ['text'] }, { required: ['content'] }, { required: ['file'] }],
} as const;

/** The conversation and the token that opens it, from the one call that opens it. */
const openedSchema = {
  type: 'object',
  properties: {
    conversationId: { type: 'string' },
    consumerToken: { type: 'string', description: 'The bearer of every later call on this conversation' },
  },
  required: ['conversationId', 'consumerToken'],
} as const;

const afterQuery = {
  type: 'object',
  properties: { after: sequenceSchema, token: { type: 'string' } },
} as const;

/**
 * The consumer side: open a conversation, write to it, read and stream what it may see. Opening
 * takes no token; everything under `/conversations/:id` takes the consumer token opening gave,
 * which opens exactly that conversation.
 */
export const consumerApi: FastifyPluginAsync<ConsumerApiDeps> = async (
  consumer,
  { conversations, directory, sessions, hub, tracing },
) => {
  consumer.get<{ Params: { acc: string; skill: string } }>(
    '/skills/:skill',
    {
      schema: {
        tags,
        summary: 'Whether the account takes conversations on this skill (a chat page asks before the first message)',
        params: {
          type: 'object',
          properties: { acc: accountParams.properties.acc, skill: skillNameSchema },
          required: ['acc', 'skill'],
        },
        response: {
          200: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { acc, skill } = request.params;
      await directory.requireAccount(acc);
      return { name: (await directory.requireSkill(acc, skill)).name };
    },
  );

  consumer.post<{
    Params: { acc: string };
    Body: {
      skill: string;
      type?: ConversationType;
      sdes?: Sdes;
      visitor?: Visitor;
      engagementId?: number;
      campaignId?: number;
    };
  }>(
    '/conversations',
    {
      schema: {
        tags,
        summary: 'Open a conversation on a skill; returns the consumer token for it',
        params: accountParams,
        body: {
          type: 'object',
          properties: {
            skill: skillNameSchema,
            type: { type: 'string', enum: ['MESSAGING', 'CHAT'] },
            sdes: {
              type: 'object',
              properties: { authenticatedSdes: { type: 'object' }, unauthenticatedSdes: { type: 'object' } },
              additionalProperties: false,
            },
            visitor: {
              type: 'object',
              properties: { sharkVisitorId: { type: 'string' }, sharkSessionId: { type: 'string' } },
            },
            engagementId: numericIdSchema,
            campaignId: numericIdSchema,
          },
          required: ['skill'],
        },
        response: { 201: openedSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { acc } = request.params;
      const conversation = await conversations.open(acc, request.body);
      const consumerToken = await sessions.issue({
        kind: 'consumer',
        accountId: acc,
        subject: conversation.conversationId,
      });
      return reply.status(201).send({ conversationId: conversation.conversationId, consumerToken });
    },
  );

  // Named one by one: the options this plugin got also hold its prefix, which would apply twice.
  await consumer.register(consumerConversation, { conversations, sessions, hub, tracing });
};

/**
 * What a consumer does with the conversation its token opens. The token is checked once for all
 * of these routes, after validation and before any handler: it must be this account's consumer
 * token for this very conversation (streams may carry it in the query, see tokenInQuery).
 */
const consumerConversation: FastifyPluginAsync<Omit<ConsumerApiDeps, 'directory'>> = async (
  server,
  { conversations, sessions, hub, tracing },
) => {
  server.addHook('preHandler', async (request: FastifyRequest) => {
    const { acc, id } = request.params as { acc: string; id: string };
    const claims = await requireSession(sessions, request, 'consumer', acc, tokenInQuery(request));
    if (claims.subject !== id) throw forbidden('this token belongs to another conversation');
  });

  server.post<{ Params: { acc: string; id: string }; Body: NewMessage & { metadata?: unknown[] } }>(
    '/conversations/:id/messages',
    {
      schema: {
        tags,
        security,
        summary: 'Send a text, rich content or file message',
        params: conversationParams,
        body: messageBodySchema,
        response: { 201: sequenceBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { acc, id } = request.params;
      const { text, content, file, metadata } = request.body;
      // Not a json-pollock template necessarily (a consumer's rich content is whatever the channel
      // sends), so only its size is checked: it is stored, streamed and sent on to the bot.
      const exceeded = content === undefined ? undefined : exceededJsonLimit(content, RICH_CONTENT_LIMITS);
      if (exceeded)
        throw badRequest(
          `content${exceeded.pointer} ${describeJsonLimit(exceeded)}, the most rich content may have`,
          'content-over-limit',
        );
      const message = { text, content, file, metadata, audience: 'ALL' as const };
      if (!tracing) {
        const event = await conversations.post(acc, id, { role: 'CONSUMER' }, message);
        return reply.status(201).send({ sequence: event.sequence });
      }
      // The consumer's channel may be traced itself: its traceparent makes this span its child.
      const parent = tracing.extract(request.headers);
      const span = tracing.start(
        'consumer message',
        {
          'botbridge.account': acc,
          'botbridge.conversation_id': id,
          'botbridge.message_kind': file ? 'file' : content !== undefined ? 'content' : 'text',
        },
        parent,
        SpanKind.SERVER,
      );
      // Noted before the change is announced: the exchange it triggers takes it as its parent.
      tracing.noteMessage(id, tracing.within(span, parent));
      try {
        const event = await conversations.post(acc, id, { role: 'CONSUMER' }, message);
        span.setAttribute('botbridge.sequence', event.sequence);
        return reply.status(201).send({ sequence: event.sequence });
      } catch (error) {
        tracing.takeMessage(id);
        Tracing.failWith(span, error);
        throw error;
      } finally {
        span.end();
      }
    },
  );

  server.post<{ Params: { acc: string; id: string }; Body: { typing: boolean } }>(
    '/conversations/:id/typing',
    {
      // Sent as the consumer types: on at info, it would outnumber the messages themselves.
      config: { requestLog: 'debug' },
      schema: {
        tags,
        security,
        summary: 'Tell the other side the consumer is (or stopped) typing',
        params: conversationParams,
        body: { type: 'object', properties: { typing: { type: 'boolean' } }, required: ['typing'] },
        response: { 204: noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { acc, id } = request.params;
      await conversations.typing(acc, id, { role: 'CONSUMER' }, request.body.typing);
      return reply.status(204).send();
    },
  );

  server.post<{ Params: { acc: string; id: string } }>(
    '/conversations/:id/close',
    {
      schema: {
        tags,
        security,
        summary: 'The consumer ends the conversation',
        params: conversationParams,
        response: {
          200: {
            type: 'object',
            properties: { conversationId: { type: 'string' }, status: { type: 'string', enum: ['OPEN', 'CLOSED'] } },
            required: ['conversationId', 'status'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { acc, id } = request.params;
      const conversation = await conversations.close(acc, id, { role: 'CONSUMER' }, { reason: 'CONSUMER' });
      return { conversationId: id, status: conversation.status };
    },
  );

  server.get<{ Params: { acc: string; id: string } }>(
    '/conversations/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Status of the consumer’s conversation',
        params: conversationParams,
        response: {
          200: {
            type: 'object',
            properties: {
              conversationId: { type: 'string' },
              type: { type: 'string', enum: ['MESSAGING', 'CHAT'] },
              status: { type: 'string', enum: ['OPEN', 'CLOSED'] },
              lastSequence: { type: 'integer' },
            },
            required: ['conversationId', 'type', 'status', 'lastSequence'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { acc, id } = request.params;
      const c = await conversations.get(acc, id);
      return { conversationId: c.conversationId, type: c.type, status: c.status, lastSequence: c.lastSequence };
    },
  );

  server.get<{ Params: { acc: string; id: string }; Querystring: { after?: number } }>(
    '/conversations/:id/events',
    {
      schema: {
        tags,
        security,
        summary: 'What the consumer may see of the log (never private texts), after a sequence',
        params: conversationParams,
        querystring: afterQuery,
        response: {
          200: {
            type: 'object',
            properties: { events: { type: 'array', items: eventSchema } },
            required: ['events'],
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { acc, id } = request.params;
      return { events: await conversations.events(acc, id, { after: request.query.after, forConsumer: true }) };
    },
  );

  const replayFor = (acc: string, id: string, after: number | undefined) => async (): Promise<StreamMessage[]> =>
    (await conversations.events(acc, id, { after, forConsumer: true })).map((event) => ({
      kind: 'event',
      conversationId: id,
      event,
    }));

  server.route<{ Params: { acc: string; id: string }; Querystring: { after?: number; token?: string } }>({
    method: 'GET',
    url: '/conversations/:id/stream',
    schema: {
      tags,
      security,
      summary: 'Realtime events (WebSocket upgrade or Server-Sent Events); ?after= replays first',
      params: conversationParams,
      querystring: afterQuery,
      response: { 200: streamResponse, ...errorResponses },
    },
    handler: async (request, reply) => {
      const { acc, id } = request.params;
      const lastEventId = Number(request.headers['last-event-id']);
      // A Last-Event-ID past any sequence means "seen it all" (and must not reach the store out of range).
      const after =
        request.query.after ??
        (Number.isSafeInteger(lastEventId) && lastEventId >= 0 ? Math.min(lastEventId, MAX_INT32) : undefined);
      serveSse(hub, request, reply, (s) => hub.watchConversation(id, s), replayFor(acc, id, after));
    },
    wsHandler: (socket, request) => {
      const { acc, id } = request.params;
      serveWebSocket(hub, socket, (s) => hub.watchConversation(id, s), replayFor(acc, id, request.query.after));
    },
  });
};
