/**
 * Logs for a person at a terminal: one short line per entry ("12:04:05 WARN  message  key=value"),
 * from the same JSON pino writes (so redaction has already happened). Machines get the JSON.
 */

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** pino's own fields, shown in their place rather than as key=value. */
const OWN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err']);
/** Values longer than this are cut: a line is for reading, the JSON is for the whole record. */
const VALUE_MAX = 200;

/** One JSON log line as a readable one; a line that is not JSON passes through. */
export function prettyLine(json: string, color = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = LEVELS[Number(entry.level)] ?? String(entry.level);
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 19) : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !OWN.has(key))
    .map(([key, value]) => `${key}=${shown(value)}`);
  const painted = color ? paint(level) : level.padEnd(5);
  let line = `${time} ${painted} ${String(entry.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}\n`;
  const err = entry.err as { type?: string; message?: string; stack?: string } | undefined;
  if (err) line += `${indent(err.stack ?? `${err.type ?? 'Error'}: ${err.message ?? ''}`)}\n`;
  return line;
}

/** A pino destination writing prettyLine()s to `out` (a TTY: coloured). */
export function prettyDestination(out: NodeJS.WritableStream & { isTTY?: boolean }) {
  const color = Boolean(out.isTTY);
  return { write: (json: string) => void out.write(prettyLine(json.trimEnd(), color)) };
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? (/\s/.test(value) ? JSON.stringify(value) : value) : JSON.stringify(value);
  return text.length > VALUE_MAX ? `${text.slice(0, VALUE_MAX)}…` : text;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}

function paint(level: string): string {
  const code = level === 'ERROR' || level === 'FATAL' ? 31 : level === 'WARN' ? 33 : level === 'INFO' ? 32 : 90;
  return `\u001b[${code}m${level.padEnd(5)}\u001b[0m`;
}
