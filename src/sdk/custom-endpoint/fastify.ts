import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import type { CustomEndpointService } from './service.js';

const CONTRACT_ROUTES = [
  { method: 'GET', url: '/:apiVersion/bots/:botId/environments', summary: 'Environments of a bot' },
  {
    method: 'GET',
    url: '/:apiVersion/bots/:botId/environments/:environment/state',
    summary: 'State and version of a bot in an environment',
  },
  {
    method: 'PUT',
    url: '/:apiVersion/bots/:botId/environments/:environment/conversations/:convId',
    summary: 'Create a conversation on the bot (409 when it exists)',
  },
  {
    method: 'POST',
    url: '/:apiVersion/bots/:botId/environments/:environment/conversations/:convId/events',
    summary: 'A conversation event; the bot answers with messages, actions and intents',
  },
] as const;

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

  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
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
  };

  // The contract's four calls by name, so an app's OpenAPI document lists them; the service
  // itself routes, so everything else under the prefix goes to it too (its 404s and 405s).
  for (const { method, url, summary } of CONTRACT_ROUTES)
    instance.route({
      method,
      url,
      bodyLimit: service.bodyLimit,
      // `tags` and `hide` are @fastify/swagger's words (read when the app has it): not FastifySchema's own.
      schema: { tags: ['custom-endpoint'], summary } as FastifySchema,
      handler,
    });
  instance.route({
    method: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'],
    url: '/*',
    bodyLimit: service.bodyLimit,
    schema: { hide: true } as FastifySchema,
    handler,
  });
};
