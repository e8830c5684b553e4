import pino, { type Logger, type DestinationStream } from 'pino';
import { isCredentialName, redactUrl } from './redaction.js';

const CENSOR = '[REDACTED]';

/**
 * Headers that carry credentials under a fixed name. Headers logged at the top level (`headers`)
 * or inside an error are judged by name pattern (isCredentialName); these paths catch the
 * well-known ones one level further down, where a serializer does not look.
 */
const CREDENTIAL_HEADERS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-access-token',
];

/**
 * JSON logs. Secrets never appear: credential headers, passwords, client secrets and tokens are
 * censored wherever they sit in a logged object, and URLs lose their credential query values.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: [
          ...CREDENTIAL_HEADERS.flatMap((name) => [`*.headers["${name}"]`, `*.*.headers["${name}"]`]),
          '*.password',
          '*.client_secret',
          '*.clientSecret',
          '*.access_token',
          '*.token',
          '*.consumerToken',
          '*.bearer',
          'password',
          'clientSecret',
          'client_secret',
          'token',
        ],
        censor: CENSOR,
      },
      serializers: {
        req: (req: { method: string; url: string; id: string; ip?: string }) => ({
          id: req.id,
          method: req.method,
          url: redactUrl(req.url),
          remoteAddress: req.ip,
        }),
        // Plugins log raw request URLs under these keys (e.g. @fastify/websocket's
        // `{path}` when an upgrade hits a route without a WebSocket handler).
        path: redactIfString,
        url: redactIfString,
        headers: redactHeaders,
        // HTTP client errors carry the request's or the response's headers (undici's
        // ResponseStatusCodeError has `headers`, others a `response` or `cause` holding them).
        err: (err: Error) => redactNestedHeaders(pino.stdSerializers.err(err), 4),
      },
    },
    destination,
  );
}

function redactIfString(value: unknown): unknown {
  return typeof value === 'string' ? redactUrl(value) : value;
}

/** A copy of the headers with the value of every credential-like header censored. */
export function redactHeaders(headers: unknown): unknown {
  // Fetch's Headers keeps its entries out of sight of JSON; undici's raw form is [name, value, ...].
  if (headers instanceof Headers) headers = Object.fromEntries(headers.entries());
  if (Array.isArray(headers))
    return headers.map((item, i) => (i % 2 === 1 && isCredentialName(String(headers[i - 1])) ? CENSOR : item));
  if (!isRecord(headers)) return headers;
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, isCredentialName(name) ? CENSOR : value]),
  );
}

function redactNestedHeaders(value: unknown, depth: number): unknown {
  if (!isRecord(value) || depth === 0) return value;
  const copy: Record<string, unknown> = Array.isArray(value) ? Object.assign([], value) : { ...value };
  for (const [key, inner] of Object.entries(copy)) {
    copy[key] = key === 'headers' ? redactHeaders(inner) : redactNestedHeaders(inner, depth - 1);
  }
  return copy;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The level a request's own lines ("incoming request", "request completed") are written at. */
export type RequestLogLevel = 'debug' | 'info';

/** A request's logger that knows the level of its route's request lines (see src/http/request-log.ts). */
export type RequestLogger = Logger & { readonly requestLevel?: RequestLogLevel };

/**
 * Fastify's childLoggerFactory: a request's logger that becomes a pino child (with the request
 * id bound) only when something is logged at a level that is on. pino redacts a child's
 * bindings as it makes it, and Fastify makes one per request and keeps it for a WebSocket's
 * whole life: at the warn level, nearly all of them were made for nothing. It carries its
 * route's request-line level, so deciding whether to write those lines reads a field of an
 * object made anyway, instead of Fastify's routeOptions (a new object at every read).
 */
export function lazyChildLogger(
  logger: Logger,
  bindings: Record<string, unknown>,
  options: { level?: string; serializers?: unknown },
  requestLevel?: RequestLogLevel,
): RequestLogger {
  // A route with its own level or serializers: rare, made at once as Fastify would (its request
  // lines then follow the method's default level).
  if (options.level !== undefined || options.serializers !== undefined)
    return logger.child(bindings, options as Parameters<Logger['child']>[1]) as unknown as Logger;
  return new LazyChild(logger, bindings, requestLevel) as unknown as RequestLogger;
}

/** Methods on the prototype, not closures: one of these lives as long as each open stream. */
class LazyChild {
  private made?: Logger;

  constructor(
    private readonly parent: Logger,
    private readonly bindingsOf: Record<string, unknown>,
    readonly requestLevel: RequestLogLevel | undefined,
  ) {}

  private real(): Logger {
    this.made ??= this.parent.child(this.bindingsOf) as unknown as Logger;
    return this.made;
  }

  private at(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]): void {
    if (this.made || this.parent.isLevelEnabled(level)) (this.real()[level] as (...a: unknown[]) => void)(...args);
  }

  fatal(...args: unknown[]) {
    this.at('fatal', args);
  }
  error(...args: unknown[]) {
    this.at('error', args);
  }
  warn(...args: unknown[]) {
    this.at('warn', args);
  }
  info(...args: unknown[]) {
    this.at('info', args);
  }
  debug(...args: unknown[]) {
    this.at('debug', args);
  }
  trace(...args: unknown[]) {
    this.at('trace', args);
  }
  silent() {}
  child(bindings: Record<string, unknown>, options?: Parameters<Logger['child']>[1]) {
    return this.real().child(bindings, options);
  }
  isLevelEnabled(level: string) {
    return (this.made ?? this.parent).isLevelEnabled(level);
  }
  bindings() {
    return this.real().bindings();
  }
  get level() {
    return (this.made ?? this.parent).level;
  }
  set level(level: string) {
    this.real().level = level;
  }
}
