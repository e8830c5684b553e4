import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { DomainError, invalid, isDomainError, notFound, unauthorized, upstreamFailed } from '../errors.js';
import { errorBodySchema, httpAnswerOf } from '../http/errors.js';
import { errorResponses } from '../http/schemas.js';
import { sessionCookie, sessionIdOf, type OperatorSessions } from '../http/operator-sessions.js';
import type { SecretBox } from '../util/secret-box.js';
import type { Operators } from './operators.js';
import { SSO_CALLBACK_PATH, claimValues, grantsOf, isLoopback, safeReturnTo, type SsoConfig } from './sso-config.js';

/**
 * Single sign-on: the authorization code flow with PKCE against the configured OpenID provider
 * (openid-client checks state, nonce, the code verifier and the ID token). What must survive from
 * the redirect to the provider until the browser comes back (verifier, state, nonce, where to go
 * next) travels sealed in a short-lived cookie of its own: the callback may land on another
 * instance than the login did, and nothing in memory would be there.
 */

const tags = ['admin'];

/** The sign-in in flight. Path-bound to the SSO routes, so no other request carries it. */
export const SSO_TRANSACTION_COOKIE = 'botbridge_sso';
const SSO_PATH = '/admin/v1/sso';
/** Long enough to type a password and pass a second factor at the provider; short enough to be worth nothing later. */
const TRANSACTION_MS = 10 * 60_000;

interface Transaction {
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
  redirectUri: string;
  expiresAt: number;
}

export interface SsoRoutesDeps {
  /** Undefined: single sign-on is off, and its routes say so. */
  sso: SsoConfig | undefined;
  /** Seals the transaction cookie: only this installation can write one it will read. */
  box: SecretBox;
  sessions: OperatorSessions;
  operators: Pick<Operators, 'fromSso'>;
  /** host:port this server is reached at, for the default redirect URL. */
  publicHost(): string;
  now?: () => number;
}

const redirectSchema = { type: 'null', description: 'Redirect: the Location header says where' } as const;

