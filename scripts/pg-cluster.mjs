// A throwaway PostgreSQL 15 cluster in a temp dir, for the test suite and the benchmark.
// initdb refuses to run as root, so as root the cluster belongs to the `postgres` system user.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, chownSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function asOwner(cmd, args, options = {}) {
  const isRoot = userInfo().uid === 0;
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]] : [join(BIN, cmd), args];
  return execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
}

// Asynchronous, for a restart under load: the caller's event loop (a load generator, a bot) keeps
// running while pg_ctl waits for the server to go down and come back.
function asOwnerAsync(cmd, args) {
  const isRoot = userInfo().uid === 0;
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args]] : [join(BIN, cmd), args];
  return new Promise((resolve, reject) =>
    execFile(file, argv, (error, stdout, stderr) =>
      error ? reject(new Error(`${cmd} ${args.join(' ')}: ${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/**
 * Starts a cluster; resolves to { url(dbName), adminUrl, stop() }. Commits are asynchronous
 * (synchronous_commit off) unless `durable`: a crash of PostgreSQL alone (an immediate restart)
 * then loses the last commits it acknowledged, so a fault test that crashes it asks for `durable`
 * (fsync stays off: only the machine's crash would need it). For fault injection
 * restart(mode), stopServer(mode) and startServer() (mode: 'fast' ends sessions and checkpoints,
 * 'immediate' is a crash followed by recovery), each resolving once pg_ctl is done.
 */
export async function startPgCluster({ durable = false } = {}) {
  if (!existsSync(join(BIN, 'initdb'))) throw new Error(`PostgreSQL binaries not found in ${BIN}`);
  const dir = mkdtempSync(join(tmpdir(), 'botbridge-pg-'));
  if (userInfo().uid === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  asOwner('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c synchronous_commit=${durable ? 'on' : 'off'} -c full_page_writes=off -c max_connections=300`;
  const log = join(dir, 'log');
  asOwner('pg_ctl', ['-D', data, '-o', opts, '-l', log, '-w', 'start']);
  const base = `postgres://postgres@127.0.0.1:${port}`;
  return {
    port,
    adminUrl: `${base}/postgres`,
    url: (db) => `${base}/${db}`,
    restart: (mode) => asOwnerAsync('pg_ctl', ['-D', data, '-m', mode, '-o', opts, '-l', log, '-w', 'restart']),
    stopServer: (mode) => asOwnerAsync('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']),
    startServer: () => asOwnerAsync('pg_ctl', ['-D', data, '-o', opts, '-l', log, '-w', 'start']),
    stop() {
      try {
        asOwner('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

// Run directly: start a cluster, print its URL, stop on SIGTERM/SIGINT (for local use).
if (import.meta.url === `file://${process.argv[1]}`) {
  const cluster = await startPgCluster();
  process.stdout.write(`${cluster.adminUrl}\n`);
  const stop = () => {
    cluster.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  spawn('sleep', ['infinity'], { stdio: 'ignore' });
}
