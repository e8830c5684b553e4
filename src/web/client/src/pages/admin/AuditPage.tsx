import { useCallback, useEffect, useMemo, useState, type FormEvent } from 'react';
import { accountAudit, changesBetween, describeAction, type AuditEntry, type AuditQuery } from '../../lib/audit';
import { Link, useRouter } from '../../lib/router';
import { dateTime } from '../../lib/format';
import { useAsync } from '../../lib/use-async';
import { Empty, ErrorState, Loading } from '../../components/States';
import { Field } from '../../components/Field';
import { JsonView } from '../../components/JsonView';
import '../../styles/conversations.css';
import '../../styles/audit.css';
import { TimeRangeFields, fromLocalInput, numberParam, withQuery } from '../../lib/address-filters';

const PAGE_SIZE = 25;

/** The object types the admin API changes, for the filter's choices. */
const OBJECT_TYPES = [
  'bot',
  'skill',
  'app',
  'user',
  'function',
  'api-token',
  'operator',
  'account',
  'test-conversation',
];

/** The filters as the page's address carries them: a search can be bookmarked and shared. */
export function auditQueryFromAddress(search: URLSearchParams): AuditQuery {
  return {
    actor: search.get('actor') || undefined,
    objectType: search.get('objectType') || undefined,
    objectId: search.get('objectId') || undefined,
    from: numberParam(search, 'from'),
    to: numberParam(search, 'to'),
  };
}

export function auditHref(accountId: string, query: AuditQuery = {}): string {
  return withQuery(`/admin/accounts/${encodeURIComponent(accountId)}/audit`, query);
}

/**
 * Who changed what in the account, newest first: each change with who made it, from where,
 * when, whether it was refused, and the object before and after. Filtered by operator, object
 * and time; the filters live in the address.
 */
export function AuditPage({ token, accountId }: { token: string; accountId: string }) {
  const { location, navigate } = useRouter();
  const address = location.search.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: the address string is the identity of the query
  const query = useMemo(() => auditQueryFromAddress(location.search), [address]);
  const load = useCallback(
    () => accountAudit(token, accountId, { ...query, limit: PAGE_SIZE }),
    [token, accountId, query],
  );
  const first = useAsync(load);
  const [older, setOlder] = useState<{ entries: AuditEntry[]; next?: string; loading?: boolean }>({ entries: [] });
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new search starts again from its first page
  useEffect(() => setOlder({ entries: [] }), [load]);
  const next = older.entries.length ? older.next : first.status === 'ready' ? first.value.next : undefined;
  const showOlder = async () => {
    if (!next) return;
    setOlder((o) => ({ ...o, loading: true }));
    const page = await accountAudit(token, accountId, { ...query, limit: PAGE_SIZE, cursor: next }).catch(() => null);
    setOlder((o) => (page ? { entries: [...o.entries, ...page.entries], next: page.next } : { ...o, loading: false }));
  };
  const entries = first.status === 'ready' ? [...first.value.entries, ...older.entries] : [];
  const actors = useMemo(() => [...new Set(entries.map((e) => e.actor.name))].sort(), [entries]);

  const search = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const text = (name: string) => String(form.get(name) ?? '').trim() || undefined;
    navigate(
      auditHref(accountId, {
        actor: text('actor'),
        objectType: text('objectType'),
        objectId: text('objectId'),
        from: fromLocalInput(form.get('from')),
        to: fromLocalInput(form.get('to')),
      }),
    );
  };
  const filtered = Object.values(query).some((v) => v !== undefined);

  return (
    <div className="page audit-page">
      <div className="page-head">
        <div>
          <h1>Audit log</h1>
          <p className="muted">
            Every change to <strong>{accountId}</strong> through the console or the admin API, refused ones too, newest
            first. Secrets are never shown.
          </p>
        </div>
      </div>
      <form key={address} className="card conversation-filters" aria-label="Filter the audit log" onSubmit={search}>
        <Field label="Operator">
          {(control) => (
            <>
              <input
                {...control}
                name="actor"
                list="audit-actors"
                defaultValue={query.actor ?? ''}
                placeholder="Login, api-token:name or id"
                maxLength={300}
              />
              <datalist id="audit-actors">
                {actors.map((a) => (
                  <option key={a} value={a} />
                ))}
              </datalist>
            </>
          )}
        </Field>
        <Field label="Object type">
          {(control) => (
            <select {...control} name="objectType" defaultValue={query.objectType ?? ''}>
              <option value="">Any object</option>
              {OBJECT_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
              {query.objectType && !OBJECT_TYPES.includes(query.objectType) && (
                <option value={query.objectType}>{query.objectType}</option>
              )}
            </select>
          )}
        </Field>
        <Field label="Object id">
          {(control) => <input {...control} name="objectId" defaultValue={query.objectId ?? ''} maxLength={300} />}
        </Field>
        <TimeRangeFields from={query.from} to={query.to} labels={['From', 'Before']} />
        <div className="filter-actions">
          <button type="submit" className="btn btn-primary">
            Filter
          </button>
          {filtered && (
            <Link to={auditHref(accountId)} className="btn btn-ghost">
              Clear
            </Link>
          )}
        </div>
      </form>

      {first.status === 'loading' && <Loading>Reading the audit log…</Loading>}
      {first.status === 'error' && (
        <ErrorState error={first.error} title="Could not read the audit log" onRetry={first.reload} />
      )}
      {first.status === 'ready' && entries.length === 0 && (
        <Empty title={filtered ? 'No entry matches' : 'No changes yet'}>
          {filtered
            ? 'Nothing in this account’s log matches every filter.'
            : 'Changes to the account’s bots, skills, apps, operators and tokens show here as they are made.'}
        </Empty>
      )}
      {entries.length > 0 && (
        <ol className="audit-list" aria-label="Audit entries, newest first">
          {entries.map((e) => (
            <AuditItem key={e.id} entry={e} accountId={accountId} />
          ))}
        </ol>
      )}
      {next && (
        <button type="button" className="btn show-older" onClick={showOlder} disabled={older.loading}>
          {older.loading ? 'Loading…' : 'Show older entries'}
        </button>
      )}
    </div>
  );
}

