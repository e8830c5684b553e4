import {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RouteOptions,
} from 'fastify';
import type { Logger } from 'pino';
import { lazyChildLogger, type RequestLogger, type RequestLogLevel } from '../ops/logger.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The level of this route's "incoming request" and "request completed" lines while it
     * answers below 400. Unset: debug for reads, info for writes (routeRequestLevel). Set it on
     * a write that clients send on a timer (a keep-alive, typing), or on a read someone acts on.
     */
    requestLog?: RequestLogLevel;
  }
}

export type { RequestLogLevel };

type ChildLoggerFactory = NonNullable<RouteOptions['childLoggerFactory']>;

/** Reads change nothing: the console polls them, so at info they would drown what does. */
const READS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

function levelOfMethod(method: string | undefined): RequestLogLevel {
  return method !== undefined && READS.has(method) ? 'debug' : 'info';
}

/** A route's request-line level: its own `config.requestLog`, else debug for reads and info for writes. */
export function routeRequestLevel(method: string | readonly string[], configured?: RequestLogLevel): RequestLogLevel {
  if (configured) return configured;
  if (typeof method === 'string') return levelOfMethod(method);
  return method.every((m) => READS.has(m)) ? 'debug' : 'info';
}

export type CompletionLevel = RequestLogLevel | 'warn' | 'error';

/**
 * The level of a "request completed" line: the route's, raised by what went wrong. A 502 is a
 * service we called failing (a bot's endpoint): worth a look, not an alarm about us. Other 5xx
 * are ours. A refusal (4xx) is the caller's business, but shows even on a polled route: a console
 * polling with a revoked token is worth seeing.
 */
export function completionLevel(route: RequestLogLevel, status: number): CompletionLevel {
  if (status === 502) return 'warn';
  if (status >= 500) return 'error';
  if (status >= 400) return 'info';
  return route;
}

/**
 * Fastify's request lines at the level of each request's route instead of always at info. The
 * level comes with the request's logger (see logRequestsAt), so a polled route at the info level
 * costs a field read and a level check: nothing is allocated unless a line is written.
 */
export class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (this.isLogDisabled(request)) return;
    const log = request.log as RequestLogger;
    const level = log.requestLevel ?? levelOfMethod(request.raw.method);
    if (log.isLevelEnabled(level)) log[level]({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const log = reply.log as RequestLogger;
    if (error) {
      log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
      return;
    }
    const route = log.requestLevel ?? levelOfMethod(request.raw.method);
    const level = completionLevel(route, reply.statusCode);
    if (!log.isLevelEnabled(level)) return;
    // Raised above its route's level, the request's incoming line may not have been written:
    // this line then says which request it was.
    const line =
      level === route
        ? { res: reply, responseTime: reply.elapsedTime }
        : { req: request, res: reply, responseTime: reply.elapsedTime };
    log[level](line, 'request completed');
  }
}

/**
 * Every route added from here on, in this scope and the scopes it registers, gets request loggers
 * that carry its request-line level: the route's `config.requestLog`, else `level` (a whole scope
 * of machine traffic, say), else the default for its method. A scope's hook runs after its
 * parent's, so the scope's level wins over the parent's default and a route's own over both.
 */
export function logRequestsAt(scope: FastifyInstance, level?: RequestLogLevel): void {
  const factories: Record<RequestLogLevel, ChildLoggerFactory> = {
    debug: loggerFactory('debug'),
    info: loggerFactory('info'),
  };
  scope.addHook('onRoute', (route) => {
    const configured = route.config?.requestLog ?? level;
    route.childLoggerFactory = factories[routeRequestLevel(route.method, configured)];
  });
}

function loggerFactory(level: RequestLogLevel): ChildLoggerFactory {
  return (logger, bindings, options) =>
    lazyChildLogger(logger as unknown as Logger, bindings, options, level) as unknown as FastifyBaseLogger;
}
