import { useCallback, useState } from 'react';
import { errorText, type AdminApi } from '../../lib/api';
import { useAccess } from '../../lib/access';
import { ago, dateTime } from '../../lib/format';
import { useAsync, useSubmit } from '../../lib/use-async';
import type { ApiToken, IssuedApiToken, Role } from '../../lib/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { LoginField } from '../../components/LoginField';
import { Field } from '../../components/Field';
import { Empty, Loaded, Notice } from '../../components/States';

const ROLES: readonly Role[] = ['viewer', 'admin', 'owner'];
const ROLE_TEXT: Record<Role, string> = {
  viewer: 'viewer: reads bots, dashboards, conversations and logs',
  admin: 'admin: also changes bots and set-up, tests bots',
  owner: 'owner: also decides who operates the account',
};

/**
 * Who operates the account and with which role (its owners'): roles are given by login to
 * operators a super-admin has added. The server refuses a role higher than the giver's own, and
 * its reason is shown.
 */
export function OperatorsCard({ api, accountId }: { api: AdminApi; accountId: string }) {
  const load = useCallback(() => api.accountOperators(accountId), [api, accountId]);
  const operators = useAsync(load);
  const { me, reload: reloadAccess } = useAccess();
  const [failure, setFailure] = useState<string | null>(null);
  // Changing one's own role changes what this console may show.
  const changed = (operatorId: string) => {
    operators.reload();
    if (operatorId === me?.id) reloadAccess();
  };
  const change = async (operatorId: string, login: string, role: Role) => {
    setFailure(null);
    try {
      await api.setOperatorRole(accountId, login, role);
      changed(operatorId);
    } catch (e) {
      setFailure(`Role not changed: ${errorText(e)}`);
    }
  };
  const remove = async (operatorId: string, login: string) => {
    if (!window.confirm(`Take ${login}’s role on ${accountId} away? They no longer see this account.`)) return;
    setFailure(null);
    try {
      await api.removeOperatorRole(accountId, operatorId);
      changed(operatorId);
    } catch (e) {
      setFailure(`Not removed: ${errorText(e)}`);
    }
  };

  return (
    <section className="card setup-card" aria-labelledby="operators-title">
      <h2 id="operators-title">Operators</h2>
      <p className="muted small">
        People who operate account <strong>{accountId}</strong> in this console, each with a role: viewers read, admins
        also change bots and set-up, owners also decide who operates the account. Super-admins operate every account.
      </p>
      <Loaded state={operators} loading="Loading operators…" failed="Could not load the operators">
        {(list) =>
          list.length ? (
            <DataTable caption={`Operators of account ${accountId}`} columns={['Operator', 'Role']}>
              {list.map((o) => (
                <tr key={o.id} data-operator={o.login}>
                  <td data-label="Operator">
                    <strong>{o.name}</strong> <span className="muted small">{o.login}</span>
                    {o.superAdmin && <div className="muted small">super-admin</div>}
                  </td>
                  <td data-label="Role">
                    <select
                      className="role-select"
                      aria-label={`Role of ${o.login}`}
                      value={o.roles[accountId] ?? 'viewer'}
                      onChange={(e) => void change(o.id, o.login, e.target.value as Role)}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td className="row-actions">
                    <button
                      type="button"
                      className="btn btn-small"
                      onClick={() => void remove(o.id, o.login)}
                      aria-label={`Remove ${o.login} from ${accountId}`}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </DataTable>
          ) : (
            <Empty title="No operators yet">Give an operator a role by their login.</Empty>
          )
        }
      </Loaded>
      {failure && <Notice tone="error">{failure}</Notice>}
      <AddOperatorRole api={api} accountId={accountId} onAdded={changed} />
    </section>
  );
}

function AddOperatorRole({
  api,
  accountId,
  onAdded,
}: {
  api: AdminApi;
  accountId: string;
  onAdded(operatorId: string): void;
}) {
  const [login, setLogin] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const { busy, error, submit } = useSubmit(async () => {
    const operator = await api.setOperatorRole(accountId, login.trim(), role);
    setLogin('');
    onAdded(operator.id);
  });
  return (
    <>
      <form className="form form-inline" onSubmit={submit} aria-label="Add an operator">
        <LoginField
          label="Operator login"
          hint="Their email or login name: a super-admin adds operators to the installation"
          value={login}
          onChange={setLogin}
        />
        <RoleField value={role} onChange={setRole} />
        <button className="btn btn-primary" type="submit" disabled={busy || !login.trim()}>
          Give role
        </button>
      </form>
      {error && <Notice tone="error">{error}</Notice>}
    </>
  );
}

function RoleField({ value, onChange }: { value: Role; onChange(role: Role): void }) {
  return (
    <Field label="Role">
      {(control) => (
        <select {...control} value={value} onChange={(e) => onChange(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>
              {ROLE_TEXT[r]}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/**
 * Tokens for automation, one role on this account each (its owners'). The token is shown once,
 * when created; the list shows when each was last used, so an unused one can be revoked.
 */
export function ApiTokensCard({ api, accountId }: { api: AdminApi; accountId: string }) {
  const load = useCallback(() => api.apiTokens(accountId), [api, accountId]);
  const tokens = useAsync(load);
  const [issued, setIssued] = useState<IssuedApiToken | null>(null);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const { busy, error, submit } = useSubmit(async () => {
    setIssued(await api.createApiToken(accountId, { name: name.trim(), role }));
    setName('');
    tokens.reload();
  });
  const now = Date.now();

  return (
    <section className="card setup-card" aria-labelledby="api-tokens-title">
      <h2 id="api-tokens-title">API tokens</h2>
      <p className="muted small">
        For scripts and automation: each token has one role on this account and is sent as{' '}
        <code>Authorization: Bearer bbt_…</code> to the admin API. It is shown once, when created.
      </p>
      {issued && (
        <div className="secret-once" role="status">
          <Notice tone="warning">Copy the token “{issued.name}” now: it is not shown again.</Notice>
          <dl className="pairs">
            <dt>Token</dt>
            <dd>
              <code data-testid="api-token">{issued.token}</code>{' '}
              <button
                type="button"
                className="btn btn-small"
                onClick={() => void navigator.clipboard?.writeText(issued.token).catch(() => undefined)}
              >
                Copy
              </button>
            </dd>
          </dl>
          <button type="button" className="btn btn-small" onClick={() => setIssued(null)}>
            I have copied it
          </button>
        </div>
      )}
      <Loaded state={tokens} loading="Loading API tokens…" failed="Could not load the API tokens">
        {(list) =>
          list.length ? (
            <DataTable
              caption={`API tokens of account ${accountId}`}
              columns={['Token', 'Role', 'Created', 'Last used']}
            >
              {list.map((t) => (
                <tr key={t.id} data-token={t.name} className={t.revokedAt ? 'token-revoked' : undefined}>
                  <td data-label="Token">
                    <strong>{t.name}</strong>
                  </td>
                  <td data-label="Role">{t.role}</td>
                  <td data-label="Created">
                    <span title={dateTime(t.createdAt)}>{ago(t.createdAt, now)}</span>
                    <div className="muted small">by {t.createdBy}</div>
                  </td>
                  <td data-label="Last used">
                    {t.lastUsedAt ? (
                      <span title={dateTime(t.lastUsedAt)}>{ago(t.lastUsedAt, now)}</span>
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                  <td className="row-actions">
                    {t.revokedAt ? (
                      <span className="muted small">revoked {ago(t.revokedAt, now)}</span>
                    ) : (
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => setRevoking(t)}
                        aria-label={`Revoke ${t.name}`}
                      >
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
          ) : (
            <Empty title="No API tokens yet">Create one for a script that manages this account’s bots.</Empty>
          )
        }
      </Loaded>
      <form className="form form-inline" onSubmit={submit} aria-label="New API token">
        <Field label="Token name" hint="What uses it: a deploy script, monitoring">
          {(control) => (
            <input {...control} value={name} onChange={(e) => setName(e.target.value)} maxLength={255} required />
          )}
        </Field>
        <RoleField value={role} onChange={setRole} />
        <button className="btn btn-primary" type="submit" disabled={busy || !name.trim()}>
          Create token
        </button>
      </form>
      {error && <Notice tone="error">{error}</Notice>}
      {revoking && (
        <ConfirmDialog
          title={`Revoke “${revoking.name}”?`}
          confirm="Revoke token"
          confirming="Revoking…"
          refused="Not revoked"
          act={() => api.revokeApiToken(accountId, revoking.id)}
          onDone={() => {
            setRevoking(null);
            tokens.reload();
          }}
          onClose={() => setRevoking(null)}
        >
          <p>
            Whatever uses it is refused from its next request on, on every instance. A revoked token cannot be brought
            back: create a new one instead.
          </p>
        </ConfirmDialog>
      )}
    </section>
  );
}
