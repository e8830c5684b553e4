import { parseArgs } from 'node:util';

/**
 * `npx botbridge <command>`: tools for bot authors and operators. `check` runs the conformance
 * check of a Custom Endpoint service with no server (a Sentinel of its own); `check-bot` runs it
 * through a running server, on a bot configured there. Both print a table for people or JSON for
 * CI (`--json`). Exit code 0 only when no check fails; 1 when one does; 2 when the check could not
 * be run (usage, server, bot). With no command, or `start`, bin/botbridge.mjs starts the server.
 */

export interface ConformanceCheckView {
  id: string;
  title: string;
  outcome: 'pass' | 'fail' | 'warn';
  code?: string;
  explanation?: string;
  fix?: string;
  pointer?: string;
  /** Every spot, when the finding has more than one. */
  pointers?: string[];
  ms: number;
}

export interface ConformanceReportView {
  checks: ConformanceCheckView[];
  passed: number;
  failed: number;
  warnings: number;
}

type Io = { out: (text: string) => void; err: (text: string) => void };

/** What the admin routes answer, as far as the CLI reads it. */
interface ApiBody {
  bots?: Array<{ id: string; name: string }>;
  checks?: unknown[];
  error?: { code?: string; message?: string };
}

/** The environment variable `check-bot` reads the admin token from, so it stays out of `ps` and shell history. */
export const ADMIN_TOKEN_ENV = 'BOTBRIDGE_ADMIN_TOKEN';

const USAGE = `usage: botbridge [command]

  (none), start     start the server (SQLite in ./data, the demo account and bot, the console)
  check             the conformance check of a Custom Endpoint service, no server needed
  check-bot         the conformance check of a bot configured on a running botbridge server
  help              this text; \`botbridge <command> --help\` for a command's options

Exit codes of the checks: 0 no check failed, 1 a check failed, 2 the check could not be run.`;

const CHECK_USAGE = `usage: botbridge check <baseUrl> --bot-id ID [--environment draft] [--account check]
                       [--conversation-type MESSAGING|CHAT] [--timeout-seconds 10] [--jwks-port 0] [--json]

Runs every conformance check against the Custom Endpoint service at <baseUrl> (what a bot's vendor
settings name), as botbridge's connector would call it, with no botbridge server: the check signs
its tokens with a key made for the run and serves its JWKS on loopback at Sentinel's path,
http://127.0.0.1:<jwks-port>/sentinel/well-known/jwks. Start the service pointed at that JWKS
(a bot on the SDK: BOTBRIDGE_URL=http://127.0.0.1:<jwks-port>) and accepting --account's tokens;
--jwks-port fixes the port so the service can be started first.

Exit code: 0 no check failed, 1 a check failed, 2 the check could not be run.`;

const CHECK_BOT_USAGE = `usage: botbridge check-bot --server URL --account ACCOUNT --bot BOT [--admin-token TOKEN] [--json]

Runs the conformance check of a bot's Custom Endpoint service through the botbridge server at URL
and prints the report. BOT is the bot's id or its name in the account. The admin token comes from
--admin-token or, better (it stays out of ps and shell history), the ${ADMIN_TOKEN_ENV}
environment variable.

Exit code: 0 no check failed, 1 a check failed, 2 the check could not be run.`;

const MARK = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;

/**
 * The report as a person reads it: one line per check, then what to fix under each finding. An
 * explanation and fix already printed for an earlier check of the same code is not repeated.
 */
export function renderReport(report: ConformanceReportView): string {
  const width = Math.max(...report.checks.map((c) => c.title.length), 10);
  const told = new Map<string, string>();
  const lines = report.checks.map((c) => {
    const head = `${MARK[c.outcome]}  ${c.title.padEnd(width)}  ${String(Math.round(c.ms)).padStart(6)} ms${c.code ? `  ${c.code}` : ''}`;
    if (c.outcome === 'pass') return head;
    const spots = c.pointers?.length ? c.pointers : c.pointer ? [c.pointer] : [];
    const advice = [c.explanation, c.fix ? `fix: ${c.fix}` : undefined].filter(Boolean).join('\n');
    const key = `${c.code}\n${advice}`;
    const first = told.get(key);
    if (first === undefined) told.set(key, c.title);
    const more = [
      spots.length ? `at ${spots.join(', ')}` : undefined,
      ...(first === undefined ? [c.explanation, c.fix ? `fix: ${c.fix}` : undefined] : [`(as for “${first}” above)`]),
    ].filter(Boolean);
    return [head, ...more.map((m) => `        ${m}`)].join('\n');
  });
  return `${lines.join('\n')}\n\n${report.passed} passed, ${report.failed} failed, ${report.warnings} warnings\n`;
}

export function exitCodeOf(report: ConformanceReportView): number {
  return report.failed > 0 ? 1 : 0;
}

/** Runs the command line; returns the exit code. Output goes through `io` so tests can read it. */
export async function main(
  argv: string[],
  io: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    io.out(`${USAGE}\n`);
    return 0;
  }
  if (command === 'check') return checkCommand(rest, io);
  if (command === 'check-bot') return checkBotCommand(rest, io, env);
  io.err(`${command ? `unknown command '${command}'\n` : ''}${USAGE}\n`);
  return 2;
}

