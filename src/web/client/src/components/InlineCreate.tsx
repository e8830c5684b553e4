import { useId, useState, type KeyboardEvent, type ReactNode } from 'react';
import { errorText } from '../lib/api';

/**
 * A name typed and something made of it (a skill, an app) without leaving the form around it.
 * Not a <form> of its own (forms do not nest): Enter in its box makes the thing rather than
 * submitting the outer form. The API's reason shows when it refuses; the name stays for a retry.
 */
export function InlineCreate({
  label,
  action,
  busyText,
  failure,
  onCreate,
  children,
}: {
  label: string;
  /** The button: "Create skill". */
  action: string;
  busyText: string;
  /** Before the API's reason: "Not created". */
  failure: string;
  onCreate(name: string): Promise<void>;
  /** Under the box: what the caller has to say about what was made. */
  children?: ReactNode;
}) {
  const id = useId();
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const create = async () => {
    const trimmed = name.trim();
    if (!trimmed || busy) return;
    setBusy(true);
    setError(null);
    try {
      await onCreate(trimmed);
      setName('');
    } catch (e) {
      setError(`${failure}: ${errorText(e)}`);
    } finally {
      setBusy(false);
    }
  };
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key !== 'Enter') return;
    event.preventDefault();
    void create();
  };
  return (
    <div className="skill-new">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      <div className="env-row">
        <input
          id={id}
          value={name}
          onChange={(e) => {
            setName(e.target.value);
            setError(null);
          }}
          onKeyDown={onKeyDown}
          maxLength={255}
          autoComplete="off"
          aria-describedby={error ? `${id}-error` : undefined}
          aria-invalid={error ? true : undefined}
        />
        <button type="button" className="btn btn-small" onClick={() => void create()} disabled={busy || !name.trim()}>
          {busy ? busyText : action}
        </button>
      </div>
      {error && (
        <span id={`${id}-error`} className="field-error" role="alert">
          {error}
        </span>
      )}
      {children}
    </div>
  );
}
