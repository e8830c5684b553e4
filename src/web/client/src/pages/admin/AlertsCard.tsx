import { useCallback, useState } from 'react';
import { errorText, type AdminApi } from '../../lib/api';
import { useAccess } from '../../lib/access';
import { ago, dateTime } from '../../lib/format';
import { useAsync, useSubmit } from '../../lib/use-async';
import type { AlertDestination, AlertFormat } from '../../lib/types';
import { Field } from '../../components/Field';
import { Empty, Loaded, Notice } from '../../components/States';
import { DataTable } from '../../components/DataTable';
import { AlertRules } from './AlertRules';

const FORMATS: Record<AlertFormat, string> = {
  slack: 'Slack (incoming webhook: {text})',
  teams: 'Microsoft Teams (incoming webhook: MessageCard)',
  json: 'JSON (the event itself)',
};

/**
 * The account's alert destinations: webhooks told when a bot goes into VENDOR_INTERRUPTION or
 * SERVICE_INTERRUPTION and back, and when a rule's condition begins or ends. Its readers see them,
 * the rules and the recent alerts; its owners add and remove them and send a test alert. A
 * webhook URL is its secret: it is shown by host only.
 */
export function AlertsCard({ api, accountId }: { api: AdminApi; accountId: string }) {
  const mayManage = useAccess().may('account:manage', accountId);
  const loadDestinations = useCallback(() => api.alertDestinations(accountId), [api, accountId]);
  const destinations = useAsync(loadDestinations);
  const loadEvents = useCallback(() => api.alertEvents(accountId), [api, accountId]);
  const events = useAsync(loadEvents);
  const [outcome, setOutcome] = useState<{ tone: 'success' | 'error'; text: string } | null>(null);
  const now = Date.now();

  const test = async (d: AlertDestination) => {
    setOutcome(null);
    try {
      const result = await api.testAlertDestination(accountId, d.id);
      setOutcome(
        result.ok
          ? {
              tone: 'success',
              text: `Test alert delivered to “${d.name}” (HTTP ${result.status}, ${result.durationMs} ms).`,
            }
          : { tone: 'error', text: `Test alert to “${d.name}” failed: ${result.error ?? 'no answer'}.` },
      );
    } catch (e) {
      setOutcome({ tone: 'error', text: `Test alert not sent: ${errorText(e)}` });
    }
    events.reload();
  };
  const remove = async (d: AlertDestination) => {
    if (!window.confirm(`Remove the alert destination “${d.name}”? Alerts it still owes are given up.`)) return;
    setOutcome(null);
    try {
      await api.removeAlertDestination(accountId, d.id);
      destinations.reload();
      events.reload();
    } catch (e) {
      setOutcome({ tone: 'error', text: `Not removed: ${errorText(e)}` });
    }
  };
  const nameOf = (id: string) =>
    destinations.status === 'ready' ? (destinations.value.find((d) => d.id === id)?.name ?? 'removed') : '';

  return (
    <section className="card setup-card" aria-labelledby="alerts-title">
      <h2 id="alerts-title">Alerts</h2>
      <p className="muted small">
        Webhooks told when a bot of account <strong>{accountId}</strong> goes into VENDOR_INTERRUPTION or
        SERVICE_INTERRUPTION and when it is back ONLINE, and when one of the rules below begins or stops firing. Each
        alert is sent once, retried with backoff while the webhook fails.
      </p>
      <Loaded state={destinations} loading="Loading alert destinations…" failed="Could not load the alert destinations">
        {(list) =>
          list.length ? (
            <DataTable
              caption={`Alert destinations of account ${accountId}`}
              columns={['Destination', 'Format', 'Added']}
              actions={mayManage}
            >
              {list.map((d) => (
                <tr key={d.id} data-destination={d.name}>
                  <td data-label="Destination">
                    <strong>{d.name}</strong> <span className="muted small">{d.url}</span>
                  </td>
                  <td data-label="Format">{d.format}</td>
                  <td data-label="Added">
                    <span title={dateTime(d.createdAt)}>{ago(d.createdAt, now)}</span>
                  </td>
                  {mayManage && (
                    <td className="row-actions">
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => void test(d)}
                        aria-label={`Send a test alert to ${d.name}`}
                      >
                        Send a test alert
                      </button>{' '}
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => void remove(d)}
                        aria-label={`Remove ${d.name}`}
                      >
                        Remove
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </DataTable>
          ) : (
            <Empty title="No alert destinations yet">
              {mayManage ? 'Add a Slack or Teams incoming webhook, or any URL taking JSON.' : 'An owner adds them.'}
            </Empty>
          )
        }
      </Loaded>
      {outcome && <Notice tone={outcome.tone}>{outcome.text}</Notice>}
      {mayManage && (
        <AddDestination
          api={api}
          accountId={accountId}
          onAdded={() => {
            destinations.reload();
          }}
        />
      )}
      <AlertRules api={api} accountId={accountId} mayManage={mayManage} onChanged={events.reload} />
      <h3>Recent alerts</h3>
      <Loaded state={events} loading="Loading alerts…" failed="Could not load the alerts">
        {(list) =>
          list.length ? (
            <DataTable caption="Recent alerts" columns={['When', 'Alert', 'Destination', 'State']} actions={false}>
              {list.map((e) => (
                <tr key={e.id} data-alert-state={e.state}>
                  <td data-label="When">
                    <span title={dateTime(e.createdAt)}>{ago(e.createdAt, now)}</span>
                  </td>
                  <td data-label="Alert">{e.event.text}</td>
                  <td data-label="Destination">{nameOf(e.destinationId)}</td>
                  <td data-label="State">
                    {e.state}
                    {e.attempts > 1 && <span className="muted small"> after {e.attempts} attempts</span>}
                    {e.lastError && e.state !== 'delivered' && <div className="muted small">last: {e.lastError}</div>}
                  </td>
                </tr>
              ))}
            </DataTable>
          ) : (
            <Empty title="No alerts yet">Alerts show here as they are sent.</Empty>
          )
        }
      </Loaded>
      <button type="button" className="btn btn-small" onClick={events.reload}>
        Refresh alerts
      </button>
    </section>
  );
}

function AddDestination({ api, accountId, onAdded }: { api: AdminApi; accountId: string; onAdded(): void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [format, setFormat] = useState<AlertFormat>('slack');
  const { busy, error, submit } = useSubmit(async () => {
    await api.addAlertDestination(accountId, { name: name.trim(), url: url.trim(), format });
    setName('');
    setUrl('');
    onAdded();
  });
  return (
    <>
      <form className="form form-inline" onSubmit={submit} aria-label="Add an alert destination">
        <Field label="Destination name">
          {(control) => (
            <input {...control} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} required />
          )}
        </Field>
        <Field label="Webhook URL" hint="http or https; kept secret, shown by host only">
          {(control) => (
            <input
              {...control}
              type="url"
              value={url}
              onChange={(e) => setUrl(e.target.value)}
              maxLength={2000}
              autoComplete="off"
              required
            />
          )}
        </Field>
        <Field label="Format">
          {(control) => (
            <select {...control} value={format} onChange={(e) => setFormat(e.target.value as AlertFormat)}>
              {(Object.keys(FORMATS) as AlertFormat[]).map((f) => (
                <option key={f} value={f}>
                  {FORMATS[f]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button className="btn btn-primary" type="submit" disabled={busy || !name.trim() || !url.trim()}>
          Add destination
        </button>
      </form>
      {error && <Notice tone="error">{error}</Notice>}
    </>
  );
}
