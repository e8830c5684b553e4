import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestStore } from './stores.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Environment the process reads; none of it is inherited from the test runner's own. */
const OWN_ENV = [
  'PORT',
  'HOST',
  'DATA_DIR',
  'DATABASE_URL',
  'ADMIN_TOKEN',
  'DEMO',
  'PUBLIC_HOST',
  'LOG_LEVEL',
  'WEB_DIR',
];

export interface Proc {
  child: ChildProcess;
  url: string;
  /** Everything the process wrote to stdout so far. */
  stdout(): string;
  stderr(): string;
  waitForOutput(pattern: RegExp, what: string): Promise<RegExpExecArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `src/main.ts` as its own process (the way `npm start` runs it) and waits for the banner. */
/** `root`: another checkout's server (its dependencies installed), for before/after runs. */
export async function startProcess(store: TestStore, env: Record<string, string>, root = ROOT): Promise<Proc> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !OWN_ENV.includes(k)));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      ...base,
      PORT: '0',
      DATA_DIR: store.dataDir,
      ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of waiters) w();
  };
  child.stdout!.on('data', (chunk) => {
    out += String(chunk);
    wake();
  });
  child.stderr!.on('data', (chunk) => {
    err += String(chunk);
    wake();
  });
  // Set before the waiters wake: they must see the process gone, or they wait for good.
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
      wake();
    }),
  );
  const waitForOutput = (pattern: RegExp, what: string) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        // Logs on stdout; the banner on stderr while logs are JSON (a pipe, as here).
        const m = pattern.exec(out) ?? pattern.exec(err);
        if (m) {
          waiters.delete(check);
          resolve(m);
        } else if (done) {
          waiters.delete(check);
          reject(new Error(`process exited before ${what}\nstdout: ${out}\nstderr: ${err}`));
        }
      };
      waiters.add(check);
      check();
    });
  const listening = await waitForOutput(/botbridge listening on (http:\/\/\S+)/, 'listening');
  return { child, url: listening[1], stdout: () => out, stderr: () => err, waitForOutput, exited };
}
