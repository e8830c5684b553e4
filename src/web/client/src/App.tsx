import { useEffect, type ReactNode } from 'react';
import { RouterProvider, match, useRouter } from './lib/router';
import { SessionProvider, useSession } from './lib/session';
import { OPERATOR_SESSION } from './lib/api';
import { AccessProvider, NotAllowed, useAccess } from './lib/access';
import { SignIn } from './pages/SignIn';
import { AccountPicker } from './pages/admin/AccountPicker';
import { AdminShell } from './pages/admin/AdminShell';
import { BotsPage } from './pages/admin/BotsPage';
import { BotEditor } from './pages/admin/BotEditor';
import { Tester } from './pages/admin/Tester';
import { SetupPage } from './pages/admin/SetupPage';
import { Dashboard } from './pages/admin/Dashboard';
import { ConversationsPage } from './pages/admin/ConversationsPage';
import { ConversationView } from './pages/admin/ConversationView';
import { AuditPage } from './pages/admin/AuditPage';
import { Workspace } from './pages/agent/Workspace';
import { ChatPage } from './pages/chat/ChatPage';
import { InstallationOperators } from './pages/admin/InstallationOperators';
import { Empty, ErrorState, Loading } from './components/States';

export function App() {
  return (
    <RouterProvider>
      <SessionProvider>
        <AccessProvider>
          <Routes />
        </AccessProvider>
      </SessionProvider>
    </RouterProvider>
  );
}

function Redirect({ to }: { to: string }) {
  const { navigate } = useRouter();
  useEffect(() => navigate(to, { replace: true }), [navigate, to]);
  return null;
}

/** Until the server has said whether this browser's operator session is on. */
function CheckingSession() {
  return (
    <main className="page-center">
      <Loading>Checking sign-in…</Loading>
    </main>
  );
}

/** Admin pages need the operator signed in; anything else goes back to sign-in. */
function RequireAdmin({ children }: { children: (token: string) => ReactNode }) {
  const { session, checking } = useSession();
  if (checking) return <CheckingSession />;
  if (session?.kind !== 'admin') return <Redirect to="/" />;
  return <KnowingWho>{children(OPERATOR_SESSION)}</KnowingWho>;
}

/** Admin pages show what the caller may do, so they wait for who the caller is. */
function KnowingWho({ children }: { children: ReactNode }) {
  const { me, error, reload } = useAccess();
  if (error)
    return (
      <main className="page-center">
        <ErrorState error={error} title="Could not tell who is signed in" onRetry={reload} />
      </main>
    );
  if (!me) return <CheckingSession />;
  return <>{children}</>;
}

/** A page that needs a permission the caller lacks says so instead (the server would refuse it anyway). */
function Permitted({
  permission,
  accountId,
  what,
  children,
}: {
  permission: 'account:write' | 'account:manage' | 'installation:manage';
  accountId?: string;
  what: string;
  children: ReactNode;
}) {
  const reason = useAccess().refusal(permission, accountId);
  if (reason)
    return (
      <div className="page narrow">
        <h1>{what}</h1>
        <NotAllowed what={what} reason={reason} />
      </div>
    );
  return <>{children}</>;
}

