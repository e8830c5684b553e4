import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { STORES, freshStore, type TestStore } from '../helpers/stores.js';
import { client, startApp, type Running } from '../helpers/app.js';
import { configFromEnv } from '../../src/config.js';

/** Polls /healthz until it answers `status` (the check itself never measures time). */
async function healthUntil(
  url: string,
  status: number,
  also: (body: any) => boolean = () => true,
): Promise<{ status: number; body: any }> {
  let last: { status: number; body: any } | undefined;
  for (let attempt = 0; attempt < 200; attempt++) {
    last = await client(url).get('/healthz');
    if (last.status === status && also(last.body)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`/healthz never answered ${status}; last ${last?.status} ${JSON.stringify(last?.body)}`);
}

/** Runs SQL as the cluster's superuser (on its `postgres` database). */
async function asSuperuser(databaseUrl: string, run: (c: pg.Client) => Promise<void>): Promise<void> {
  const superuser = new pg.Client({ connectionString: databaseUrl.replace(/\/[^/]*$/, '/postgres') });
  await superuser.connect();
  try {
    await run(superuser);
  } finally {
    await superuser.end();
  }
}

/**
 * A TCP relay between the app and PostgreSQL that can stop passing bytes, as a network partition
 * does: connections stay open, queries get no answer.
 */
async function startRelay(target: { host: string; port: number }) {
  let frozen = false;
  const held: (() => void)[] = [];
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket) =>
    from.on('data', (chunk) => {
      if (frozen) held.push(() => to.write(chunk));
      else to.write(chunk);
    });
  const server: Server = createServer((downstream) => {
    const upstream = connect(target.port, target.host);
    for (const s of [downstream, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        downstream.destroy();
        upstream.destroy();
      });
    }
    relay(downstream, upstream);
    relay(upstream, downstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const pass of held.splice(0)) pass();
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('INSTANCE_ID', () => {
  it('defaults to hostname:pid, and the environment names it otherwise', () => {
    assert.equal(configFromEnv({}, { hostname: 'web-3', pid: 4242 }).instanceId, 'web-3:4242');
    assert.equal(configFromEnv({ INSTANCE_ID: 'replica-a' }, { hostname: 'web-3', pid: 4242 }).instanceId, 'replica-a');
    assert.match(configFromEnv({}).instanceId, new RegExp(`:${process.pid}$`));
  });
});

for (const kind of STORES) {
  describe(`/healthz reports the store (${kind})`, () => {
    let store: TestStore;
    let running: Running;

    before(async () => {
      store = await freshStore(kind);
      running = await startApp(store, { instanceId: `health-${kind}` });
    });
    after(async () => {
      await running?.close();
      await store?.dispose();
    });

    it('200 with the instance and the store when the store answers; documented with its 503 shape', async () => {
      const res = await client(running.url).get('/healthz');
      assert.equal(res.status, 200);
      // PostgreSQL also reports the listener that hears the other instances' changes.
      const listener = kind === 'postgres' ? { listener: { ok: true } } : {};
      assert.deepEqual(res.body, {
        status: 'ok',
        instance: `health-${kind}`,
        store: { dialect: kind, ok: true },
        ...listener,
      });
      const openapi = await client(running.url).get('/openapi.json');
      const responses = openapi.body.paths['/healthz'].get.responses;
      assert.deepEqual(Object.keys(responses).sort(), ['200', '503']);
      assert.deepEqual(responses['503'].content['application/json'].schema.properties.status.enum, ['unavailable']);
    });

    if (kind === 'postgres') {
      it('503 while the database refuses connections, 200 again once it accepts them', async () => {
        const database = new URL(store.databaseUrl!).pathname.slice(1);
        await asSuperuser(store.databaseUrl!, async (su) => {
          await su.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS false`);
          await su.query(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
            [database],
          );
        });
        try {
          const down = await healthUntil(running.url, 503);
          assert.equal(down.body.status, 'unavailable');
          assert.equal(down.body.instance, 'health-postgres');
          assert.equal(down.body.store.dialect, 'postgres');
          assert.equal(down.body.store.ok, false);
          assert.match(down.body.store.error, /not currently accepting connections|terminat/);
          // The listener's connection was terminated too, and cannot come back yet.
          const listenerDown = await healthUntil(running.url, 503, (body) => body.listener?.ok === false);
          assert.match(listenerDown.body.listener.error, /change listener/);
        } finally {
          await asSuperuser(store.databaseUrl!, (su) =>
            su.query(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS true`).then(() => undefined),
          );
        }
        const up = await healthUntil(running.url, 200);
        assert.deepEqual(up.body, {
          status: 'ok',
          instance: 'health-postgres',
          store: { dialect: 'postgres', ok: true },
          listener: { ok: true },
        });
      });

      it('503 when the database host stops answering (a hung connection does not hang the probe), 200 once it answers', async () => {
        const target = new URL(store.databaseUrl!);
        const relay = await startRelay({ host: target.hostname, port: Number(target.port) });
        const viaRelay = new URL(store.databaseUrl!);
        viaRelay.port = String(relay.port);
        const partitioned = await startApp(
          { ...store, databaseUrl: viaRelay.toString() },
          { instanceId: 'behind-relay' },
        );
        try {
          assert.equal((await client(partitioned.url).get('/healthz')).status, 200);
          relay.freeze();
          const down = await client(partitioned.url).get('/healthz');
          assert.equal(down.status, 503, JSON.stringify(down.body));
          const { listener: _listener, ...parts } = down.body;
          assert.deepEqual(parts, {
            status: 'unavailable',
            instance: 'behind-relay',
            store: { dialect: 'postgres', ok: false, error: 'the store did not answer within 2000 ms' },
          });
          relay.thaw();
          await healthUntil(partitioned.url, 200);
        } finally {
          relay.thaw();
          await partitioned.close();
          relay.close();
        }
      });
    }

    if (kind === 'sqlite') {
      it('503 once the store is closed under the running server', async () => {
        const dedicated = await freshStore('sqlite');
        const app = await startApp(dedicated, { instanceId: 'closing' });
        try {
          assert.equal((await client(app.url).get('/healthz')).status, 200);
          await app.app.store.close();
          const down = await client(app.url).get('/healthz');
          assert.equal(down.status, 503);
          assert.equal(down.body.status, 'unavailable');
          assert.equal(down.body.instance, 'closing');
          assert.equal(down.body.store.dialect, 'sqlite');
          assert.equal(down.body.store.ok, false);
          assert.equal(typeof down.body.store.error, 'string');
        } finally {
          await app.close();
          await dedicated.dispose();
        }
      });
    }
  });
}
