import pino, { type Logger, type DestinationStream } from 'pino';
import { redactUrl } from '../http/server.js';

/**
 * JSON logs. Secrets never appear: bearer headers, passwords, client secrets and tokens are
 * censored wherever they sit in a logged object, and URLs lose their secret query values.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
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
        censor: '[REDACTED]',
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
      },
    },
    destination,
  );
}

function redactIfString(value: unknown): unknown {
  return typeof value === 'string' ? redactUrl(value) : value;
}
