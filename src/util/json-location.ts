/**
 * Where a problem sits in a JSON document, in two spellings: a JSON Pointer (RFC 6901) the
 * console uses to highlight the spot in the raw body, and a JavaScript-like label
 * (`response[2].data.seconds`) that reads well in a log line.
 */

export type Segment = string | number;

export function toPointer(segments: readonly Segment[]): string {
  return segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

export function fromPointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `["response", 2, "data"]` → `response[2].data`; digit-only segments are array positions. */
export function toLabel(segments: readonly Segment[]): string {
  let label = '';
  for (const segment of segments) {
    const text = String(segment);
    if (typeof segment === 'number' || /^(0|[1-9][0-9]*)$/.test(text)) label += `[${text}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(text)) label += label ? `.${text}` : text;
    else label += `[${JSON.stringify(text)}]`;
  }
  return label || 'the body';
}

export function valueAt(document: unknown, segments: readonly string[]): unknown {
  let value = document;
  for (const segment of segments) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short rendering of a value for "got …" in a message; bodies can be huge, so it is capped. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (isPlainObject(value)) return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…"` : text;
}
