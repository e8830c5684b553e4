import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import formbody from '@fastify/formbody';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { Logger } from 'pino';
import { invalid, isDomainError, type DomainError } from '../errors.js';
import { httpAnswerOf, sendError, type HttpAnswer } from './errors.js';
import { clientErrorHandler, frameworkErrors } from './framework-errors.js';
import { childrenOf, type Metrics } from '../ops/metrics.js';
import { lazyChildLogger } from '../ops/logger.js';
import { logRequestsAt, RequestLog } from './request-log.js';
import { SESSION_COOKIE } from './operator-sessions.js';
import { isStoreUnavailable } from '../store/errors.js';
import { clippedPointer, describeJsonLimit, exceededJsonLimit } from '../util/json-bounds.js';

/** Any character JSON does not skip as whitespace. */
const NOT_BLANK = /[^ \t\n\r]/;

export const BODY_LIMIT = 1024 * 1024;
/**
 * How deeply a JSON body may nest. The deepest any route takes is a Public API message (body →
 * messages → item → structuredContent, the content itself at most RICH_CONTENT_LIMITS' 24
 * levels); what goes past this is refused as it is parsed, so no route's validation, log line
 * or JSON.stringify — all recursive — meets a body nested 10,000 deep. The count of values
 * needs no bound of its own: BODY_LIMIT keeps it under a million.
 */
export const BODY_MAX_DEPTH = 64;

export interface HttpServerOptions {
  logger: Logger;
  metrics: Metrics;
  version: string;
  /**
   * Tests: every JSON answer is also written with plain JSON.stringify, and a difference fails
   * the request (see compareWithPlainJson).
   */
  checkResponses?: boolean;
  /** See Config.trustProxy: whose X-Forwarded-For makes `request.ip`. */
  trustProxy?: string;
}

/**
 * The Fastify instance every part registers its routes on: one error shape, schema-first
 * validation (bodies strictly typed, query and path coerced from strings), 1 MiB bodies nested
 * at most 64 deep, request ids, latency metrics and the OpenAPI document generated from the
 * route schemas.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Routes get their own factory (logRequestsAt); this one serves requests that match none.
    childLoggerFactory: (logger, bindings, options) =>
      lazyChildLogger(logger as unknown as Logger, bindings, options) as unknown as FastifyBaseLogger,
    logController: new RequestLog(),
    return503OnClosing: true,
    ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
    routerOptions: { ignoreTrailingSlash: true },
    // Refusals made before any route (undecodable URLs, oversized headers) keep the error shape.
    frameworkErrors,
    clientErrorHandler,
  });
  // Before any route is added, so every one of them (plugins' too) gets its request-line level.
  logRequestsAt(server);

  // A body has to be the type the schema says: "5" is not a number there. Query strings and path
  // parameters are text by nature, so they are coerced.
  const strict = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: true, strict: false });
  const coercing = new Ajv({ allErrors: false, coerceTypes: 'array', useDefaults: true, strict: false });
  addFormats.default(strict);
  addFormats.default(coercing);
  server.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strict : coercing).compile(schema));

  // An empty JSON body is "no body" (the Public API's close takes `-d ''` as well as `{}`).
  // Anything else goes through Fastify's own JSON parser, which also refuses `__proto__` and
  // `constructor.prototype` keys (prototype poisoning: SDES and visitor objects get merged).
  const parseJson = server.getDefaultJsonParser('error', 'error');
  server.removeContentTypeParser('application/json');
  server.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    // Tested, not trimmed: trim() copies the whole body, and JSON.parse skips the blanks anyway.
    if (!NOT_BLANK.test(text)) return done(null, undefined);
    // Called with a callback, the default parser answers through it and returns nothing.
    void parseJson(req, text, (error, parsed) => {
      if (error)
        return done(
          invalid(
            'request body is not valid JSON (or holds a __proto__ / constructor.prototype key)',
            'malformed-json',
          ),
          undefined,
        );
      const exceeded = exceededJsonLimit(parsed, { maxDepth: BODY_MAX_DEPTH, maxNodes: Infinity });
      if (exceeded) {
        return done(
          invalid(
            `request body ${describeJsonLimit(exceeded)} (at ${clippedPointer(exceeded.pointer)}), the most a request may have`,
            'json-too-deep',
          ),
          undefined,
        );
      }
      done(null, parsed);
    });
  });
  await server.register(formbody);
  await server.register(websocket, { options: { maxPayload: BODY_LIMIT } });

  await server.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'botbridge', version: options.version, description: 'Self-hosted Third-Party Bots platform' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          operatorSession: {
            type: 'apiKey',
            in: 'cookie',
            name: SESSION_COOKIE,
            description:
              'The console’s operator session (POST /admin/v1/session); writes with it must carry X-Botbridge-Console',
          },
        },
      },
    },
  });

  server.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  if (options.checkResponses) compareWithPlainJson(server);
  // Graceful stop: close() drops the connections idle at that moment and waits for the rest. A
  // request still in flight would otherwise leave its connection kept alive after answering, and
  // the stop would wait until the client (or the 72 s keep-alive timeout) drops it. So whatever is
  // answered once closing has begun says `Connection: close`, and Node ends the socket after it.
  let closing = false;
  server.addHook('preClose', async () => {
    closing = true;
  });
  // Callback hooks, not async ones: every request runs them, and a promise each is not free.
  server.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
  const httpDuration = childrenOf(options.metrics.httpDuration);
  server.addHook('onResponse', (request, reply, done) => {
    httpDuration(request.method, request.routeOptions.url ?? 'unmatched', String(reply.statusCode)).observe(
      reply.elapsedTime / 1000,
    );
    done();
  });

  server.setErrorHandler((error: FastifyError | DomainError, request, reply) => {
    const answer = isDomainError(error) ? httpAnswerOf(error) : describeError(error);
    // A bot's service that failed to answer is its fault, not ours: its code says why, and a stack
    // trace of our code would only suggest otherwise. The request says which bot.
    if (isDomainError(error) && error.kind === 'upstream-failed')
      request.log.warn({ code: answer.code, status: answer.status, req: request }, answer.message);
    else if (answer.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ code: answer.code, status: answer.status }, answer.message);
    return sendError(reply, answer);
  });
  server.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: 'not-found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );

  server.get('/openapi.json', { schema: { hide: true } }, async () => server.swagger());
  return server;
}

/**
 * A route's response schema writes its answer with fast-json-stringify, which drops the
 * properties the schema does not name and coerces values to the types it says: a schema that
 * disagrees with its handler changes the wire in silence. Here each JSON answer is written again
 * with JSON.stringify, as a route without a schema would be, and any difference is a 500 naming
 * the route, so the test that made the request fails.
 */
