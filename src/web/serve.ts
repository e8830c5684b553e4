import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';

/**
 * Paths the single-page console routes itself. Only these fall back to index.html: every other
 * unknown path (the APIs above all) keeps its JSON 404.
 */
const CLIENT_ROUTES = [/^\/$/, /^\/admin(\/.*)?$/, /^\/agent(\/.*)?$/, /^\/chat\/.+$/];

export function isClientRoute(pathname: string): boolean {
  // The admin API shares the `/admin` prefix with the console's admin pages.
  if (pathname === '/admin/v1' || pathname.startsWith('/admin/v1/')) return false;
  return CLIENT_ROUTES.some((r) => r.test(pathname));
}

/**
 * `<repo>/dist/web`. The repo root is the nearest folder with a package.json above this file, so
 * the same code finds it from `src/web/serve.ts` (tsx) and from `dist/src/web/serve.js` (build).
 */
export function defaultWebDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(dir, 'dist', 'web');
}

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>botbridge</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2933}code{background:#f0f2f5;padding:.1rem .3rem;border-radius:4px}</style>
</head><body><h1>botbridge is running</h1>
<p>The web console has not been built yet. Run <code>npm run build</code> (or start with <code>npm start</code>, which builds first), then reload this page.</p>
<p>The APIs work without it: see <a href="/openapi.json">/openapi.json</a>.</p></body></html>`;

export interface WebConsoleOptions {
  /** The built console (Vite output); default defaultWebDir(). */
  webDir?: string;
}

/**
 * Serves the built console (Vite output) at `/`, with client-side routes falling back to
 * index.html. Its routes are files, not an API: hidden from /openapi.json, no body schemas.
 * @fastify/static is registered inside this plugin, so `reply.sendFile` exists here only.
 */
export const webConsole: FastifyPluginAsync<WebConsoleOptions> = async (server, options) => {
  const root = resolve(options.webDir ?? defaultWebDir());
  const built = existsSync(join(root, 'index.html'));

  const fallback = async (request: FastifyRequest, reply: FastifyReply) => {
    const pathname = request.url.split('?')[0];
    if (!isClientRoute(pathname)) return reply.callNotFound();
    if (!built) return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
    // index.html names the hashed bundles: it must never be cached, or a rebuild would not show.
    return reply.header('cache-control', 'no-cache').sendFile('index.html', root);
  };

  const hide = { schema: { hide: true } };
  for (const url of ['/', '/admin', '/admin/*', '/agent', '/agent/*', '/chat/*']) server.get(url, hide, fallback);

  if (!built) {
    server.log.warn({ webDir: root }, 'web console not built (run `npm run build`); serving a placeholder at /');
    return;
  }

  await server.register(fastifyStatic, {
    root,
    prefix: '/',
    index: false,
    // The client routes above answer `/`, `/admin*`, ...; this catches real files (assets) and
    // hands everything else to the JSON not-found handler.
    wildcard: true,
    schemaHide: true,
    // Our own cache headers below, not send's default `public, max-age=0`.
    cacheControl: false,
    setHeaders(res, path) {
      // Vite puts content-hashed files under assets/: safe to cache for good.
      if (path.startsWith(join(root, 'assets'))) res.setHeader('cache-control', 'public, max-age=31536000, immutable');
      else res.setHeader('cache-control', 'no-cache');
    },
  });
};