export const ssoRoutes: FastifyPluginAsync<SsoRoutesDeps> = async (server, deps) => {
  const { sso, box, sessions, operators, publicHost } = deps;
  const now = deps.now ?? Date.now;
  const provider = sso ? providerOf(sso) : undefined;
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');
  const required = () => {
    if (!sso || !provider) throw notFound('single sign-on is not configured here (OIDC_ISSUER)', 'sso-disabled');
    return { sso, provider };
  };

  server.get(
    '/sso',
    {
      schema: {
        tags,
        summary: 'Whether the console offers single sign-on, and through which OpenID provider',
        response: {
          200: {
            type: 'object',
            properties: {
              enabled: { type: 'boolean' },
              issuer: { type: 'string', description: 'The OpenID provider (its issuer URL), when enabled' },
            },
            required: ['enabled'],
          },
          ...errorResponses,
        },
      },
    },
    async () => (sso ? { enabled: true, issuer: sso.issuer } : { enabled: false }),
  );

  server.get<{ Querystring: { returnTo?: string } }>(
    '/sso/login',
    {
      schema: {
        tags,
        summary: 'Start signing in through the OpenID provider: redirects the browser there',
        description: `Authorization code flow with PKCE (S256), state and nonce, kept until the callback in the sealed, httpOnly, SameSite=Lax cookie \`${SSO_TRANSACTION_COOKIE}\` (ten minutes).`,
        querystring: {
          type: 'object',
          properties: {
            returnTo: {
              type: 'string',
              maxLength: 2048,
              description: 'A path on this server to land on once signed in (default /admin); anything else is ignored',
            },
          },
        },
        response: { 302: redirectSchema, 404: errorBodySchema, 502: errorBodySchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { sso, provider } = required();
      noStore(reply);
      const client = await provider.configuration();
      const transaction: Transaction = {
        verifier: oidc.randomPKCECodeVerifier(),
        state: oidc.randomState(),
        nonce: oidc.randomNonce(),
        returnTo: safeReturnTo(request.query.returnTo),
        redirectUri: sso.redirectUrl ?? `${request.protocol}://${publicHost()}${SSO_CALLBACK_PATH}`,
        expiresAt: now() + TRANSACTION_MS,
      };
      const url = oidc.buildAuthorizationUrl(client, {
        redirect_uri: transaction.redirectUri,
        scope: sso.scopes,
        code_challenge: await oidc.calculatePKCECodeChallenge(transaction.verifier),
        code_challenge_method: 'S256',
        state: transaction.state,
        nonce: transaction.nonce,
      });
      reply.header('set-cookie', transactionCookie(box.seal(JSON.stringify(transaction)), transaction.redirectUri));
      return reply.redirect(url.href, 302);
    },
  );

  server.get<{ Querystring: Record<string, string> }>(
    '/sso/callback',
    {
      errorHandler: refusalPage,
      schema: {
        tags,
        summary: 'Where the OpenID provider sends the browser back: signs the console in and redirects to it',
        description:
          'Exchanges the code (checking state, nonce, PKCE and the ID token), maps the roles claim through OIDC_ROLE_MAP, makes or updates the operator and sets the session cookie, then redirects to the console. Refused 403 sso-no-role when the mapping gives the operator nothing (their roles are then taken away, and no session is made); 401 sso-refused when the provider refused; 400 sso-expired without the sign-in cookie of this browser. A browser (Accept: text/html) is answered a refusal as a short page with the same status and message.',
        querystring: {
          type: 'object',
          properties: {
            code: { type: 'string' },
            state: { type: 'string' },
            iss: { type: 'string' },
            error: { type: 'string' },
            error_description: { type: 'string' },
          },
          additionalProperties: { type: 'string' },
        },
        response: {
          302: redirectSchema,
          400: errorBodySchema,
          401: errorBodySchema,
          403: errorBodySchema,
          404: errorBodySchema,
          409: errorBodySchema,
          502: errorBodySchema,
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { sso, provider } = required();
      noStore(reply);
      const transaction = transactionOf(request, box, now());
      // One try per sign-in, whatever comes of it: a used transaction is never offered again.
      const cleared = transactionCookie('', transaction?.redirectUri ?? '', 0);
      reply.header('set-cookie', cleared);
      const { error, error_description: description } = request.query;
      if (error)
        throw unauthorized(
          `the OpenID provider did not sign you in: ${error}${description ? ` (${description.slice(0, 300)})` : ''}`,
          'sso-refused',
        );
      if (!transaction)
        throw invalid(
          'this sign-in is not the one this browser started, or it took longer than ten minutes: sign in again',
          'sso-expired',
        );
      const client = await provider.configuration();
      const currentUrl = new URL(transaction.redirectUri);
      currentUrl.search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      const claims = await provider.claims(client, currentUrl, transaction);
      const subject = `${String(claims.iss)} ${String(claims.sub)}`;
      // An address the provider says is unchecked names nobody: it could be anyone's.
      const email = claims.email_verified === false ? undefined : claims.email;
      const login = firstString(email, claims.preferred_username, claims.sub)!;
      const granted = grantsOf(claims, sso.rolesClaim, sso.roleMap);
      // The provider decides at every sign-in: one it no longer grants anything loses the roles they had.
      const operator = await operators.fromSso({
        subject,
        login,
        name: firstString(claims.name, login)!,
        ...granted,
      });
      if (!operator.superAdmin && !Object.keys(operator.roles).length) {
        request.log.info({ operatorId: operator.id, login }, 'single sign-on refused: the role map grants nothing');
        const values = claimValues(claims, sso.rolesClaim).slice(0, 10);
        throw new DomainError(
          'forbidden',
          'sso-no-role',
          `${login} signed in at the OpenID provider, but this installation gives them no role: ${
            values.length
              ? `none of their '${sso.rolesClaim}' values (${values.join(', ')}) grants a role on an account here`
              : `they have no '${sso.rolesClaim}' claim`
          } (OIDC_ROLE_MAP). Ask an administrator for access.`,
        );
      }
      const previous = sessionIdOf(request.headers.cookie);
      if (previous) await sessions.signOut(previous);
      const { id, session } = await sessions.signIn(operator.id);
      reply.header('set-cookie', [
        cleared,
        sessionCookie(
          { id, maxAgeMs: session.endsAt - session.signedInAt },
          { secure: request.protocol === 'https' || transaction.redirectUri.startsWith('https:') },
        ),
      ]);
      request.log.info(
        {
          operatorId: operator.id,
          login: operator.login,
          superAdmin: operator.superAdmin,
          accounts: Object.keys(operator.roles),
        },
        'operator signed in through single sign-on',
      );
      return reply.redirect(transaction.returnTo, 302);
    },
  );
};

/** The provider's discovered configuration (fetched once, again after a failure) and the code exchange. */
function providerOf(sso: SsoConfig) {
  const issuer = new URL(sso.issuer);
  let discovered: Promise<oidc.Configuration> | undefined;
  const configuration = async () => {
    discovered ??= oidc.discovery(issuer, sso.clientId, undefined, oidc.ClientSecretBasic(sso.clientSecret), {
      // openid-client refuses plain HTTP; the configuration allows it only to this machine.
      ...(issuer.protocol === 'http:' && isLoopback(issuer.hostname) ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
    try {
      return await discovered;
    } catch (error) {
      discovered = undefined;
      throw upstreamFailed(
        `the OpenID provider at ${sso.issuer} could not be reached or described itself wrongly: ${(error as Error).message}`,
        'sso-provider-unreachable',
      );
    }
  };

  /** The code exchanged and checked; the ID token's claims, with the userinfo endpoint's where there is one. */
  const claims = async (
    client: oidc.Configuration,
    currentUrl: URL,
    transaction: Transaction,
  ): Promise<Record<string, unknown>> => {
    try {
      const tokens = await oidc.authorizationCodeGrant(client, currentUrl, {
        pkceCodeVerifier: transaction.verifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
      const idToken = tokens.claims()!;
      // Providers put scope claims (email, groups) in the ID token or only in userinfo: read both.
      const userinfo = client.serverMetadata().userinfo_endpoint
        ? await oidc.fetchUserInfo(client, tokens.access_token, idToken.sub)
        : {};
      return { ...userinfo, ...idToken };
    } catch (error) {
      if (isDomainError(error)) throw error;
      if (error instanceof oidc.AuthorizationResponseError || error instanceof oidc.ResponseBodyError)
        throw unauthorized(
          `the OpenID provider did not sign you in: ${error.error}${
            error.error_description ? ` (${error.error_description.slice(0, 300)})` : ''
          }`,
          'sso-refused',
        );
      // A failed check (state, nonce, issuer, signature) or a provider gone quiet: neither signs in.
      throw unauthorized(`the OpenID provider's answer did not check out: ${(error as Error).message}`, 'sso-failed');
    }
  };
  return { configuration, claims };
}

/**
 * The callback is a page the browser lands on, not a call the console makes: a refusal there is
 * shown to a person as a page saying why, with the way back. Anything else (a JSON client, an
 * error not of our making) goes to the server's own handler.
 */
function refusalPage(this: FastifyInstance, error: Error, request: FastifyRequest, reply: FastifyReply) {
  if (!isDomainError(error) || !request.headers.accept?.includes('text/html')) throw error;
  const { status, code, message } = httpAnswerOf(error);
  request.log.info({ code, status }, message);
  return reply
    .status(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
        `<title>Not signed in · botbridge</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;` +
        `margin:4rem auto;padding:0 1rem;color:#1f2933}code{color:#52606d}</style></head><body>` +
        `<h1>Not signed in</h1><p>${escapeHtml(message)}</p><p><code>${escapeHtml(code)}</code></p>` +
        `<p><a href="/">Back to the sign-in page</a></p></body></html>`,
    );
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function transactionCookie(value: string, redirectUri: string, maxAgeMs = TRANSACTION_MS): string {
  return [
    `${SSO_TRANSACTION_COOKIE}=${value}`,
    `Path=${SSO_PATH}`,
    `Max-Age=${Math.floor(maxAgeMs / 1000)}`,
    'HttpOnly',
    // Lax, not Strict: the provider's redirect back is a top-level navigation from its site.
    'SameSite=Lax',
    ...(redirectUri.startsWith('https:') ? ['Secure'] : []),
  ].join('; ');
}

/** The sign-in this browser started, when its cookie opens and has not run out. */
function transactionOf(request: FastifyRequest, box: SecretBox, now: number): Transaction | undefined {
  const sealed = cookieValue(request.headers.cookie, SSO_TRANSACTION_COOKIE);
  if (!sealed) return undefined;
  try {
    const transaction = JSON.parse(box.open(sealed)) as Transaction;
    return transaction.expiresAt > now ? transaction : undefined;
  } catch {
    return undefined;
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of header?.split(';') ?? []) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim() || undefined;
  }
  return undefined;
}

const firstString = (...values: unknown[]): string | undefined =>
  values.find((v): v is string => typeof v === 'string' && v.trim() !== '');
