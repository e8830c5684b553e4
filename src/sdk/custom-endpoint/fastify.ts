import type { FastifyError, FastifyPluginAsync } from 'fastify';
import type { CustomEndpointService } from './service.js';

export interface CustomEndpointPluginOptions {
  service: CustomEndpointService;
}

/**
 * The service as a Fastify plugin: `app.register(customEndpointPlugin, {service, prefix: '/bot'})`
 * makes `<server>/bot` the Custom Endpoint base URL. Every request under the prefix goes to
 * `service.handle` as raw bytes, so routing, the token check, body parsing and errors are the
 * same as through node:http. Encapsulated: the app's own content-type parsers and error handler
 * are left alone.
 */
export const customEndpointPlugin: FastifyPluginAsync<CustomEndpointPluginOptions> = async (instance, { service }) => {
  if (typeof service?.handle !== 'function')
    throw new TypeError('customEndpointPlugin: options.service must come from createCustomEndpointService()');
  const prefix = instance.prefix;

  instance.removeAllContentTypeParsers();
  instance.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: service.bodyLimit }, (_request, body, done) =>
    done(null, body),
  );

  // What Fastify refuses before the service sees the call (a body past the limit, mostly), in the service's error shape.
  instance.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    const code = status === 413 ? 'payload-too-large' : status < 500 ? 'bad-request' : 'internal';
    if (status >= 500) request.log.error({ err: error }, 'custom endpoint request failed');
    return reply
      .code(status)
      .send({ error: { code, message: status < 500 ? error.message : 'the bot service failed to handle this call' } });
  });

  instance.route({
    method: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'],
    url: '/*',
    bodyLimit: service.bodyLimit,
    handler: async (request, reply) => {
      const path = request.url.startsWith(prefix)
        ? request.url.slice(prefix.length)
        : `/${(request.params as Record<string, string>)['*'] ?? ''}`;
      const answer = await service.handle({
        method: request.method,
        path: path || '/',
        headers: request.headers,
        ...(Buffer.isBuffer(request.body) && request.body.byteLength ? { body: request.body } : {}),
      });
      reply.code(answer.status);
      if (answer.headers) reply.headers(answer.headers);
      if (answer.body === undefined) return reply.send();
      // Sent as text: the service's JSON, not re-serialised by a route schema.
      return reply.type('application/json; charset=utf-8').send(JSON.stringify(answer.body));
    },
  });
};
