import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Refusals Fastify and Node make before any route, hook or error handler runs, each in its
 * own shape unless told otherwise. Here they answer `{error: {code, message}}` like everything
 * else, so a client reads every refusal the same way.
 */

/**
 * A URL whose percent-escapes do not decode (`/%zz`, `/%FF`: Fastify's FST_ERR_BAD_URL, 400) and
 * a path parameter longer than the router takes (FST_ERR_MAX_PARAM_LENGTH, 414). The message
 * does not repeat the URL: it may carry a `?token=`, and the caller knows what it sent.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.status(414).send({ error: { code: 'uri-too-long', message: 'a path segment of the URL is too long' } });
    return;
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    void reply
      .status(400)
      .send({ error: { code: 'bad-url', message: 'the URL holds a percent-escape that does not decode to UTF-8' } });
    return;
  }
  void reply.status(500).send({ error: { code: 'internal', message: 'internal server error' } });
}

/**
 * What Node's HTTP parser refuses (headers over its 16 KiB, a request that is not HTTP, one
 * that took too long to arrive) is answered on the socket, which is then closed, as Fastify's
 * own handler does, only in our shape.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers-too-large', 'the request headers exceed the size this server reads']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request-timeout', 'the request did not arrive in time']
        : [400, 'malformed-request', 'the request is not valid HTTP'];
  const body = JSON.stringify({ error: { code, message } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
