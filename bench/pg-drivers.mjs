// pg (node-postgres, botbridge's driver) against postgres.js on the statement shape of botbridge's
// message path on PostgreSQL: one conversation change as one statement (a conditional update of
// the row at its version and the log entry inserted only if it landed), C conversations in a
// closed loop over a pool of 10 connections, on a throwaway cluster; optionally with a NOTIFY
// trigger like botbridge's change notices and a listener. Prints operations per second and the
// CPU per operation of this process and of PostgreSQL's processes, the two drivers alternating.
// postgres.js is not a dependency: `npm install --no-save postgres@3`, then
// `node bench/pg-drivers.mjs [--notify]`.
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { startPgCluster } from '../scripts/pg-cluster.mjs';

const postgres = await import('postgres').then(
  (m) => m.default,
  () => undefined,
);
const notify = process.argv.includes('--notify');
const C = 200;
const POOL = 10;
const PHASE_MS = 4000;
const ROUNDS = 3;

const cluster = await startPgCluster();
const url = cluster.adminUrl;
const setup = new pg.Client({ connectionString: url });
await setup.connect();
await setup.query('create table conv (id text primary key, seq int not null, version int not null)');
await setup.query(
  'create table ev (conversation_id text not null, seq int not null, body text not null, primary key (conversation_id, seq))',
);
for (let i = 0; i < C; i++) await setup.query('insert into conv values ($1, 0, 0)', [`c${i}`]);
let listener;
let heard = 0;
if (notify) {
  await setup.query(`create function note() returns trigger language plpgsql as $$ begin
    perform pg_notify('bb', json_build_object('k', 'c', 'i', current_setting('application_name'),
      'c', new.id, 'from', old.seq, 'to', new.seq)::text); return null; end $$`);
  await setup.query('create trigger note after update on conv for each row execute function note()');
  listener = new pg.Client({ connectionString: url });
  await listener.connect();
  listener.on('notification', () => heard++);
  await listener.query('listen bb');
}
await setup.end();

const CHANGE = `with changed as (update conv set seq = $1, version = $2 where id = $3 and version = $4 returning 1),
  added as (insert into ev (conversation_id, seq, body)
    select * from (values ($3::text, $1::int, $5::text)) v where exists (select 1 from changed))
  select count(*)::int as n from changed`;
const body = JSON.stringify({
  text: 'a consumer message of ordinary length',
  metadata: [{ type: 'ExternalId', id: 'x' }],
});

/** CPU time of every PostgreSQL process on the machine (ms). */
function postgresCpuMs() {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

const conversations = Array.from({ length: C }, () => ({ seq: 0, version: 0 }));
async function phase(name, change) {
  let ops = 0;
  const end = Date.now() + PHASE_MS;
  const cpu = process.cpuUsage();
  const pgCpu = postgresCpuMs();
  const start = Date.now();
  await Promise.all(
    conversations.map(async (c, i) => {
      while (Date.now() < end) {
        if ((await change([c.seq + 1, c.version + 1, `c${i}`, c.version, body])) !== 1)
          throw new Error('a change was lost');
        c.seq++;
        c.version++;
        ops++;
      }
    }),
  );
  const elapsed = Date.now() - start;
  const own = process.cpuUsage(cpu);
  console.log(
    `${name.padEnd(12)} ${String(Math.round((ops / elapsed) * 1000)).padStart(6)} changes/s   this process ${Math.round((own.user + own.system) / ops)} µs/change   PostgreSQL ${Math.round(((postgresCpuMs() - pgCpu) * 1000) / ops)} µs/change`,
  );
}

const pool = new pg.Pool({ connectionString: url, max: POOL });
const viaPg = async (values) => (await pool.query({ name: 'change', text: CHANGE, values })).rows[0].n;
const js = postgres?.(url, { max: POOL, prepare: true });
const viaPostgresJs = async (values) => (await js.unsafe(CHANGE, values, { prepare: true }))[0].n;
console.log(
  `C=${C}, pool ${POOL}, ${PHASE_MS / 1000} s phases${notify ? ', with the NOTIFY trigger and a listener' : ''}`,
);
if (!js) console.log('(postgres.js not installed: pg only)');
for (let round = 0; round <= ROUNDS; round++) {
  const tag = round === 0 ? ' (warm-up)' : '';
  await phase(`pg${tag}`, viaPg);
  if (js) await phase(`postgres.js${tag}`, viaPostgresJs);
}
if (notify) console.log(`notices heard: ${heard}`);
await pool.end();
await js?.end();
await listener?.end();
cluster.stop();
