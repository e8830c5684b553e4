import { useId, type ReactNode } from 'react';
import { InlineCreate } from './InlineCreate';
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
      {onCreate && (
        <InlineCreate
          label="New skill"
          action="Create skill"
          busyText="Creating…"
          failure="Not created"
          onCreate={onCreate}
        />
      )}
    </fieldset>
  );
}
