/** Loads something once per key, with the three states a screen must design for. */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { errorText } from './api';

export type AsyncState<T> = { status: 'loading' } | { status: 'error'; error: unknown } | { status: 'ready'; value: T };

export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): AsyncState<T> & { reload(): void } {
  const [state, setState] = useState<AsyncState<T>>({ status: 'loading' });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    let live = true;
    setState({ status: 'loading' });
    load().then(
      (value) => live && setState({ status: 'ready', value }),
      (error: unknown) => live && setState({ status: 'error', error }),
    );
    return () => {
      live = false;
    };
    // `load` is a new closure every render; what it depends on is what the caller lists in `deps`.
  }, [...deps, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
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