/** parseArgs with `--help`; undefined after printing the usage (or what was wrong with the arguments). */
function parse<T extends Record<string, { type: 'string' | 'boolean' }>>(
  args: string[],
  options: T,
  usage: string,
  io: Io,
  positionals = false,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | number {
  try {
    const parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: positionals,
    }) as { values: Record<string, string | boolean | undefined>; positionals: string[] };
    if (parsed.values.help) {
      io.out(`${usage}\n`);
      return 0;
    }
    return parsed;
  } catch (error) {
    io.err(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
}

async function checkCommand(args: string[], io: Io): Promise<number> {
  const parsed = parse(
    args,
    {
      'bot-id': { type: 'string' },
      environment: { type: 'string' },
      account: { type: 'string' },
      'conversation-type': { type: 'string' },
      'timeout-seconds': { type: 'string' },
      'jwks-port': { type: 'string' },
      json: { type: 'boolean' },
    },
    CHECK_USAGE,
    io,
    true,
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const problems: string[] = [];
  const [baseUrl, ...extra] = positionals;
  if (!baseUrl) problems.push('missing <baseUrl>');
  else if (!/^https?:\/\/[^/]/.test(baseUrl)) problems.push(`<baseUrl> must be an http(s) URL, got '${baseUrl}'`);
  if (extra.length) problems.push(`unexpected ${extra.map((e) => `'${e}'`).join(' ')}`);
  if (!values['bot-id']) problems.push('missing --bot-id');
  const type = values['conversation-type'] ?? 'MESSAGING';
  if (type !== 'MESSAGING' && type !== 'CHAT')
    problems.push(`--conversation-type must be MESSAGING or CHAT, got '${type}'`);
  const number = (name: string, min: number, max: number) => {
    const raw = values[name];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      problems.push(`--${name} must be a whole number from ${min} to ${max}`);
    return n;
  };
  const timeoutSeconds = number('timeout-seconds', 1, 300);
  const jwksPort = number('jwks-port', 0, 65535);
  if (problems.length) {
    io.err(`${problems.join('; ')}\n${CHECK_USAGE}\n`);
    return 2;
  }
  const { checkStandalone } = await import('./check.js');
  let report: ConformanceReportView;
  try {
    report = await checkStandalone({
      baseUrl: baseUrl!,
      botId: values['bot-id'] as string,
      environment: values.environment as string | undefined,
      accountId: values.account as string | undefined,
      conversationType: type as 'MESSAGING' | 'CHAT',
      timeoutSeconds,
      jwksPort,
      onSentinel: ({ jwksUrl }) => {
        if (!values.json) io.err(`checking ${baseUrl} (its JWKS: ${jwksUrl})\n`);
      },
    });
  } catch (error) {
    io.err(`the check could not be run: ${(error as Error).message}\n`);
    return 2;
  }
  io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
  return exitCodeOf(report);
}

async function checkBotCommand(args: string[], io: Io, env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parse(
    args,
    {
      server: { type: 'string' },
      'admin-token': { type: 'string' },
      account: { type: 'string' },
      bot: { type: 'string' },
      json: { type: 'boolean' },
    },
    CHECK_BOT_USAGE,
    io,
  );
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  const token = (values['admin-token'] as string | undefined) ?? env[ADMIN_TOKEN_ENV];
  const missing = [
    ...(['server'] as const).filter((k) => !values[k]).map((k) => `--${k}`),
    ...(token ? [] : [`--admin-token (or ${ADMIN_TOKEN_ENV})`]),
    ...(['account', 'bot'] as const).filter((k) => !values[k]).map((k) => `--${k}`),
  ];
  if (missing.length) {
    io.err(`missing ${missing.join(', ')}\n${CHECK_BOT_USAGE}\n`);
    return 2;
  }
  const server = (values.server as string).replace(/\/+$/, '');
  const account = values.account as string;
  const api = async (method: string, path: string) => {
    const res = await fetch(`${server}/admin/v1/accounts/${encodeURIComponent(account)}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.json().catch(() => undefined)) as ApiBody | undefined;
    return { res, body };
  };
  const cannot = (res: Response, body: ApiBody | undefined) => {
    const error = body?.error;
    io.err(
      `the check could not be run: ${error?.message ?? `HTTP ${res.status}`}${error?.code ? ` (${error.code})` : ''}\n`,
    );
    return 2;
  };
  try {
    // The bot by id, or else by its name in the account.
    let botId = values.bot as string;
    const listed = await api('GET', '/bots');
    const bots = listed.body?.bots;
    if (!listed.res.ok || !Array.isArray(bots)) return cannot(listed.res, listed.body);
    if (!bots.some((b) => b.id === botId)) {
      const named = bots.filter((b) => b.name === botId);
      if (named.length > 1) {
        io.err(`more than one bot is named '${botId}': give its id (${named.map((b) => b.id).join(', ')})\n`);
        return 2;
      }
      if (!named.length) {
        io.err(
          `the check could not be run: no bot '${botId}' in account '${account}' (by id or name; it has ${bots.map((b) => `'${b.name}'`).join(', ') || 'none'}) (not-found)\n`,
        );
        return 2;
      }
      botId = named[0]!.id;
    }
    const { res, body } = await api('POST', `/bots/${encodeURIComponent(botId)}/conformance`);
    if (!res.ok || !body?.checks) return cannot(res, body);
    const report = body as ConformanceReportView;
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report));
    return exitCodeOf(report);
  } catch (error) {
    io.err(`could not reach ${server}: ${(error as Error).message}\n`);
    return 2;
  }
}
