import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * Moves most of SQLite's WAL checkpointing off the event loop. By default the connection whose
 * commit brings the WAL to 1,000 pages copies them into the database file and syncs it, right
 * then, synchronously: a 5-15 ms stall in the middle of whoever's request it was. Here a second
 * connection on a worker thread runs a PASSIVE checkpoint (which never blocks the writer) every
 * `intervalMs`. It cannot finish while commits keep arriving, and a WAL that is never fully
 * checkpointed is never restarted and keeps growing, so once it holds `finishFrames` frames the
 * worker asks the main connection to checkpoint what is left: a few pages, since the worker has
 * just copied the rest. Commits are exactly as durable as before; a checkpoint only moves
 * committed pages from the WAL into the database file.
 *
 * If the worker fails, the main connection goes back to checkpointing by itself.
 */
export interface Checkpointer {
  stop(): Promise<void>;
}

// CommonJS, evaluated by the worker; the driver's path comes from the main thread.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
const timer = setInterval(() => {
  const [result] = db.pragma('wal_checkpoint(PASSIVE)');
  if (result && result.log >= workerData.finishFrames) parentPort.postMessage('finish');
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export function startCheckpointer(
  database: BetterSqlite3.Database,
  file: string,
  options: { intervalMs?: number; finishFrames?: number; onError?: (error: unknown, what: string) => void } = {},
): Checkpointer {
  const report = options.onError ?? (() => {});
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { driver, file, intervalMs: options.intervalMs ?? 100, finishFrames: options.finishFrames ?? 2000 },
  });
  // A store nobody closed must not keep the process alive.
  worker.unref();
  database.pragma('wal_autocheckpoint = 0');
  let stopping = false;
  worker.on('message', () => {
    // Between transactions only; PASSIVE gives up rather than wait if the worker is mid-pass.
    try {
      if (database.open && !database.inTransaction) database.pragma('wal_checkpoint(PASSIVE)');
    } catch (error) {
      // The next request's commit would meet the same trouble; this one is only reported.
      report(error, 'finishing a WAL checkpoint');
    }
  });
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', () => {
      if (!stopping && database.open) database.pragma('wal_autocheckpoint = 1000');
      resolve();
    });
  });
  worker.on('error', (error) =>
    report(error, 'the WAL checkpoint worker stopped; the connection checkpoints by itself again'),
  );
  return {
    async stop() {
      stopping = true;
      // Unreferenced, its exit would not keep the event loop alive for this await.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
