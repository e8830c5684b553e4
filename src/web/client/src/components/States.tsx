/** The designed non-happy states: loading, empty and error, so no screen is ever just blank. */
import type { ReactNode } from 'react';
import { errorText } from '../lib/api';
import type { AsyncState } from '../lib/use-async';

export function Spinner({ label = 'Loading' }: { label?: string }) {
  return <span className="spinner" role="progressbar" aria-label={label} />;
}

export function Loading({ children = 'Loading…' }: { children?: ReactNode }) {
  return (
    <div className="state state-loading" role="status">
      <Spinner />
      <span>{children}</span>
    </div>
  );
}

export function Empty({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="state state-empty">
      <div className="state-icon">
        <svg
          aria-hidden="true"
          viewBox="0 0 24 24"
          width="20"
          height="20"
          fill="none"
          stroke="currentColor"
          strokeWidth="1.8"
          strokeLinecap="round"
          strokeLinejoin="round"
        >
          <path d="M4 5h16v11H9l-5 4z" />
        </svg>
      </div>
      <p className="state-title">{title}</p>
      {children && <div className="state-body">{children}</div>}
      {action}
    </div>
  );
}

export function ErrorState({
  error,
  title = 'Something went wrong',
  onRetry,
  children,
}: {
  error: unknown;
  title?: string;
  onRetry?: () => void;
  children?: ReactNode;
}) {
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">{title}</p>
      <p className="state-body">{errorText(error)}</p>
      {children}
      {onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** An inline message under a form or action: success, error or plain info. */
export function Notice({
  tone,
  children,
  id,
}: {
  tone: 'success' | 'error' | 'info' | 'warning';
  children: ReactNode;
  id?: string;
}) {
  return (
    <div id={id} className={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** What was loaded, once it is: until then the loading state, or the failure with a retry. */
export function Loaded<T>({
  state,
  loading,
  failed,
  children,
}: {
  state: AsyncState<T> & { reload(): void };
  /** What is loading ("Loading operators…"), and the failure's title ("Could not load the operators"). */
  loading: string;
  failed: string;
  children(value: T): ReactNode;
}) {
  if (state.status === 'loading') return <Loading>{loading}</Loading>;
  if (state.status === 'error') return <ErrorState error={state.error} title={failed} onRetry={state.reload} />;
  return children(state.value);
}
