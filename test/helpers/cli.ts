import { execFile } from 'node:child_process';

/** `npx botbridge <args>` as a bot author's CI runs it: bin/botbridge.mjs in its own process; its exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/botbridge.mjs', ...args],
      { timeout: 120_000, env: { ...process.env, ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
