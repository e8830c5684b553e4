import { Field } from './Field';

/** An operator's login as the server takes one (an email or a login name, up to 254 characters). */
export function LoginField({
  label,
  hint,
  value,
  onChange,
}: {
  label: string;
  hint: string;
  value: string;
  onChange(login: string): void;
}) {
  return (
    <Field label={label} hint={hint}>
      {(control) => (
        <input
          {...control}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          maxLength={254}
          autoComplete="off"
          required
        />
      )}
    </Field>
  );
}
