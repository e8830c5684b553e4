import { useCallback, useState } from 'react';
import { errorText, type AdminApi } from '../../lib/api';
import { ago, dateTime } from '../../lib/format';
import { useAsync, useSubmit } from '../../lib/use-async';
import type { AlertRule, AlertRuleKind } from '../../lib/types';
import { Field } from '../../components/Field';
import { Empty, Loaded, Notice } from '../../components/States';
import { DataTable } from '../../components/DataTable';

const KINDS: Record<AlertRuleKind, string> = {
  'error-rate': 'A bot’s error rate (exchanges that went wrong)',
  'escalation-rate': 'A bot’s escalation rate (started conversations escalated)',
  'public-api-backlog': 'The Public API backlog (jobs waiting)',
};

const isRate = (kind: AlertRuleKind) => kind !== 'public-api-backlog';

function condition(rule: AlertRule, botName: (id: string) => string): string {
  if (!isRate(rule.kind)) return `${rule.threshold} or more Public API jobs waiting`;
  const what = rule.kind === 'error-rate' ? 'of exchanges went wrong' : 'of started conversations escalated';
  const who = rule.botId ? botName(rule.botId) : 'any bot';
  const least = rule.kind === 'error-rate' ? 'exchanges' : 'conversations';
  return `${who}: ${rule.threshold} % or more ${what} in the last ${rule.windowMinutes} min (at least ${rule.minCount} ${least})`;
}

/**
 * The account's alert rules: conditions over what the dashboard counts, each sending one alert to
 * every destination when it begins and one when it ends. Readers see them and what fires now;
 * owners add and remove them.
 */
export function AlertRules({
  api,
  accountId,
  mayManage,
  onChanged,
}: {
  api: AdminApi;
  accountId: string;
  mayManage: boolean;
  onChanged(): void;
}) {
  const loadRules = useCallback(() => api.alertRules(accountId), [api, accountId]);
  const rules = useAsync(loadRules);
  const loadBots = useCallback(() => api.bots(accountId), [api, accountId]);
  const bots = useAsync(loadBots);
  const [failure, setFailure] = useState<string | null>(null);
  const now = Date.now();
  const botName = (id: string) =>
    (bots.status === 'ready' ? bots.value.find((b) => b.id === id)?.name : undefined) ?? id;

  const remove = async (rule: AlertRule) => {
    if (!window.confirm(`Remove the rule “${condition(rule, botName)}”?`)) return;
    setFailure(null);
    try {
      await api.removeAlertRule(accountId, rule.id);
      rules.reload();
      onChanged();
    } catch (e) {
      setFailure(`Not removed: ${errorText(e)}`);
    }
  };

  return (
    <>
      <h3>Rules</h3>
      <p className="muted small">
        Checked every 30 seconds against the counts the dashboard shows. A condition that begins sends one alert to each
        destination (“firing”), one that ends sends another (“resolved”).
      </p>
      <Loaded state={rules} loading="Loading alert rules…" failed="Could not load the alert rules">
        {(list) =>
          list.length ? (
            <DataTable caption="Alert rules" columns={['Condition', 'Now']} actions={mayManage}>
              {list.map((rule) => (
                <tr key={rule.id} data-rule={rule.kind} data-firing={rule.firing.length > 0}>
                  <td data-label="Condition">{condition(rule, botName)}</td>
                  <td data-label="Now">
                    {rule.firing.length
                      ? rule.firing.map((f) => (
                          <div key={f.subject}>
                            <strong>firing</strong>
                            {f.subject && ` for ${f.botName ?? f.subject}`}
                            {f.value !== null && ` (${f.value}${isRate(rule.kind) ? ' %' : ''})`}{' '}
                            <span className="muted small" title={dateTime(f.since)}>
                              since {ago(f.since, now)}
                            </span>
                          </div>
                        ))
                      : 'quiet'}
                  </td>
                  {mayManage && (
                    <td className="row-actions">
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => void remove(rule)}
                        aria-label={`Remove the ${rule.kind} rule`}
                      >
                        Remove
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </DataTable>
          ) : (
            <Empty title="No alert rules yet">
              {mayManage
                ? 'Add one to hear of a bot whose answers go wrong, or of Public API jobs piling up.'
                : 'An owner adds them.'}
            </Empty>
          )
        }
      </Loaded>
      {failure && <Notice tone="error">{failure}</Notice>}
      {mayManage && (
        <AddRule
          api={api}
          accountId={accountId}
          bots={bots.status === 'ready' ? bots.value : []}
          onAdded={() => {
            rules.reload();
            onChanged();
          }}
        />
      )}
    </>
  );
}

function AddRule({
  api,
  accountId,
  bots,
  onAdded,
}: {
  api: AdminApi;
  accountId: string;
  bots: Array<{ id: string; name: string }>;
  onAdded(): void;
}) {
  const [kind, setKind] = useState<AlertRuleKind>('error-rate');
  const [threshold, setThreshold] = useState('20');
  const [windowMinutes, setWindowMinutes] = useState('10');
  const [minCount, setMinCount] = useState('10');
  const [botId, setBotId] = useState('');
  const rate = isRate(kind);
  const { busy, error, submit } = useSubmit(async () => {
    await api.addAlertRule(
      accountId,
      rate
        ? {
            kind,
            threshold: Number(threshold),
            windowMinutes: Number(windowMinutes),
            minCount: Number(minCount),
            ...(botId ? { botId } : {}),
          }
        : { kind, threshold: Number(threshold) },
    );
    onAdded();
  });
  return (
    <>
      <form className="form form-inline" onSubmit={submit} aria-label="Add an alert rule">
        <Field label="Alert when">
          {(control) => (
            <select
              {...control}
              value={kind}
              onChange={(e) => {
                const next = e.target.value as AlertRuleKind;
                setKind(next);
                setThreshold(isRate(next) ? '20' : '100');
              }}
            >
              {(Object.keys(KINDS) as AlertRuleKind[]).map((k) => (
                <option key={k} value={k}>
                  {KINDS[k]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label={rate ? 'Threshold (%)' : 'Threshold (jobs waiting)'}>
          {(control) => (
            <input
              {...control}
              type="number"
              min={rate ? 0.1 : 1}
              max={rate ? 100 : undefined}
              step={rate ? 0.1 : 1}
              value={threshold}
              onChange={(e) => setThreshold(e.target.value)}
              required
            />
          )}
        </Field>
        {rate && (
          <>
            <Field label="Window (minutes)">
              {(control) => (
                <input
                  {...control}
                  type="number"
                  min={1}
                  max={1440}
                  value={windowMinutes}
                  onChange={(e) => setWindowMinutes(e.target.value)}
                  required
                />
              )}
            </Field>
            <Field label="At least" hint={kind === 'error-rate' ? 'exchanges in the window' : 'conversations started'}>
              {(control) => (
                <input
                  {...control}
                  type="number"
                  min={1}
                  value={minCount}
                  onChange={(e) => setMinCount(e.target.value)}
                  required
                />
              )}
            </Field>
            <Field label="Bot">
              {(control) => (
                <select {...control} value={botId} onChange={(e) => setBotId(e.target.value)}>
                  <option value="">Each bot of the account</option>
                  {bots.map((b) => (
                    <option key={b.id} value={b.id}>
                      {b.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </>
        )}
        <button className="btn btn-primary" type="submit" disabled={busy || !threshold}>
          Add rule
        </button>
      </form>
      {error && <Notice tone="error">{error}</Notice>}
    </>
  );
}
