import { useMemo, useState } from 'react';
import { adminApi } from '../../lib/api';
import { Link, useRouter } from '../../lib/router';
import { useAsync, useSubmit } from '../../lib/use-async';
import { useAccess } from '../../lib/access';
import { Empty, ErrorState, Loading, Notice } from '../../components/States';

/** The admin picks the account to work in. */
export function AccountPicker({ token }: { token: string }) {
  const api = useMemo(() => adminApi(token), [token]);
  const accounts = useAsync(api.accounts);
  // Accounts are the installation's: only super-admins create them.
  const mayCreate = useAccess().may('installation:manage');

  return (
    <div className="page narrow">
      <div className="page-head">
        <div>
          <h1>Accounts</h1>
          <p className="muted">Pick the account whose bots you want to manage or test.</p>
        </div>
      </div>
      {accounts.status === 'loading' && <Loading>Loading accounts…</Loading>}
      {accounts.status === 'error' && (
        <ErrorState error={accounts.error} title="Could not load accounts" onRetry={accounts.reload} />
      )}
      {accounts.status === 'ready' &&
        (accounts.value.length ? (
          <ul className="account-list" aria-label="Accounts">
            {accounts.value.map((a) => (
              <li key={a.accountId}>
                <Link className="account-item" to={`/admin/accounts/${encodeURIComponent(a.accountId)}/bots`}>
                  <span className="account-name">{a.accountId}</span>
                  <span aria-hidden="true">→</span>
                </Link>
              </li>
            ))}
          </ul>
        ) : (
          <Empty title="No accounts yet">
            {mayCreate
              ? 'Create the first one below; the demo account is created on first start unless DEMO=0.'
              : 'You have no role on an account yet: an account’s owner gives you one.'}
          </Empty>
        ))}
      {mayCreate && <CreateAccount token={token} />}
    </div>
  );
}

function CreateAccount({ token }: { token: string }) {
  const { navigate } = useRouter();
  const [id, setId] = useState('');
  const { busy, error, submit } = useSubmit(async () => {
    await adminApi(token).createAccount(id.trim());
    // A new account has nothing yet: its skills, agents and apps come first.
    navigate(`/admin/accounts/${encodeURIComponent(id.trim())}/setup`);
  });
  return (
    <details className="card create-account">
      <summary>Create an account</summary>
      <form className="form form-inline" onSubmit={submit}>
        <label className="field">
          <span>Account id</span>
          <input
            value={id}
            onChange={(e) => setId(e.target.value)}
            pattern="[A-Za-z0-9_\-]{1,32}"
            title="1–32 letters, digits, - or _"
            required
          />
        </label>
        <button className="btn" type="submit" disabled={busy || !id.trim()}>
          Create
        </button>
      </form>
      {error && <Notice tone="error">{error}</Notice>}
    </details>
  );
}
