/**
 * Who is signed in. An operator's session is the server's: an httpOnly cookie this page cannot
 * read, shared by every tab and kept across browser restarts, so on load the server is asked
 * whether it is still on. An agent's bearer stays in sessionStorage, so a reload keeps it while
 * closing the tab ends it. Consumer chats do not use this: their token lives with the
 * conversation (see pages/chat).
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { ApiError, OPERATOR_SESSION_ENDED, errorText, operatorSession } from './api';
import type { AgentUser } from './types';

export type Session =
  | { kind: 'admin'; expiresAt: number }
  | { kind: 'agent'; accountId: string; token: string; user: AgentUser };

interface SessionValue {
  session: Session | null;
  /** True while the server is asked, on load, whether this browser's operator session is on. */
  checking: boolean;
  signIn(session: Session): void;
  /** Ends the session (for an operator, on the server: every tab); does nothing when none is on. */
  signOut(reason?: string): void;
  /** Why the last session ended (expired token...), shown once on the sign-in screen. */
  notice: string | null;
}

const KEY = 'botbridge.session';
const SessionContext = createContext<SessionValue | null>(null);

function loadAgent(): Session | null {
  try {
    const raw = window.sessionStorage.getItem(KEY);
    const stored = raw ? (JSON.parse(raw) as Session) : null;
    // An operator's entry is from before sessions were the server's: its bearer is not used.
    return stored?.kind === 'agent' ? stored : null;
  } catch {
    return null;
  }
}

const ENDED = 'Your operator session has ended (signed out in another tab, or unused too long). Sign in again.';

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(loadAgent);
  const [checking, setChecking] = useState(session === null);
  const [notice, setNotice] = useState<string | null>(null);
  // What signOut acts on, current at once: several requests refused together sign out once.
  const current = useRef(session);
  const checkOnLoad = useRef(checking);

  useEffect(() => {
    if (!checkOnLoad.current) return;
    let live = true;
    operatorSession.current().then(
      (times) => {
        if (!live) return;
        current.current = { kind: 'admin', expiresAt: times.expiresAt };
        setSession(current.current);
        setChecking(false);
      },
      (error: unknown) => {
        if (!live) return;
        if (!(error instanceof ApiError && error.status === 401))
          setNotice(`Could not ask the server whether this browser is signed in: ${errorText(error)}`);
        setChecking(false);
      },
    );
    return () => {
      live = false;
    };
  }, []);

  const signIn = useCallback((next: Session) => {
    if (next.kind === 'agent') window.sessionStorage.setItem(KEY, JSON.stringify(next));
    current.current = next;
    setNotice(null);
    setSession(next);
  }, []);

  const signOut = useCallback((reason?: string) => {
    const ending = current.current;
    if (!ending) return;
    current.current = null;
    window.sessionStorage.removeItem(KEY);
    const done = (message: string | null) => {
      setNotice(message);
      setSession(null);
    };
    if (ending.kind !== 'admin') return done(reason ?? null);
    // Signed out only once the server says so: until then, any tab may still use the cookie.
    operatorSession.signOut().then(
      () => done(reason ?? null),
      (error: unknown) =>
        done(
          `Signing out did not reach the server (${errorText(error)}): this browser may still be signed in. Sign out again once the server is back.`,
        ),
    );
  }, []);

  useEffect(() => {
    const ended = () => signOut(ENDED);
    window.addEventListener(OPERATOR_SESSION_ENDED, ended);
    return () => window.removeEventListener(OPERATOR_SESSION_ENDED, ended);
  }, [signOut]);

  const value = useMemo(
    () => ({ session, checking, signIn, signOut, notice }),
    [session, checking, signIn, signOut, notice],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
