import { useEffect, useState } from 'react';
import { errorText, type AdminApi } from '../../lib/api';
import type { AppInstallation, Bot, TestConnectionResult } from '../../lib/types';
import { Field } from '../../components/Field';
import { Notice, Spinner } from '../../components/States';
import { connectionOf, sameVendor, vendorErrors, vendorOf, type BotForm, type FormErrors } from './bot-form';
import { AppPicker } from './AppPicker';

interface Props {
  api: AdminApi;
  accountId: string;
  /** The saved bot when editing. */
  bot: Bot | null;
  form: BotForm;
  errors: FormErrors;
  set<K extends keyof BotForm>(key: K, value: BotForm[K]): void;
  /** The account's app installations, one of which the bot refers to. */
  apps: AppInstallation[];
  /** Installs an app and picks it for the bot: its client id. */
  onInstallApp(name: string): Promise<string>;
  /** Shown to a role that may not change the bot: every control disabled. */
  readOnly?: boolean;
}

type Environments =
  | { status: 'waiting'; reason: string }
  | { status: 'loading' }
  | { status: 'ready'; list: string[] }
  | { status: 'error'; message: string };

/** Fetch the list this long after the last keystroke in the vendor fields. */
const DEBOUNCE_MS = 500;

/** What is missing before the service can be asked anything, said for what the operator tried. */
const incomplete = (to: string) => `Enter the base URL and the bot id, and pick the app installation, to ${to}.`;
const NO_LIST = incomplete('load the environments');

/**
 * The vendor block: where the bot's service is and which app installation's tokens its calls
 * carry. The environment list and the test connection use what is shown, saved or not: the
 * connection names the app and needs no secret.
 */
