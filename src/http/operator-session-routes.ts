import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { unauthorized } from '../errors.js';
import { adminTokenCheck, operatorSessionOf, refuseCrossOrigin, type AdminAuth } from './auth.js';
import {
  CONSOLE_HEADER,
  SESSION_COOKIE,
  sessionCookie,
  sessionIdOf,
  type OperatorSession,
} from './operator-sessions.js';
import { errorResponses, noContent } from './schemas.js';
import { errorBodySchema } from './errors.js';

const tags = ['admin'];

const sessionSchema = {
  type: 'object',
  properties: {
    signedInAt: { type: 'integer', description: 'Epoch milliseconds' },
    expiresAt: {
      type: 'integer',
      description: 'Epoch milliseconds: the session ends then unless used again; each use moves it on, up to endsAt',
    },
    endsAt: { type: 'integer', description: 'Epoch milliseconds: the session ends then however busy' },
  },
  required: ['signedInAt', 'expiresAt', 'endsAt'],
} as const;

const consoleHeader = {
  type: 'object',
  properties: {
    [CONSOLE_HEADER]: {
      type: 'string',
      description:
        'Any value (the console sends 1): a page of another origin cannot send it, so a forged write is refused',
    },
  },
  required: [CONSOLE_HEADER],
} as const;

const cookieNote = `The session is the httpOnly cookie \`${SESSION_COOKIE}\` (Path=/admin/v1, SameSite=Strict, Secure over HTTPS), which then signs in every /admin/v1 request of that browser; writes signed in by it carry the \`${CONSOLE_HEADER}\` header. The admin bearer needs neither.`;

const wire = (session: OperatorSession) => ({
  signedInAt: session.signedInAt,
  expiresAt: session.expiresAt,
  endsAt: session.endsAt,
});

/**
 * The console's operator sign-in: the admin token once, for a session cookie (operator-sessions.ts).
 * Mounted under /admin/v1 beside, not inside, the scope the admin guard covers: signing in is how
 * a browser without a credential gets one.
 */
export const operatorSessionRoutes: FastifyPluginAsync<{ auth: AdminAuth }> = async (server, { auth }) => {
  const isAdminToken = adminTokenCheck(auth.adminToken);
  const secure = (request: FastifyRequest) => ({ secure: request.protocol === 'https' });
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');

  server.get(
    '/session',
    {
      schema: {
        tags,
        summary: 'Whether this browser is signed in to the console, and until when',
        description: cookieNote,
        response: { 200: sessionSchema, 401: errorBodySchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const found = await operatorSessionOf(request, auth);
      if (!found) throw unauthorized('no operator session: sign in with the admin token', 'no-session');
      return wire(found.session);
    },
  );

  server.post<{ Body: { token: string } }>(
    '/session',
    {
      // Before the body is read: a forged sign-in is refused whatever it sends.
      onRequest: async (request) => refuseCrossOrigin(request, auth),
      schema: {
        tags,
        summary: 'Sign the console in with the admin token: answers the session and sets its cookie',
        description: cookieNote,
        headers: consoleHeader,
        body: {
          type: 'object',
          properties: { token: { type: 'string', minLength: 1, maxLength: 1024, description: 'The admin token' } },
          required: ['token'],
          additionalProperties: false,
        },
        response: { 201: sessionSchema, 401: errorBodySchema, 403: errorBodySchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      noStore(reply);
      if (!isAdminToken(request.body.token)) throw unauthorized('invalid admin token');
      // Signing in again replaces this browser's session rather than leaving it behind.
      const previous = sessionIdOf(request.headers.cookie);
      if (previous) await auth.sessions.signOut(previous);
      const { id, session } = await auth.sessions.signIn();
      reply.header('set-cookie', sessionCookie({ id, maxAgeMs: session.endsAt - session.signedInAt }, secure(request)));
      return reply.status(201).send(wire(session));
    },
  );

  server.delete(
    '/session',
    {
      onRequest: async (request) => refuseCrossOrigin(request, auth),
      schema: {
        tags,
        summary: 'Sign the console out: ends the session for every tab and instance, and clears its cookie',
        description: `${cookieNote} Answers 204 whether or not a session was on.`,
        headers: consoleHeader,
        response: { 204: noContent, 403: errorBodySchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const id = sessionIdOf(request.headers.cookie);
      if (id) await auth.sessions.signOut(id);
      reply.header('set-cookie', sessionCookie(undefined, secure(request)));
      return reply.status(204).send();
    },
  );
};
