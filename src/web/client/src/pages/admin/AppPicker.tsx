import { useState } from 'react';
import { Link } from '../../lib/router';
import type { AppInstallation } from '../../lib/types';
import { Field } from '../../components/Field';
import { Notice } from '../../components/States';
import { InlineCreate } from '../../components/InlineCreate';
import { missingApp } from './bot-form';

/** Enough of a client id to tell apps of one name apart (they are 32 hex digits). */
export function shortClientId(clientId: string): string {
  return clientId.length > 10 ? `${clientId.slice(0, 8)}…` : clientId;
}

/**
 * The app installation a bot refers to, picked from the account's apps: the bot's calls carry
 * that app's tokens and the bot keeps no secret, so the form never asks for one (a secret copied
 * into a bot broke it at the app's next rotation). An app can be installed here without leaving
 * the form, as a skill can.
 */
export function AppPicker({
  accountId,
  apps,
  value,
  onChange,
  error,
  onInstall,
}: {
  accountId: string;
  apps: AppInstallation[];
  /** The client id the bot refers to; '' for none yet. */
  value: string;
  onChange(clientId: string): void;
  error?: string;
  /** Installs an app in the account and picks it: its client id (rejects with the API's reason). */
  onInstall(name: string): Promise<string>;
}) {
  const missing = missingApp(value, apps);
  return (
    <div className="app-picker">
      <Field
        label="App installation"
        error={error}
        hint={
          apps.length ? (
            'The bot’s calls carry this app’s tokens. The bot refers to the app and needs no secret, so rotating the app’s secret on Set-up leaves the bot working.'
          ) : (
            <>
              This account has no app installation yet: install one below (or on{' '}
              <Link to={`/admin/accounts/${encodeURIComponent(accountId)}/setup`}>Set-up</Link>).
            </>
          )
        }
      >
        {(p) => (
          <select {...p} value={value} onChange={(e) => onChange(e.target.value)}>
            {!value && <option value="">— Pick an app installation —</option>}
            {apps.map((a) => (
              <option key={a.client_id} value={a.client_id}>
                {a.name} · {shortClientId(a.client_id)}
              </option>
            ))}
            {missing && <option value={value}>{shortClientId(value)} · not in this account (removed)</option>}
          </select>
        )}
      </Field>
      {missing && (
        <Notice tone="warning">
          This bot refers to app installation <code>{value}</code>, which is not in the account any more: its calls get
          no token. Pick another app installation (or install one) and save.
        </Notice>
      )}
      <NewApp onInstall={onInstall} picked={value} />
    </div>
  );
}

/**
 * An app installed without leaving the bot form. The secret the installation answers is not
 * shown: the bot does not need it (Set-up's rotation shows a new one to whoever does).
 */
function NewApp({ onInstall, picked }: { onInstall(name: string): Promise<string>; picked: string }) {
  /** The app installed last: said so while the bot still refers to it. */
  const [installed, setInstalled] = useState<{ name: string; clientId: string } | null>(null);
  return (
    <InlineCreate
      label="New app"
      action="Install app"
      busyText="Installing…"
      failure="Not installed"
      onCreate={async (name) => setInstalled({ name, clientId: await onInstall(name) })}
    >
      {installed?.clientId === picked && (
        <span className="field-hint" role="status">
          Installed “{installed.name}” and picked it. The bot refers to the app: it needs no client secret.
        </span>
      )}
    </InlineCreate>
  );
}