const WHO_KIND: Record<AuditEntry['actor']['kind'], string> = {
  operator: 'Operator',
  'api-token': 'API token',
  'admin-token': 'Admin token',
  anonymous: 'Unknown',
};

function AuditItem({ entry, accountId }: { entry: AuditEntry; accountId: string }) {
  const refused = entry.outcome >= 400;
  const changes =
    entry.before !== undefined || entry.after !== undefined ? changesBetween(entry.before, entry.after) : [];
  return (
    <li className={`card audit-entry${refused ? ' audit-refused' : ''}`} data-entry={entry.id}>
      <div className="audit-line">
        <span className="audit-what">
          <strong>{entry.actor.name}</strong> {describeAction(entry)}
          {entry.object.id && (
            <>
              {' '}
              <Link
                to={auditHref(accountId, { objectType: entry.object.type, objectId: entry.object.id })}
                className="mono audit-object"
                title="This object’s history"
              >
                {entry.object.id}
              </Link>
            </>
          )}
        </span>
        <span className={`badge ${refused ? 'badge-audit-refused' : 'badge-audit-done'}`}>
          {refused ? `Refused · ${entry.outcome}` : `Done · ${entry.outcome}`}
        </span>
      </div>
      <dl className="audit-facts">
        <div>
          <dt>When</dt>
          <dd>
            <time dateTime={new Date(entry.at).toISOString()}>{dateTime(entry.at)}</time>
          </dd>
        </div>
        <div>
          <dt>Who</dt>
          <dd>
            {WHO_KIND[entry.actor.kind]}
            {entry.actor.id && <span className="muted mono small"> {entry.actor.id.slice(0, 8)}</span>}
          </dd>
        </div>
        <div>
          <dt>From</dt>
          <dd className="mono">{entry.address}</dd>
        </div>
        <div>
          <dt>Action</dt>
          <dd className="mono small">{entry.action}</dd>
        </div>
      </dl>
      {(entry.before !== undefined || entry.after !== undefined) && (
        <details className="audit-diff">
          <summary>
            Before → after{' '}
            <span className="muted small">
              ({changes.length} {changes.length === 1 ? 'change' : 'changes'})
            </span>
          </summary>
          {changes.length > 0 && (
            <table className="data-table compact audit-changes" aria-label="What changed">
              <thead>
                <tr>
                  <th scope="col">Field</th>
                  <th scope="col">Before</th>
                  <th scope="col">After</th>
                </tr>
              </thead>
              <tbody>
                {changes.map((c) => (
                  <tr key={c.path}>
                    <td className="mono" data-label="Field">
                      {c.path}
                    </td>
                    <td className="mono audit-old" data-label="Before">
                      {shown(c.before)}
                    </td>
                    <td className="mono audit-new" data-label="After">
                      {shown(c.after)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <div className="audit-sides">
            <JsonView value={entry.before ?? null} label="Before" />
            <JsonView value={entry.after ?? null} label="After" />
          </div>
        </details>
      )}
    </li>
  );
}

const shown = (value: unknown) => (value === undefined ? '—' : JSON.stringify(value));
