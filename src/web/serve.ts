import type { FastifyInstance } from 'fastify';

/** Serves the built console (Vite output) at `/`, with client-side routes falling back to index.html. */
export async function registerWebConsole(_server: FastifyInstance, _options: { webDir?: string }): Promise<void> {}