function compareWithPlainJson(server: FastifyInstance): void {
  const plain = new WeakMap<FastifyRequest, string>();
  server.addHook('preSerialization', async (request, _reply, payload) => {
    plain.set(request, JSON.stringify(payload));
    return payload;
  });
  server.addHook('onSend', async (request, reply, payload) => {
    const expected = plain.get(request);
    plain.delete(request);
    if (expected === undefined || typeof payload !== 'string') return payload;
    if (isDeepStrictEqual(JSON.parse(payload), JSON.parse(expected))) return payload;
    const route = `${request.method} ${request.routeOptions.url ?? request.url} → ${reply.statusCode}`;
    request.log.error({ route, schemaWrote: payload, handlerGave: expected }, 'response schema changed the answer');
    throw new Error(`the response schema of ${route} changed the answer`);
  });
}

/** Errors not of the product's making: Fastify's own (validation, body limits) and the store's. */
function describeError(fe: FastifyError): HttpAnswer {
  if (fe.validation) return { status: 400, code: 'invalid-request', message: fe.message };
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'payload-too-large', message: `request body exceeds ${BODY_LIMIT} bytes` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported-media-type', message: fe.message };
    default:
      break;
  }
  // PostgreSQL refuses values SQLite keeps (NUL in text, integers beyond a column's range) with
  // SQLSTATE class 22, "data exception". Such a value came with the request: a 400, not a 500.
  // The schemas refuse the known cases first; this keeps the rest from answering 500.
  if (typeof fe.code === 'string' && /^22[0-9A-Z]{3}$/.test(fe.code)) {
    return { status: 400, code: 'invalid-value', message: 'a value in the request cannot be stored' };
  }
  if (isStoreUnavailable(fe))
    return {
      status: 503,
      code: 'store-unavailable',
      message: 'the store cannot serve right now (restarting, out of reach, or a wait ran out): try again shortly',
      headers: { 'retry-after': '1' },
    };
  const status = fe.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, code: 'bad-request', message: fe.message };
  return { status: 500, code: 'internal', message: 'internal server error' };
}

/** The bearer token of a request: the Authorization header, or `?token=` where a browser cannot set headers. */
export function bearerOf(request: FastifyRequest, allowQuery = false): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : undefined;
  }
  if (allowQuery) {
    const token = (request.query as Record<string, unknown> | undefined)?.token;
    if (typeof token === 'string' && token) return token;
  }
  return undefined;
}
