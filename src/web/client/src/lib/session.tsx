/**
 * Who is signed in. Kept in sessionStorage so a reload keeps the session while closing the tab
 * ends it (these are bearer tokens). Consumer chats do not use this: their token lives with the
 * conversation (see pages/chat).
 */
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import type { AgentUser } from './types';

export type Session =
  | { kind: 'admin'; token: string }
  | { kind: 'agent'; accountId: string; token: string; user: AgentUser };

interface SessionValue {
  session: Session | null;
  signIn(session: Session): void;
  signOut(reason?: string): void;
  /** Why the last session ended (expired token...), shown once on the sign-in screen. */
  notice: string | null;
}

const KEY = 'botbridge.session';
const SessionContext = createContext<SessionValue | null>(null);

function load(): Session | null {
  try {
    const raw = window.sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<Session | null>(load);
  const [notice, setNotice] = useState<string | null>(null);
  const signIn = useCallback((next: Session) => {
    window.sessionStorage.setItem(KEY, JSON.stringify(next));
    setNotice(null);
    setSession(next);
  }, []);
  const signOut = useCallback((reason?: string) => {
    window.sessionStorage.removeItem(KEY);
    setNotice(reason ?? null);
    setSession(null);
  }, []);
  const value = useMemo(() => ({ session, signIn, signOut, notice }), [session, signIn, signOut, notice]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
