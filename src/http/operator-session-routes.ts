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
    operator: {
      type: 'object',
      description: 'The operator signed in; absent for a sign-in with the admin token',
      properties: { id: { type: 'string' }, login: { type: 'string' }, name: { type: 'string' } },
      required: ['id', 'login', 'name'],
    },
  },
  required: ['signedInAt', 'expiresAt', 'endsAt'],
} as const;

/** A named operator, as the session answer shows them. */
export interface SignedInOperator {
  id: string;
  login: string;
  name: string;
}

export interface OperatorSessionRoutesDeps {
  auth: AdminAuth;
  /** The operator whose login and password these are (counted against guessing), else undefined. */
  verifyOperator(login: string, password: string, address: string): Promise<SignedInOperator | undefined>;
  findOperator(id: string): Promise<SignedInOperator | undefined>;
}

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

const wire = (session: OperatorSession, operator?: SignedInOperator) => ({
  signedInAt: session.signedInAt,
  expiresAt: session.expiresAt,
  endsAt: session.endsAt,
  ...(operator ? { operator: { id: operator.id, login: operator.login, name: operator.name } } : {}),
});

/**
 * The console's operator sign-in: the admin token once, for a session cookie (operator-sessions.ts).
 * Mounted under /admin/v1 beside, not inside, the scope the admin guard covers: signing in is how
 * a browser without a credential gets one.
 */
export const operatorSessionRoutes: FastifyPluginAsync<OperatorSessionRoutesDeps> = async (
  server,
  { auth, verifyOperator, findOperator },
) => {
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
      if (!found) throw unauthorized('no operator session: sign in', 'no-session');
      const { operatorId } = found.session;
      const operator = operatorId ? await findOperator(operatorId) : undefined;
      if (operatorId && !operator)
        throw unauthorized('the operator of this session no longer exists: sign in again', 'session-ended');
      return wire(found.session, operator);
    },
  );

  server.post<{ Body: { token: string } | { login: string; password: string } }>(
    '/session',
    {
      // Before the body is read: a forged sign-in is refused whatever it sends.
      onRequest: async (request) => refuseCrossOrigin(request, auth),
      schema: {
        tags,
        summary:
          'Sign the console in, as an operator (login and password) or with the admin token: answers the session and sets its cookie',
        description: `${cookieNote} Wrong passwords are counted as an agent's are (429 too-many-attempts past the limit).`,
        headers: consoleHeader,
        body: {
          oneOf: [
            {
              type: 'object',
              properties: { token: { type: 'string', minLength: 1, maxLength: 1024, description: 'The admin token' } },
              required: ['token'],
              additionalProperties: false,
            },
            {
              type: 'object',
              properties: {
                login: { type: 'string', minLength: 1, maxLength: 254 },
                password: { type: 'string', minLength: 1, maxLength: 1024 },
              },
              required: ['login', 'password'],
              additionalProperties: false,
            },
          ],
        },
        response: { 201: sessionSchema, 401: errorBodySchema, 403: errorBodySchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      noStore(reply);
      const { body } = request;
      let operator: SignedInOperator | undefined;
      if ('token' in body) {
        if (!isAdminToken(body.token)) throw unauthorized('invalid admin token');
      } else {
        operator = await verifyOperator(body.login, body.password, request.ip);
        if (!operator) throw unauthorized('unknown login or wrong password', 'invalid-credentials');
      }
      // Signing in again replaces this browser's session rather than leaving it behind.
      const previous = sessionIdOf(request.headers.cookie);
      if (previous) await auth.sessions.signOut(previous);
      const { id, session } = await auth.sessions.signIn(operator?.id);
      reply.header('set-cookie', sessionCookie({ id, maxAgeMs: session.endsAt - session.signedInAt }, secure(request)));
      return reply.status(201).send(wire(session, operator));
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
