/**
 * Filters that live in a page's address (the Conversations and Audit log pages): read from and
 * written to the query string, so a search can be bookmarked, shared and linked to, and the time
 * range fields that `datetime-local` gives them.
 */
import { Field } from '../components/Field';

/** A whole number the address carries, or undefined. */
export function numberParam(search: URLSearchParams, key: string): number | undefined {
  const raw = search.get(key);
  const value = Number(raw ?? '');
  return raw && Number.isSafeInteger(value) ? value : undefined;
}

/** `path?query` of the values that are set (a paging cursor is never part of an address). */
export function withQuery(path: string, query: object): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined && value !== '' && key !== 'cursor') params.set(key, String(value));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

/** `datetime-local` speaks local wall-clock minutes; the APIs speak epoch milliseconds. */
export function toLocalInput(ms: number | undefined): string {
  if (ms === undefined) return '';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fromLocalInput(value: FormDataEntryValue | null): number | undefined {
  const ms = typeof value === 'string' && value ? new Date(value).getTime() : Number.NaN;
  return Number.isNaN(ms) ? undefined : ms;
}

/** The two fields of a time range, named `from` and `to` in their form. */
export function TimeRangeFields({
  from,
  to,
  labels,
}: {
  from?: number;
  to?: number;
  labels: [from: string, to: string];
}) {
  return (
    <>
      <Field label={labels[0]}>
        {(control) => <input {...control} type="datetime-local" name="from" defaultValue={toLocalInput(from)} />}
      </Field>
      <Field label={labels[1]}>
        {(control) => <input {...control} type="datetime-local" name="to" defaultValue={toLocalInput(to)} />}
      </Field>
    </>
  );
}
