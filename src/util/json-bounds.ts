/**
 * How big a parsed JSON value is, measured without recursion so that the measuring itself cannot
 * overflow the stack: whatever comes from outside (a request body, a bot's answer) is checked
 * here before anything recursive — a schema validator, JSON.stringify, a renderer — walks it.
 *
 * The walk stops at the first limit exceeded, so refusing a huge value costs no more than the
 * limits allow; accepting one costs one pass over it.
 */

export interface JsonLimits {
  /** Objects and arrays nested in one another: `"a"` is depth 0, `[]` 1, `[{}]` 2. */
  maxDepth: number;
  /** Values of every kind, the root, containers and scalars alike: `[1, 2]` is 3. */
  maxNodes: number;
  /** UTF-16 code units of one string, property names included. */
  maxStringLength?: number;
  /** Characters of the value written as compact JSON: `JSON.stringify(value).length`. */
  maxTotalLength?: number;
}

export type JsonLimitKind = 'depth' | 'nodes' | 'string' | 'size';

/** The first limit the value exceeds, in document order, and where. */
export interface JsonLimitExceeded {
  kind: JsonLimitKind;
  limit: number;
  /**
   * JSON Pointer (RFC 6901) to the value that went over: the first container too deep, the first
   * value past the count, the long string (or the member whose name is long), or the value whose
   * text crossed the size.
   */
  pointer: string;
}

type Container = unknown[] | Record<string, unknown>;

/** An open container and how far the walk has gone through it. */
interface Frame {
  container: Container;
  /** Member names of an object; undefined for an array. */
  keys: string[] | undefined;
  /** Position of the child being visited. */
  at: number;
}

/**
 * The first limit `value` exceeds, or undefined when it is within all of them. Meant for what
 * JSON.parse produces: a tree of plain objects, arrays, strings, finite numbers, booleans and
 * null (anything else is counted as `null`; a cycle ends at `maxDepth`).
 */
export function exceededJsonLimit(value: unknown, limits: JsonLimits): JsonLimitExceeded | undefined {
  const { maxDepth, maxNodes } = limits;
  const maxStringLength = limits.maxStringLength ?? Infinity;
  const maxTotalLength = limits.maxTotalLength ?? Infinity;
  const frames: Frame[] = [];
  let nodes = 0;
  let size = 0;
  const exceeded = (kind: JsonLimitKind, limit: number): JsonLimitExceeded => ({
    kind,
    limit,
    pointer: pointerOf(frames),
  });

  let current: unknown = value;
  for (;;) {
    // Visit `current`: the root, or the child frames.at(-1) points at.
    nodes += 1;
    if (nodes > maxNodes) return exceeded('nodes', maxNodes);
    const parent = frames.at(-1);
    if (parent?.keys) {
      const key = parent.keys[parent.at]!;
      if (key.length > maxStringLength) return exceeded('string', maxStringLength);
      size += jsonStringLength(key) + 1;
      if (parent.at > 0) size += 1;
    } else if (parent && parent.at > 0) size += 1;

    if (typeof current === 'object' && current !== null) {
      if (frames.length + 1 > maxDepth) return exceeded('depth', maxDepth);
      const container = current as Container;
      const keys = Array.isArray(container) ? undefined : Object.keys(container);
      size += 2;
      if (size > maxTotalLength) return exceeded('size', maxTotalLength);
      frames.push({ container, keys, at: -1 });
    } else {
      if (typeof current === 'string') {
        if (current.length > maxStringLength) return exceeded('string', maxStringLength);
        size += jsonStringLength(current);
      } else {
        size += scalarLength(current);
      }
      if (size > maxTotalLength) return exceeded('size', maxTotalLength);
    }

    // Move on to the next child, closing every container that has none left.
    for (;;) {
      const frame = frames.at(-1);
      if (!frame) return undefined;
      frame.at += 1;
      const length = frame.keys ? frame.keys.length : (frame.container as unknown[]).length;
      if (frame.at < length) {
        current = frame.keys
          ? (frame.container as Record<string, unknown>)[frame.keys[frame.at]!]
          : (frame.container as unknown[])[frame.at];
        break;
      }
      frames.pop();
    }
  }
}

/** A one-line account of what was exceeded, to follow the location in a message. */
export function describeJsonLimit({ kind, limit }: JsonLimitExceeded): string {
  switch (kind) {
    case 'depth':
      return `is nested deeper than ${limit} levels of objects and arrays`;
    case 'nodes':
      return `is past the limit of ${limit} JSON values`;
    case 'string':
      return `holds a string longer than ${limit} characters`;
    case 'size':
      return `is past the limit of ${limit} characters of JSON`;
  }
}

function pointerOf(frames: readonly Frame[]): string {
  let pointer = '';
  for (const { keys, at } of frames) {
    const segment = keys ? keys[at]! : String(at);
    pointer += `/${segment.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  }
  return pointer;
}

/** Characters JSON.stringify needs for a string, without building it unless escapes change it. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters JSON escapes
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;
function jsonStringLength(text: string): number {
  return ESCAPED.test(text) ? JSON.stringify(text).length : text.length + 2;
}

function scalarLength(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value).length : 4;
  if (value === true) return 4;
  if (value === false) return 5;
  return 4;
}

/** A pointer as long as the input made it, cut to 120 characters for a message: it still shows where. */
export function clippedPointer(pointer: string): string {
  return pointer.length > 120 ? `${pointer.slice(0, 120)}…` : pointer;
}