function Routes() {
  const { location } = useRouter();
  const { session, checking } = useSession();
  const path = location.pathname;

  useEffect(() => {
    document.title = titleFor(path);
  }, [path]);

  const chat = match('/chat/:acc', path);
  if (chat) return <ChatPage accountId={chat.acc} skill={location.search.get('skill')} />;
  if (path === '/' || path === '') {
    if (checking) return <CheckingSession />;
    if (session?.kind === 'admin') return <Redirect to="/admin" />;
    if (session?.kind === 'agent') return <Redirect to="/agent" />;
    return <SignIn />;
  }
  if (match('/agent', path)) return session?.kind === 'agent' ? <Workspace session={session} /> : <Redirect to="/" />;
  if (match('/admin', path))
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token}>
            <AccountPicker token={token} />
          </AdminShell>
        )}
      </RequireAdmin>
    );
  if (match('/admin/operators', path))
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token}>
            <Permitted permission="installation:manage" what="The installation's operators">
              <InstallationOperators token={token} />
            </Permitted>
          </AdminShell>
        )}
      </RequireAdmin>
    );
  const bots = match('/admin/accounts/:acc/bots', path);
  if (bots) {
    const acc = bots.acc;
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token} accountId={acc} section="bots">
            <BotsPage token={token} accountId={acc} />
          </AdminShell>
        )}
      </RequireAdmin>
    );
  }
  const newBot = match('/admin/accounts/:acc/bots/new', path);
  if (newBot) {
    const acc = newBot.acc;
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token} accountId={acc} section="bots">
            <BotEditor token={token} accountId={acc} />
          </AdminShell>
        )}
      </RequireAdmin>
    );
  }
  const dashboard = match('/admin/accounts/:acc/bots/:id/dashboard', path);
  if (dashboard) {
    const { acc, id } = dashboard;
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token} accountId={acc} section="bots">
            <Dashboard key={id} token={token} accountId={acc} botId={id} />
          </AdminShell>
        )}
      </RequireAdmin>
    );
  }
  const bot = match('/admin/accounts/:acc/bots/:id', path);
  if (bot) {
    const { acc, id } = bot;
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token} accountId={acc} section="bots">
            <BotEditor key={id} token={token} accountId={acc} botId={id} />
          </AdminShell>
        )}
      </RequireAdmin>
    );
  }
  const tester = match('/admin/accounts/:acc/tester', path);
  if (tester) {
    const acc = tester.acc;
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token} accountId={acc} section="tester">
            <Permitted permission="account:write" accountId={acc} what="The conversation tester">
              <Tester token={token} accountId={acc} botId={location.search.get('bot')} />
            </Permitted>
          </AdminShell>
        )}
      </RequireAdmin>
    );
  }
  const conversations = match('/admin/accounts/:acc/conversations', path);
  if (conversations) {
    const acc = conversations.acc;
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token} accountId={acc} section="conversations">
            <ConversationsPage token={token} accountId={acc} />
          </AdminShell>
        )}
      </RequireAdmin>
    );
  }
  const conversation = match('/admin/accounts/:acc/conversations/:id', path);
  if (conversation) {
    const { acc, id } = conversation;
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token} accountId={acc} section="conversations">
            <ConversationView key={id} token={token} accountId={acc} conversationId={id} />
          </AdminShell>
        )}
      </RequireAdmin>
    );
  }
  const setup = match('/admin/accounts/:acc/setup', path);
  if (setup) {
    const acc = setup.acc;
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token} accountId={acc} section="setup">
            <SetupPage token={token} accountId={acc} />
          </AdminShell>
        )}
      </RequireAdmin>
    );
  }
  const audit = match('/admin/accounts/:acc/audit', path);
  if (audit) {
    const acc = audit.acc;
    return (
      <RequireAdmin>
        {(token) => (
          <AdminShell token={token} accountId={acc} section="audit">
            <Permitted permission="account:manage" accountId={acc} what="The audit log">
              <AuditPage token={token} accountId={acc} />
            </Permitted>
          </AdminShell>
        )}
      </RequireAdmin>
    );
  }
  const account = match('/admin/accounts/:acc', path);
  if (account) return <Redirect to={`/admin/accounts/${encodeURIComponent(account.acc)}/bots`} />;
  return (
    <main className="page-center">
      <Empty
        title="Page not found"
        action={
          <a className="btn" href="/">
            Go to sign-in
          </a>
        }
      >
        There is nothing at <code>{path}</code>.
      </Empty>
    </main>
  );
}

function titleFor(path: string): string {
  if (path.startsWith('/chat/')) return 'Chat';
  if (path.startsWith('/agent')) return 'Agent workspace · botbridge';
  if (path.includes('/tester')) return 'Conversation tester · botbridge';
  if (path.endsWith('/setup')) return 'Set-up · botbridge';
  if (path.endsWith('/audit')) return 'Audit log · botbridge';
  if (path === '/admin/operators') return 'Operators · botbridge';
  if (path.endsWith('/dashboard')) return 'Bot dashboard · botbridge';
  if (path.includes('/conversations/')) return 'Conversation · botbridge';
  if (path.endsWith('/conversations')) return 'Conversations · botbridge';
  if (path.includes('/bots')) return 'Bots · botbridge';
  if (path.startsWith('/admin')) return 'Accounts · botbridge';
  return 'Sign in · botbridge';
}
