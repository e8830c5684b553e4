import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

/** Secrets kept as files in the data dir (the SQLite store tightens its own files when it opens them). */
const SECRET_FILES = ['admin-token', 'secret.key'];

/**
 * Makes the data dir private (0700), also when an earlier version (or the operator) made it
 * 0755, and tightens the secret files in it that were made readable by others. Returns a
 * reason when the dir cannot be tightened (it belongs to another user): the files themselves
 * still are, so the caller warns rather than refusing to start.
 */
export function makePrivateDataDir(dataDir: string): { warning?: string } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  for (const name of SECRET_FILES) tightenIfPresent(join(dataDir, name));
  try {
    chmodSync(dataDir, 0o700);
    return {};
  } catch (error) {
    return { warning: `data dir ${dataDir} could not be made private (0700): ${(error as Error).message}` };
  }
}

/** Creates the file empty with mode 0600 when missing; makes it 0600 when present. */
export function ensurePrivateFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  // The mode given at creation passes through the umask, and an existing file keeps its own.
  chmodSync(file, 0o600);
}

export function tightenIfPresent(file: string): void {
  try {
    chmodSync(file, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
