import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
// @ts-expect-error plain JS module shared with the test runner script
import { startPgCluster } from '../../scripts/pg-cluster.mjs';

export type StoreKind = 'sqlite' | 'postgres';

/** Every suite runs once per store; TEST_STORES=sqlite narrows it for a quick local run. */
export const STORES: StoreKind[] = (process.env.TEST_STORES ?? 'sqlite,postgres').split(',') as StoreKind[];

type Cluster = { adminUrl: string; url: (db: string) => string; stop: () => void };
let ownCluster: Promise<Cluster> | undefined;

/** The run's cluster (from `npm test`), or one of this process's own when a file runs alone. */
async function adminUrl(): Promise<string> {
  if (process.env.TEST_PG_ADMIN_URL) return process.env.TEST_PG_ADMIN_URL;
  if (!ownCluster) {
    const starting: Promise<Cluster> = startPgCluster();
    ownCluster = starting;
    void starting.then((cluster) => process.once('exit', () => cluster.stop()));
  }
  return (await ownCluster).adminUrl;
}

export interface TestStore {
  kind: StoreKind;
  dataDir: string;
  databaseUrl?: string;
  /** Drops the database / removes the data dir. */
  dispose(): Promise<void>;
}

/** A fresh, empty store of the kind: a temp data dir, plus a new database for PostgreSQL. */
export async function freshStore(kind: StoreKind): Promise<TestStore> {
  const dataDir = mkdtempSync(join(tmpdir(), 'botbridge-test-'));
  if (kind === 'sqlite') {
    return { kind, dataDir, dispose: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const admin = await adminUrl();
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const databaseUrl = admin.replace(/\/[^/]*$/, `/${name}`);
  return {
    kind,
    dataDir,
    databaseUrl,
    async dispose() {
      rmSync(dataDir, { recursive: true, force: true });
      const c = new pg.Client({ connectionString: admin });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
