import { useId, useState, type KeyboardEvent, type ReactNode } from 'react';
import { errorText } from '../lib/api';
import { Link } from '../lib/router';
import type { Skill } from '../lib/types';

/**
 * The account's skills as chips to tick (a bot's skills served, an agent's skills). An account
 * without skills gets the way to its set-up page instead of an empty box, unless the form creates
 * skills in place (`onCreate`), so that leaving it does not lose what was typed.
 */
export function SkillPicker({
  accountId,
  label,
  skills,
  value,
  onChange,
  error,
  none,
  onCreate,
}: {
  accountId: string;
  /** What to say when the account has no skills (by default: the way to its set-up page). */
  none?: ReactNode;
  label: string;
  skills: Skill[];
  value: string[];
  onChange(v: string[]): void;
  error?: string;
  /** Creates a skill in the account (rejecting with the API's reason); the caller ticks it. */
  onCreate?(name: string): Promise<void>;
}) {
  const errorId = `${useId()}-error`;
  const toggle = (name: string, on: boolean) => onChange(on ? [...value, name] : value.filter((v) => v !== name));
  return (
    <fieldset className="field skill-picker" aria-describedby={error ? errorId : undefined}>
      <legend className="field-label">{label}</legend>
      {skills.length === 0 ? (
        <p className="muted small">
          {none ??
            (onCreate ? (
              'This account has no skills yet: create the first one below.'
            ) : (
              <>
                This account has no skills yet:{' '}
                <Link to={`/admin/accounts/${encodeURIComponent(accountId)}/setup`}>create one in Set-up</Link>.
              </>
            ))}
        </p>
      ) : (
        <div className="chips">
          {skills.map((s) => (
            <label key={s.id} className={`chip${value.includes(s.name) ? ' is-on' : ''}`}>
              <input
                type="checkbox"
                checked={value.includes(s.name)}
                onChange={(e) => toggle(s.name, e.target.checked)}
                aria-invalid={error ? true : undefined}
              />
              <span>{s.name}</span>
            </label>
          ))}
        </div>
      )}
      {error && (
        <span id={errorId} className="field-error">
          {error}
        </span>
      )}
      {onCreate && <NewSkill onCreate={onCreate} />}
    </fieldset>
  );
}

/**
 * A skill created without leaving the form around it. Not a <form> of its own (forms do not
 * nest): Enter in its box creates the skill rather than submitting the outer form.
 */
function NewSkill({ onCreate }: { onCreate(name: string): Promise<void> }) {
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
      setError(`Not created: ${errorText(e)}`);
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
        New skill
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
          {busy ? 'Creating…' : 'Create skill'}
        </button>
      </div>
      {error && (
        <span id={`${id}-error`} className="field-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
