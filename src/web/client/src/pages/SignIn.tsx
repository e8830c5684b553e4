import { useState } from 'react';
import { ApiError, agentLogin, errorText, operatorSession } from '../lib/api';
import { useRouter } from '../lib/router';
import { useSession } from '../lib/session';
import { useSubmit } from '../lib/use-async';
import { Notice } from '../components/States';
import { Logo } from '../components/Logo';
import { SsoSignIn } from './SsoSignIn';

const LAST_ACCOUNT = 'botbridge.agent.lastAccount';

/** Two doors: operators with their login or the admin token (once per browser), agents with their login (per tab). */
export function SignIn() {
  const { notice } = useSession();
  return (
    <main className="signin">
      <header className="signin-header">
        <h1 className="visually-hidden">Sign in to botbridge</h1>
        <Logo />
        <p className="muted">
          Third-Party Bots, self-hosted. Sign in to configure and test bots, or to take conversations.
        </p>
      </header>
      {notice && <Notice tone="warning">{notice}</Notice>}
      <div className="signin-grid">
        <AdminSignIn />
        <AgentSignIn />
      </div>
    </main>
  );
}

function AdminSignIn() {
  const { signIn } = useSession();
  const { navigate } = useRouter();
  const [token, setToken] = useState('');
  const { busy, error, submit } = useSubmit(
    async () => {
      const { expiresAt } = await operatorSession.signIn(token.trim());
      signIn({ kind: 'admin', expiresAt });
      navigate('/admin');
    },
    (e) => (e instanceof ApiError && e.status === 401 ? 'That admin token is not valid.' : errorText(e)),
  );

  return (
    <section className="card signin-card" aria-labelledby="admin-signin-title">
      <h2 id="admin-signin-title">Operator</h2>
      <p className="muted">
        Bots, test connection, the conversation tester: what your role on each account allows. This browser then stays
        signed in, in every tab, until you sign out or leave it unused.
      </p>
      <SsoSignIn />
      <OperatorPasswordSignIn />
      <p className="signin-or muted">Or with the admin token printed when the server first started:</p>
      <form onSubmit={submit} className="form">
        <label className="field">
          <span>Admin token</span>
          <input
            type="password"
            autoComplete="current-password"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            required
            name="adminToken"
          />
        </label>
        {error && <Notice tone="error">{error}</Notice>}
        <button className="btn btn-primary" type="submit" disabled={busy || !token.trim()}>
          {busy ? 'Signing in…' : 'Sign in as operator'}
        </button>
      </form>
    </section>
  );
}

/** A named operator: their login (an email) and password, as a super-admin set them. */
function OperatorPasswordSignIn() {
  const { signIn } = useSession();
  const { navigate } = useRouter();
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useSubmit(
    async () => {
      const { expiresAt } = await operatorSession.signInAs(login.trim(), password);
      signIn({ kind: 'admin', expiresAt });
      navigate('/admin');
    },
    (e) => (e instanceof ApiError && e.status === 401 ? 'Wrong login or password.' : errorText(e)),
  );
  return (
    <form onSubmit={submit} className="form" aria-label="Sign in with login and password">
      <label className="field">
        <span>Login (email)</span>
        <input
          value={login}
          onChange={(e) => setLogin(e.target.value)}
          required
          name="operatorLogin"
          autoComplete="username"
        />
      </label>
      <label className="field">
        <span>Operator password</span>
        <input
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
          name="operatorPassword"
          autoComplete="current-password"
        />
      </label>
      {error && <Notice tone="error">{error}</Notice>}
      <button className="btn btn-primary" type="submit" disabled={busy || !login.trim() || !password}>
        {busy ? 'Signing in…' : 'Sign in with password'}
      </button>
    </form>
  );
}

function AgentSignIn() {
  const { signIn } = useSession();
  const { navigate } = useRouter();
  const [accountId, setAccountId] = useState(() => window.localStorage.getItem(LAST_ACCOUNT) ?? 'demo');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useSubmit(
    async () => {
      const acc = accountId.trim();
      const { token, user } = await agentLogin(acc, username.trim(), password);
      window.localStorage.setItem(LAST_ACCOUNT, acc);
      signIn({ kind: 'agent', accountId: acc, token, user });
      navigate('/agent');
    },
    (e) => {
      if (e instanceof ApiError && e.status === 401) return 'Wrong username or password.';
      if (e instanceof ApiError && e.status === 404) return `There is no account “${accountId.trim()}”.`;
      return errorText(e);
    },
  );

  return (
    <section className="card signin-card" aria-labelledby="agent-signin-title">
      <h2 id="agent-signin-title">Agent</h2>
      <p className="muted">
        Take conversations from your skills’ queues, read the bot’s history, reply, transfer and close.
      </p>
      <form onSubmit={submit} className="form">
        <label className="field">
          <span>Account</span>
          <input
            value={accountId}
            onChange={(e) => setAccountId(e.target.value)}
            required
            name="account"
            autoComplete="organization"
          />
        </label>
        <label className="field">
          <span>Username</span>
          <input
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
            name="username"
            autoComplete="username"
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            name="password"
            autoComplete="current-password"
          />
        </label>
        {error && <Notice tone="error">{error}</Notice>}
        <button
          className="btn btn-primary"
          type="submit"
          disabled={busy || !username.trim() || !password || !accountId.trim()}
        >
          {busy ? 'Signing in…' : 'Sign in as agent'}
        </button>
      </form>
    </section>
  );
}
