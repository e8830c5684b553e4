import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, adminApi } from '../../lib/api';
import { Link, useRouter } from '../../lib/router';
import { useSession } from '../../lib/session';
import { useAccess } from '../../lib/access';
import { Logo } from '../../components/Logo';
import type { Account } from '../../lib/types';
import '../../styles/admin.css';

interface Props {
  token: string;
  accountId?: string;
  section?: 'bots' | 'conversations' | 'tester' | 'setup' | 'audit';
  children: ReactNode;
}

/** The operator's frame: account switcher, the sections, sign out. */
export function AdminShell({ token, accountId, section, children }: Props) {
  const api = useMemo(() => adminApi(token), [token]);
  const { signOut } = useSession();
  const { navigate } = useRouter();
  const { who, may } = useAccess();
  const [accounts, setAccounts] = useState<Account[] | null>(null);

  useEffect(() => {
    let live = true;
    api.accounts().then(
      (list) => live && setAccounts(list),
      (e: unknown) => {
        // The token was rotated or the server restarted with another one.
        if (e instanceof ApiError && e.status === 401) signOut('The admin token is no longer accepted. Sign in again.');
      },
    );
    return () => {
      live = false;
    };
  }, [api, signOut]);

  const acc = accountId ? encodeURIComponent(accountId) : '';
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/admin" className="topbar-brand" aria-label="botbridge accounts">
          <Logo small />
        </Link>
        {accountId && (
          <>
            <label className="account-switch">
              <span className="visually-hidden">Account</span>
              <select
                value={accountId}
                onChange={(e) => navigate(`/admin/accounts/${encodeURIComponent(e.target.value)}/${section ?? 'bots'}`)}
                aria-label="Account"
              >
                {(accounts?.some((a) => a.accountId === accountId)
                  ? accounts
                  : [...(accounts ?? []), { accountId }]
                ).map((a) => (
                  <option key={a.accountId} value={a.accountId}>
                    {a.accountId}
                  </option>
                ))}
              </select>
            </label>
            <nav className="topnav" aria-label="Sections">
              <Link to={`/admin/accounts/${acc}/bots`} aria-current={section === 'bots' ? 'page' : undefined}>
                Bots
              </Link>
              <Link
                to={`/admin/accounts/${acc}/conversations`}
                aria-current={section === 'conversations' ? 'page' : undefined}
              >
                Conversations
              </Link>
              {may('account:write', accountId) && (
                <Link to={`/admin/accounts/${acc}/tester`} aria-current={section === 'tester' ? 'page' : undefined}>
                  Tester
                </Link>
              )}
              <Link to={`/admin/accounts/${acc}/setup`} aria-current={section === 'setup' ? 'page' : undefined}>
                Set-up
              </Link>
              {may('account:manage', accountId) && (
                <Link to={`/admin/accounts/${acc}/audit`} aria-current={section === 'audit' ? 'page' : undefined}>
                  Audit log
                </Link>
              )}
            </nav>
          </>
        )}
        <span className="topbar-spacer" />
        {/* The server's own page (Swagger UI over /openapi.json), outside the console's router. */}
        <a href="/reference" className="topbar-link" target="_blank" rel="noreferrer">
          API reference
        </a>
        {may('installation:manage') && (
          <Link to="/admin/operators" className="topbar-link">
            Operators
          </Link>
        )}
        <span className="topbar-who" title="Signed in as">
          {who}
        </span>
        <button type="button" className="btn btn-ghost" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main" className="content">
        {children}
      </main>
    </div>
  );
}
