import type { FastifyPluginAsync } from 'fastify';
import { invalid, unauthorized } from '../errors.js';
import { errorBodySchema } from '../http/errors.js';
import { accountParams, errorResponses } from '../http/schemas.js';
import type { Accounts } from './tokens.js';
import type { KeyRing } from './keys.js';
import type { AppTokens } from './tokens.js';
import type { CredentialAttempts } from './attempts.js';

export interface SentinelApiDeps {
  keys: KeyRing;
  apps: AppTokens;
  directory: Accounts;
  attempts: CredentialAttempts;
}

const credentials = {
  type: 'object',
  properties: { client_id: { type: 'string', minLength: 1 }, client_secret: { type: 'string', minLength: 1 } },
} as const;

/** Where LivePerson's clients find Sentinel on this server (HTTP-SURFACE.md). */
export const SENTINEL_PREFIX = '/sentinel';

/** The public keys app tokens verify against (RFC 7517): the signing key first. */
const jwksSchema = {
  type: 'object',
  properties: {
    keys: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          kty: { type: 'string' },
          kid: { type: 'string' },
          alg: { type: 'string' },
          use: { type: 'string' },
          n: { type: 'string' },
          e: { type: 'string' },
        },
        additionalProperties: true,
      },
    },
  },
  required: ['keys'],
} as const;

/**
 * The LivePerson-shaped Sentinel surface: the client-credentials token and the JWKS. No scope-wide
 * auth: the token route checks the client's own credentials, and the keys are public.
 */
export const sentinelApi: FastifyPluginAsync<SentinelApiDeps> = async (server, deps) => {
  server.post<{
    Params: { acc: string };
    Querystring: { v?: string; grant_type: string; client_id?: string; client_secret?: string };
    Body: { client_id?: string; client_secret?: string } | undefined;
  }>(
    '/api/account/:acc/app/token',
    {
      schema: {
        tags: ['sentinel'],
        summary: 'OAuth 2.0 client-credentials grant: an RS256 app JWT',
        params: accountParams,
        querystring: {
          type: 'object',
          properties: {
            v: { type: 'string' },
            grant_type: { type: 'string', enum: ['client_credentials'] },
            ...credentials.properties,
          },
          required: ['grant_type'],
        },
        body: { anyOf: [credentials, { type: 'null' }] },
        response: {
          200: {
            type: 'object',
            properties: {
              access_token: { type: 'string', description: 'An RS256 app JWT' },
              token_type: { type: 'string', enum: ['Bearer'] },
              expires_in: { type: 'integer', description: 'Seconds' },
            },
            required: ['access_token', 'token_type', 'expires_in'],
          },
          401: { ...errorBodySchema, description: 'Unknown client id or wrong secret (never says which)' },
          429: { ...errorBodySchema, description: 'Too many failed token requests; see Retry-After' },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { acc } = request.params;
      const clientId = request.body?.client_id ?? request.query.client_id;
      const clientSecret = request.body?.client_secret ?? request.query.client_secret;
      if (!clientId || !clientSecret) {
        throw invalid('client_id and client_secret are required (form fields or query)', 'invalid_request');
      }
      await deps.directory.requireAccount(acc);
      // An unknown client id and a wrong secret are one answer, counted alike.
      const granted = await deps.attempts.verify(
        { credential: 'client-secret', accountId: acc, name: clientId, address: request.ip },
        () => deps.apps.grant(acc, clientId, clientSecret),
      );
      if (!granted) throw unauthorized('client authentication failed', 'invalid_client');
      reply.header('cache-control', 'no-store');
      return { access_token: granted.token, token_type: 'Bearer', expires_in: granted.expiresIn };
    },
  );

  const jwks = async () => deps.keys.jwks();
  server.get(
    '/well-known/jwks',
    {
      schema: {
        tags: ['sentinel'],
        summary: 'Public keys of app tokens',
        response: { 200: jwksSchema, ...errorResponses },
      },
    },
    jwks,
  );
  server.get<{ Params: { acc: string } }>(
    '/api/account/:acc/.well-known/jwks',
    {
      schema: {
        tags: ['sentinel'],
        summary: 'Public keys of app tokens',
        params: accountParams,
        response: { 200: jwksSchema, ...errorResponses },
      },
    },
    async (request) => {
      await deps.directory.requireAccount(request.params.acc);
      return jwks();
    },
  );
};
