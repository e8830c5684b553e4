import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closedPort } from '../helpers/net.js';

/**
 * The two packages as a user gets them: `npm pack` of each (which builds it), installed from the
 * tarballs into a fresh project outside the repository (their dependencies from the registry, no
 * links), a strict TypeScript bot compiled against the SDK's published declarations and run, the
 * installed `botbridge check` passing it, and the installed `botbridge` serving its console.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Packing builds the server and the console; installing builds better-sqlite3 from source. */
const BOUND_MS = 900_000;

function sh(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(
      command,
      args,
      { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: BOUND_MS },
      (error, stdout, stderr) =>
        error
          ? reject(new Error(`${command} ${args.join(' ')}: ${error.message}\n${stdout}\n${stderr}`))
          : resolve({ stdout, stderr }),
    ),
  );
}

/** A process of the installed packages, resolved once `pattern` shows on its output. */
function started(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const look = (chunk: unknown) => {
      seen += String(chunk);
      const m = pattern.exec(seen);
      if (m) resolve(m);
    };
    child.stdout!.on('data', look);
    child.stderr!.on('data', look);
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready:\n${seen}`)));
  });
}

describe('the packages, installed from their tarballs', { timeout: BOUND_MS }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'botbridge-install-'));
  const project = join(dir, 'project');
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  before(async () => {
    // Packed from a copy of the sources: packing builds dist/, and other tests of the run serve
    // the repository's dist/web meanwhile. The copy uses the repository's installed dependencies.
    const source = join(dir, 'source');
    cpSync(ROOT, source, {
      recursive: true,
      filter: (path) =>
        !/^(node_modules|dist|data|test-results|\.git|\.scratch|packages\/[^/]+\/(dist|contracts))(\/|$)|\.tgz$/.test(
          relative(ROOT, path).replace(/\\/g, '/'),
        ),
    });
    symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
    await sh('npm', ['pack', '--pack-destination', dir, '--workspace', '@botbridge/custom-endpoint'], source);
    await sh('npm', ['pack', '--pack-destination', dir], source);
    const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
    assert.deepEqual(tarballs.sort(), ['botbridge-0.1.0.tgz', 'botbridge-custom-endpoint-0.1.0.tgz']);
    mkdirSync(project);
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({
        name: 'a-bot-team',
        private: true,
        type: 'module',
        // npm 11 runs a dependency's install script only when allowed: better-sqlite3 builds from source.
        allowScripts: { 'better-sqlite3': true },
      }),
    );
    await sh(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        join(dir, 'botbridge-custom-endpoint-0.1.0.tgz'),
        join(dir, 'botbridge-0.1.0.tgz'),
        'typescript@5',
        '@types/node@20',
      ],
      project,
    );
  });

  it('a strict TypeScript bot compiles against the SDK’s declarations, runs, and passes the installed botbridge check', async () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          types: ['node'],
          outDir: 'out',
        },
        include: ['bot.ts'],
      }),
    );
    writeFileSync(
      join(project, 'bot.ts'),
      `import { createServer } from 'node:http';
import {
  answer,
  closeConversation,
  createCustomEndpointService,
  createRequestListener,
  createTokenVerifier,
  text,
  type PostEventResponseBody,
} from '@botbridge/custom-endpoint';

const platform = process.env.BOTBRIDGE_URL ?? 'http://127.0.0.1:8080';
const service = createCustomEndpointService<{ turns?: number }>({
  verifyToken: createTokenVerifier({ jwksUrl: \`\${platform}/sentinel/well-known/jwks\`, accounts: ['ci'] }),
  handlers: {
    event: {
      TEXT: ({ event, session }): PostEventResponseBody => {
        session.state.turns = (session.state.turns ?? 0) + 1;
        return event.data.message === 'bye'
          ? answer(text('Bye!'), closeConversation())
          : answer(text(\`You said: \${event.data.message}\`, { metadata: [{ type: 'ExternalId', id: 'order-42' }] }));
      },
      fallback: () => answer(text('I only read text.')),
    },
  },
});
createServer(createRequestListener(service)).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('bot listening'));
`,
    );
    await sh(process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', project], project);

    const [botPort, jwksPort] = [await closedPort(), await closedPort()];
    const bot = spawn(process.execPath, [join(project, 'out/bot.js')], {
      cwd: project,
      env: { ...process.env, PORT: String(botPort), BOTBRIDGE_URL: `http://127.0.0.1:${jwksPort}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(bot);
    await started(bot, /bot listening/, 'the bot');
    const check = await sh(
      'npx',
      ['botbridge', 'check', `http://127.0.0.1:${botPort}`, '--bot-id', 'team-bot', '--account', 'ci'].concat([
        '--jwks-port',
        String(jwksPort),
      ]),
      project,
    );
    assert.match(check.stdout, /\n18 passed, 0 failed, 0 warnings\n$/, check.stdout);
  });

  it('the installed botbridge starts with the embedded default and serves the console', async () => {
    const server = spawn('npx', ['botbridge'], {
      cwd: project,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: join(dir, 'data'), LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.push(server);
    try {
      const [, url] = await started(server, /botbridge listening on (http:\/\/\S+)/, 'the server');
      const page = await fetch(`${url}/`);
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-type') ?? '', /text\/html/);
      const html = await page.text();
      assert.match(html, /<script type="module"[^>]*src="[^"]*assets\//, 'the built console, not the placeholder');
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    } finally {
      // npx runs the server as its child: the whole group goes.
      if (server.pid) process.kill(-server.pid, 'SIGKILL');
    }
  });
});
