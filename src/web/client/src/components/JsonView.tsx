import { useEffect, useRef, type ReactNode } from 'react';

/** Splits a JSON Pointer (RFC 6901) into its reference tokens. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return pointer === '/' ? [''] : [];
  return pointer
    .replace(/^#/, '')
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const joinPointer = (base: string, token: string | number) =>
  `${base}/${String(token).replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * The deepest part of `value` the pointer reaches. An error about a missing field points below
 * what exists; highlighting its parent still shows the reader where to look.
 */
export function resolvePointer(value: unknown, pointer: string): string {
  let at = '';
  let node: unknown = value;
  for (const token of pointerTokens(pointer)) {
    if (Array.isArray(node) && /^\d+$/.test(token) && Number(token) < node.length) node = node[Number(token)];
    else if (node && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, token))
      node = (node as Record<string, unknown>)[token];
    else break;
    at = joinPointer(at, token);
  }
  return at;
}

interface Props {
  value: unknown;
  /** Pointers to highlight, each with the note shown on hover (the error). */
  highlights?: { pointer: string; note: string }[];
  label: string;
}

/**
 * Pretty JSON, with the parts that errors point at marked. Rendering ourselves (rather than a
 * string) is what lets a pointer light up exactly one value.
 */
export function JsonView({ value, highlights = [], label }: Props) {
  const marks = new Map<string, string[]>();
  for (const h of highlights) {
    const at = resolvePointer(value, h.pointer);
    marks.set(at, [...(marks.get(at) ?? []), h.note]);
  }
  const root = useRef<HTMLElement>(null);
  const key = highlights.map((h) => h.pointer).join('|');
  // Bring the first highlight into view whenever what is shown, or what is highlighted, changes.
  // biome-ignore lint/correctness/useExhaustiveDependencies(value): the highlight is found in the DOM rendered from `value`, so a new value must look again
  useEffect(() => {
    if (!key) return;
    root.current?.querySelector('.json-hl')?.scrollIntoView({ block: 'nearest' });
  }, [key, value]);

  // A figure (a code listing) names the block; the scrolling box is what takes focus.
  return (
    <figure
      className="json-view"
      ref={root}
      aria-label={label}
      // biome-ignore lint/a11y/noNoninteractiveTabindex: the block scrolls on its own; a keyboard user can scroll it only once it can take focus (WCAG 2.1.1)
      tabIndex={0}
    >
      <pre>
        <Node value={value} pointer="" marks={marks} indent="" />
      </pre>
    </figure>
  );
}

function Node({
  value,
  pointer,
  marks,
  indent,
  prefix,
  suffix = '',
}: {
  value: unknown;
  pointer: string;
  marks: Map<string, string[]>;
  indent: string;
  prefix?: ReactNode;
  suffix?: string;
}) {
  const notes = marks.get(pointer);
  const inner = `${indent}  `;
  let body: ReactNode;
  if (Array.isArray(value) && value.length) {
    body = (
      <>
        {'['}
        {'\n'}
        {value.map((v, i) => (
          <Node
            // biome-ignore lint/suspicious/noArrayIndexKey: an array element is its position: its pointer is its index
            key={i}
            value={v}
            pointer={joinPointer(pointer, i)}
            marks={marks}
            indent={inner}
            suffix={i < value.length - 1 ? ',' : ''}
          />
        ))}
        {indent}
        {']'}
      </>
    );
  } else if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length) {
    const entries = Object.entries(value as Record<string, unknown>);
    body = (
      <>
        {'{'}
        {'\n'}
        {entries.map(([k, v], i) => (
          <Node
            key={k}
            value={v}
            pointer={joinPointer(pointer, k)}
            marks={marks}
            indent={inner}
            prefix={<span className="json-key">{JSON.stringify(k)}</span>}
            suffix={i < entries.length - 1 ? ',' : ''}
          />
        ))}
        {indent}
        {'}'}
      </>
    );
  } else {
    body = (
      <span className={`json-${value === null ? 'null' : typeof value}`}>
        {value === undefined ? 'undefined' : JSON.stringify(value)}
      </span>
    );
  }
  const line = (
    <>
      {prefix}
      {prefix ? ': ' : ''}
      {body}
    </>
  );
  // The root has no line of its own; every other node is indented on its own line.
  if (pointer === '')
    return notes ? (
      <mark className="json-hl" title={notes.join('\n')}>
        {line}
      </mark>
    ) : (
      line
    );
  return (
    <>
      {indent}
      {notes ? (
        <mark className="json-hl" title={notes.join('\n')} data-pointer={pointer}>
          {line}
        </mark>
      ) : (
        line
      )}
      {suffix}
      {'\n'}
    </>
  );
}
