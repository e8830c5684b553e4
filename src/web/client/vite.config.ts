import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const here = fileURLToPath(new URL('.', import.meta.url));
const server = process.env.BOTBRIDGE_URL ?? 'http://127.0.0.1:8080';

/**
 * The console is built into `<repo>/dist/web`, which the server serves at `/`. `vite` (dev
 * server) proxies the APIs and streams to a server on :8080 so the UI can be worked on live.
 */
export default defineConfig({
  root: here,
  base: '/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../../../dist/web', import.meta.url)),
    // The output folder is outside the Vite root, so Vite only clears it when told to.
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/admin/v1', '/sentinel', '/demo-bot', '/openapi.json'].map((path) => [
        path,
        // The server takes a stream signed in by the operator's cookie only from a page of its own
        // origin, and through this proxy the page's origin is the dev server's.
        { target: server, ws: true, changeOrigin: true, headers: { origin: new URL(server).origin } },
      ]),
    ),
  },
});