export function VendorSection({ api, accountId, bot, form, errors, set, apps, onInstallApp, readOnly = false }: Props) {
  const [environments, setEnvironments] = useState<Environments>({ status: 'waiting', reason: NO_LIST });
  const [nonce, setNonce] = useState(0);
  const [test, setTest] = useState<{ running: boolean; result?: TestConnectionResult; error?: string }>({
    running: false,
  });
  const saved = sameVendor(form, bot);
  // An app that is not the account's gets no token: asking the service with it says nothing new.
  const complete = Object.keys(vendorErrors(form, apps)).length === 0;
  // The list is fetched again when what identifies the service changes, not on other edits; the
  // saved bot (polled, so a new object every few seconds) counts by its id.
  const { baseUrl, clientId, botId, timeoutSeconds } = form;
  const savedId = bot?.id ?? null;

  // biome-ignore lint/correctness/useExhaustiveDependencies(nonce): the Reload list button's counter, whose change is the request to fetch again
  useEffect(() => {
    if (!complete) {
      setEnvironments({ status: 'waiting', reason: NO_LIST });
      return;
    }
    const controller = new AbortController();
    const timer = window.setTimeout(() => {
      setEnvironments({ status: 'loading' });
      const typed = connectionOf({ baseUrl, clientId, botId, timeoutSeconds });
      const request =
        saved && savedId
          ? api.environmentsOf(accountId, savedId, controller.signal)
          : api.environmentsFor(accountId, typed, controller.signal);
      request.then(
        (list) => setEnvironments({ status: 'ready', list }),
        (e: unknown) => {
          if (e instanceof DOMException && e.name === 'AbortError') return;
          setEnvironments({ status: 'error', message: errorText(e) });
        },
      );
    }, DEBOUNCE_MS);
    return () => {
      window.clearTimeout(timer);
      controller.abort();
    };
  }, [api, accountId, savedId, saved, complete, baseUrl, clientId, botId, timeoutSeconds, nonce]);

  // A new bot takes an environment the service offers: when the list comes without the chosen
  // one, the service's first (draft if offered). The choice can only be from the list after that.
  useEffect(() => {
    if (
      savedId === null &&
      environments.status === 'ready' &&
      environments.list.length &&
      !environments.list.includes(form.environment)
    ) {
      set('environment', environments.list.includes('draft') ? 'draft' : environments.list[0]);
    }
  }, [savedId, environments, form.environment, set]);

  const runTest = async () => {
    if (!complete) {
      setTest({ running: false, error: incomplete('test the connection') });
      return;
    }
    const useSaved = saved && bot && form.environment === bot.vendor.environment;
    setTest({ running: true });
    try {
      const result = useSaved
        ? await api.testConnectionOf(accountId, bot.id)
        : await api.testConnectionFor(accountId, vendorOf(form));
      setTest({ running: false, result });
    } catch (e) {
      setTest({ running: false, error: errorText(e) });
    }
  };

  const envOptions = environments.status === 'ready' ? environments.list : [];
  const showCurrent = form.environment && !envOptions.includes(form.environment);

  return (
    <fieldset className="card form-section" disabled={readOnly}>
      <legend>Custom Endpoint connection</legend>
      <Field
        label="Base URL"
        hint="Where your service listens, without a trailing “/”, e.g. https://bot.example.com/api"
        error={errors.baseUrl}
      >
        {(p) => (
          <input
            {...p}
            type="url"
            inputMode="url"
            value={form.baseUrl}
            onChange={(e) => set('baseUrl', e.target.value)}
            placeholder="https://"
            autoComplete="off"
            spellCheck={false}
          />
        )}
      </Field>
      <AppPicker
        accountId={accountId}
        apps={apps}
        value={form.clientId}
        onChange={(v) => set('clientId', v)}
        error={errors.clientId}
        onInstall={onInstallApp}
      />
      <div className="grid-2">
        <Field label="Bot ID" hint="Your service’s id for this bot (letters, digits, “-”)." error={errors.botId}>
          {(p) => (
            <input
              {...p}
              value={form.botId}
              onChange={(e) => set('botId', e.target.value)}
              autoComplete="off"
              spellCheck={false}
            />
          )}
        </Field>
        <Field
          label="Request timeout (s)"
          hint="Per request; transient failures are retried up to 3 attempts."
          error={errors.timeoutSeconds}
        >
          {(p) => (
            <input
              {...p}
              inputMode="numeric"
              value={form.timeoutSeconds}
              onChange={(e) => set('timeoutSeconds', e.target.value)}
            />
          )}
        </Field>
      </div>
      <Field
        label="Environment"
        error={errors.environment}
        hint={
          environments.status === 'waiting' ? (
            environments.reason
          ) : environments.status === 'loading' ? (
            <span className="inline-status">
              <Spinner label="Loading environments" /> Loading the service’s environments…
            </span>
          ) : environments.status === 'ready' ? (
            `${environments.list.length} environment${environments.list.length === 1 ? '' : 's'} offered by the service.`
          ) : undefined
        }
      >
        {(p) => (
          <div className="env-row">
            <select
              {...p}
              value={form.environment}
              onChange={(e) => set('environment', e.target.value)}
              disabled={environments.status !== 'ready' && !form.environment}
            >
              {envOptions.map((env) => (
                <option key={env} value={env}>
                  {env}
                </option>
              ))}
              {showCurrent && (
                <option value={form.environment}>
                  {form.environment}
                  {environments.status === 'ready' ? ' (not offered by the service)' : ''}
                </option>
              )}
            </select>
            <button
              type="button"
              className="btn btn-small"
              onClick={() => setNonce((n) => n + 1)}
              disabled={environments.status === 'loading' || !complete}
            >
              Reload list
            </button>
          </div>
        )}
      </Field>
      {environments.status === 'error' && (
        <Notice tone="error">Could not load the environments: {environments.message}</Notice>
      )}

      <div className="test-connection">
        <button type="button" className="btn" onClick={runTest} disabled={test.running}>
          {test.running ? 'Testing…' : 'Test connection'}
        </button>
        <div className="test-result" aria-live="polite">
          {test.result?.ok && (
            <Notice tone="success">
              <strong>Connection OK.</strong> State <code>{test.result.state}</code>
              {test.result.version && (
                <>
                  , version <code>{test.result.version}</code>
                </>
              )}
              .
            </Notice>
          )}
          {test.result && !test.result.ok && (
            <Notice tone="error">
              <strong>Connection failed:</strong> {test.result.error ?? 'no reason given'}
              {test.result.code && (
                <>
                  {' '}
                  <code>{test.result.code}</code>
                </>
              )}
              {test.result.state && <> (state {test.result.state})</>}
            </Notice>
          )}
          {test.error && <Notice tone="error">{test.error}</Notice>}
        </div>
      </div>
    </fieldset>
  );
}
