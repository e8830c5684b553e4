import type { FastifyPluginAsync } from 'fastify';
import swaggerUi from '@fastify/swagger-ui';

/** Where the API reference is served: the console links to it. */
export const REFERENCE_PATH = '/reference';

/**
 * The API reference: Swagger UI rendering this server's own `/openapi.json`, its files served from
 * the package (no CDN, no font or validator fetched from elsewhere), so it works offline and on a
 * closed network.
 */
export const apiReference: FastifyPluginAsync = async (server) => {
  await server.register(swaggerUi, {
    routePrefix: REFERENCE_PATH,
    // The badge would ask validator.swagger.io about every document.
    uiConfig: { validatorUrl: null, deepLinking: true, docExpansion: 'list', tryItOutEnabled: false },
    staticCSP: true,
  });
};
