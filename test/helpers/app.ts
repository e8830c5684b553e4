import { Writable } from 'node:stream';
import { buildApp, type App, type BuildOptions } from '../../src/app.js';
import { createLogger } from '../../src/ops/logger.js';
import type { Config } from '../../src/config.js';
import type { TestStore } from './stores.js';

export const ADMIN_TOKEN = 'test-admin-token';

export interface Running {
  app: App;
  url: string;
  /** Every log line the app wrote (JSON), for tests that check what is (not) logged. */
  logs: string[];
  close(): Promise<void>;
}

/** Builds the real app on the store and listens on a free loopback port. */
/** Fast retries for tests: the same three attempts, without seconds of backoff between them. */
export const TEST_CONNECTOR = {
  retry: { attempts: 3, baseDelayMs: 20, maxDelayMs: 100 },
  probeIntervalMs: 200,
  serviceRetryMs: 500,
};

export async function startApp(
  store: TestStore,
  overrides: Partial<Config> = {},
  options: Omit<BuildOptions, 'logger'> = {},
): Promise<Running> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(...String(chunk).split('\n').filter(Boolean));
      // TEST_LOG_ECHO=1 shows the app's log lines while a test runs, for debugging.
      if (process.env.TEST_LOG_ECHO) process.stderr.write(chunk);
      done();
    },
  });
  const config: Config = {
    host: '127.0.0.1',
    port: 0,
    dataDir: store.dataDir,
    databaseUrl: store.databaseUrl,
    adminToken: ADMIN_TOKEN,
    demo: false,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'info',
    logFormat: 'json',
    sqliteSynchronous: 'NORMAL',
    instanceId: `test-${process.pid}`,
    ...overrides,
  };
  const app = await buildApp(config, {
    connector: TEST_CONNECTOR,
    // Every answer a test sees is also checked against its route's response schema.
    checkResponses: true,
    ...options,
    logger: createLogger(config.logLevel, sink),
  });
  const url = await app.listen();
  return { app, url, logs, close: () => app.close() };
}

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** A small HTTP client over fetch: JSON in, JSON out, status kept. */
export function client(baseUrl: string, defaults: { token?: string; headers?: Record<string, string> } = {}) {
  const call = async <T = any>(
    method: string,
    path: string,
    body?: unknown,
    options: { token?: string | null; headers?: Record<string, string>; raw?: string } = {},
  ): Promise<Reply<T>> => {
    const headers: Record<string, string> = { ...defaults.headers, ...(options.headers ?? {}) };
    const token = options.token === null ? undefined : (options.token ?? defaults.token);
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined = options.raw;
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(baseUrl + path, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  };
  return {
    call,
    get: <T = any>(path: string, o?: Parameters<typeof call>[3]) => call<T>('GET', path, undefined, o),
    post: <T = any>(path: string, body?: unknown, o?: Parameters<typeof call>[3]) => call<T>('POST', path, body, o),
    put: <T = any>(path: string, body?: unknown, o?: Parameters<typeof call>[3]) => call<T>('PUT', path, body, o),
    patch: <T = any>(path: string, body?: unknown, o?: Parameters<typeof call>[3]) => call<T>('PATCH', path, body, o),
    delete: <T = any>(path: string, o?: Parameters<typeof call>[3]) => call<T>('DELETE', path, undefined, o),
  };
}

export type Client = ReturnType<typeof client>;
