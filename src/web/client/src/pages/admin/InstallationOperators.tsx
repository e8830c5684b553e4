import { useMemo, useState } from 'react';
import { adminApi } from '../../lib/api';
import { useAccess } from '../../lib/access';
import { dateTime } from '../../lib/format';
import { useAsync, useSubmit } from '../../lib/use-async';
import type { Operator } from '../../lib/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { LoginField } from '../../components/LoginField';
import { Check, Field } from '../../components/Field';
import { Empty, Loaded, Notice } from '../../components/States';

/**
 * The installation's operators (super-admins'): who may sign in to the console at all. Roles on
 * accounts are given by each account's owners, on its Set-up page; this page only adds and
 * removes people, and says who is a super-admin.
 */
export function InstallationOperators({ token }: { token: string }) {
  const api = useMemo(() => adminApi(token), [token]);
  const operators = useAsync(api.operators);
  const { me } = useAccess();
  const [removing, setRemoving] = useState<Operator | null>(null);

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h1>Operators</h1>
          <p className="muted">
            Everyone who may sign in to this console. Super-admins operate every account; the others see the accounts
            where an owner gave them a role.
          </p>
        </div>
      </div>
      <Loaded state={operators} loading="Loading operators…" failed="Could not load the operators">
        {(list) =>
          list.length ? (
            <DataTable
              className="card"
              caption="Operators of the installation"
              columns={['Operator', 'Signs in with', 'Roles', 'Added']}
            >
              {list.map((o) => (
                <tr key={o.id} data-operator={o.login}>
                  <td data-label="Operator">
                    <strong>{o.name}</strong> <span className="muted small">{o.login}</span>
                    {o.superAdmin && <div className="muted small">super-admin</div>}
                  </td>
                  <td data-label="Signs in with">{o.hasPassword ? 'password' : 'single sign-on only'}</td>
                  <td data-label="Roles">
                    {Object.entries(o.roles)
                      .map(([acc, role]) => `${acc}: ${role}`)
                      .join(', ') || <span className="muted">{o.superAdmin ? 'every account' : 'none yet'}</span>}
                  </td>
                  <td data-label="Added">{dateTime(o.createdAt)}</td>
                  <td className="row-actions">
                    {/* The server refuses removing oneself: not offered. */}
                    {o.id !== me?.id && (
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => setRemoving(o)}
                        aria-label={`Remove ${o.login}`}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
          ) : (
            <Empty title="No operators yet">
              Add the first one below. Until then, the admin token is the only way in.
            </Empty>
          )
        }
      </Loaded>
      <AddOperator api={api} onAdded={operators.reload} />
      {removing && (
        <ConfirmDialog
          title={`Remove ${removing.login}?`}
          confirm="Remove operator"
          confirming="Removing…"
          refused="Not removed"
          act={() => api.removeOperator(removing.id)}
          onDone={() => {
            setRemoving(null);
            operators.reload();
          }}
          onClose={() => setRemoving(null)}
        >
          <p>
            They can no longer sign in, their roles on every account go, and a session they have open ends at its next
            request.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}

function AddOperator({ api, onAdded }: { api: ReturnType<typeof adminApi>; onAdded(): void }) {
  const [login, setLogin] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [superAdmin, setSuperAdmin] = useState(false);
  const [added, setAdded] = useState<string | null>(null);
  const { busy, error, submit } = useSubmit(async () => {
    setAdded(null);
    const operator = await api.createOperator({
      login: login.trim(),
      ...(name.trim() ? { name: name.trim() } : {}),
      ...(password ? { password } : {}),
      superAdmin,
    });
    setAdded(
      `${operator.login} added${operator.superAdmin ? ' as a super-admin' : ''}. ${
        operator.superAdmin ? '' : 'An account’s owner gives them a role there, on its Set-up page.'
      }`,
    );
    setLogin('');
    setName('');
    setPassword('');
    setSuperAdmin(false);
    onAdded();
  });
  return (
    <section className="card setup-card" aria-labelledby="add-operator-title">
      <h2 id="add-operator-title">Add an operator</h2>
      <form className="form setup-form" onSubmit={submit} aria-label="Add an operator">
        <LoginField label="Login" hint="Their email or a login name" value={login} onChange={setLogin} />
        <Field label="Name" hint="How the console shows them (the login when empty)">
          {(control) => (
            <input
              {...control}
              value={name}
              onChange={(e) => setName(e.target.value)}
              maxLength={255}
              autoComplete="off"
            />
          )}
        </Field>
        <Field label="Password" hint="At least 8 characters; empty: they sign in through single sign-on only">
          {(control) => (
            <input
              {...control}
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              minLength={8}
              maxLength={1024}
              autoComplete="new-password"
            />
          )}
        </Field>
        <Check
          label="Super-admin"
          hint="Operates every account and the installation: accounts, operators"
          checked={superAdmin}
          onChange={setSuperAdmin}
        />
        <div>
          <button className="btn btn-primary" type="submit" disabled={busy || !login.trim()}>
            Add operator
          </button>
        </div>
      </form>
      {error && <Notice tone="error">{error}</Notice>}
      {added && <Notice tone="success">{added}</Notice>}
    </section>
  );
}
