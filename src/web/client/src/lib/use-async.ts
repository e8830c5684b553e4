/** Hooks for screens that load, tick or submit. */
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { errorText } from './api';

export type AsyncState<T> = { status: 'loading' } | { status: 'error'; error: unknown } | { status: 'ready'; value: T };

/**
 * Loads something, with the three states a screen must design for. It loads again when `load`
 * changes, so pass one that keeps its identity across renders (useCallback, or a method of a
 * memoized API client); `reload()` loads again on demand. With `refreshMs`, it also loads again
 * that often while mounted, keeping what it has on screen until the new answer arrives (no
 * spinner every few seconds).
 */
export function useAsync<T>(
  load: () => Promise<T>,
  { refreshMs }: { refreshMs?: number } = {},
): AsyncState<T> & { reload(): void } {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' });
  // Only the latest run may set the state: a newer run, or unmounting, makes earlier answers stale.
  const latest = useRef(0);
  const refresh = useCallback(() => {
    const id = ++latest.current;
    load().then(
      (value) => {
        if (latest.current === id) setState({ status: 'ready', value });
      },
      (error: unknown) => {
        if (latest.current === id) setState({ status: 'error', error });
      },
    );
  }, [load]);
  const reload = useCallback(() => {
    setState({ status: 'loading' });
    refresh();
  }, [refresh]);
  useEffect(() => {
    reload();
    const timer = refreshMs === undefined ? undefined : window.setInterval(refresh, refreshMs);
    return () => {
      window.clearInterval(timer);
      latest.current += 1;
    };
  }, [reload, refresh, refreshMs]);
  return { ...state, reload };
}

/** A ticking clock for "waiting 1m 20s" style labels. */
export function useNow(intervalMs = 1_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}

/**
 * A form that does one thing when submitted: busy while it runs, and what went wrong in words
 * (`explain` words the error; errorText by default).
 */
export function useSubmit(action: () => Promise<void>, explain: (error: unknown) => string = errorText) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, submit };
}
