import { parseArgs } from 'node:util';

/**
 * `npx botbridge <command>`: tools for bot authors and operators that talk to a running server.
 * `check-bot` runs the conformance check of a bot's Custom Endpoint service (the admin route) and
 * prints the report: a table for people, JSON for CI (`--json`). Exit code 0 only when no check
 * fails; 1 when one does; 2 when the check could not be run (usage, server, bot).
 */

export interface ConformanceCheckView {
  id: string;
  title: string;
  outcome: 'pass' | 'fail' | 'warn';
  code?: string;
  explanation?: string;
  fix?: string;
  pointer?: string;
  ms: number;
}

export interface ConformanceReportView {
  checks: ConformanceCheckView[];
  passed: number;
  failed: number;
  warnings: number;
}

const USAGE = `usage: botbridge check-bot --server URL --admin-token TOKEN --account ACCOUNT --bot BOT_ID [--json]

Runs the conformance check of the bot's Custom Endpoint service through the botbridge server and
prints the report. Exit code: 0 no check failed, 1 a check failed, 2 the check could not be run.`;

const MARK = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;

/** The report as a person reads it: one line per check, then what to fix under each finding. */
export function renderReport(report: ConformanceReportView): string {
  const width = Math.max(...report.checks.map((c) => c.title.length), 10);
  const lines = report.checks.map((c) => {
    const head = `${MARK[c.outcome]}  ${c.title.padEnd(width)}  ${String(Math.round(c.ms)).padStart(6)} ms${c.code ? `  ${c.code}` : ''}`;
    if (c.outcome === 'pass') return head;
    const more = [c.pointer ? `at ${c.pointer}` : undefined, c.explanation, c.fix ? `fix: ${c.fix}` : undefined].filter(
      Boolean,
    );
    return [head, ...more.map((m) => `        ${m}`)].join('\n');
  });
  return `${lines.join('\n')}\n\n${report.passed} passed, ${report.failed} failed, ${report.warnings} warnings\n`;
}

export function exitCodeOf(report: ConformanceReportView): number {
  return report.failed > 0 ? 1 : 0;
}

/** Runs the command line; returns the exit code. Output goes through `out`/`err` so tests can read it. */
export async function main(
  argv: string[],
  io: { out: (text: string) => void; err: (text: string) => void } = {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  },
): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'check-bot') {
    io.err(`${USAGE}\n`);
    return 2;
  }
  let values: { server?: string; 'admin-token'?: string; account?: string; bot?: string; json?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        server: { type: 'string' },
        'admin-token': { type: 'string' },
        account: { type: 'string' },
        bot: { type: 'string' },
        json: { type: 'boolean' },
      },
    }));
  } catch (error) {
    io.err(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { server, 'admin-token': token, account, bot, json } = values;
  const missing = (['server', 'admin-token', 'account', 'bot'] as const).filter((k) => !values[k]);
  if (missing.length) {
    io.err(`missing ${missing.map((m) => `--${m}`).join(', ')}\n${USAGE}\n`);
    return 2;
  }
  const url = `${server!.replace(/\/+$/, '')}/admin/v1/accounts/${encodeURIComponent(account!)}/bots/${encodeURIComponent(bot!)}/conformance`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
  } catch (error) {
    io.err(`could not reach ${server}: ${(error as Error).message}\n`);
    return 2;
  }
  const body = (await res.json().catch(() => undefined)) as
    | ConformanceReportView
    | { error?: { code?: string; message?: string } }
    | undefined;
  if (!res.ok || !body || !('checks' in body)) {
    const error = body && 'error' in body ? body.error : undefined;
    io.err(
      `the check could not be run: ${error?.message ?? `HTTP ${res.status}`}${error?.code ? ` (${error.code})` : ''}\n`,
    );
    return 2;
  }
  io.out(json ? `${JSON.stringify(body, null, 2)}\n` : renderReport(body));
  return exitCodeOf(body);
}
