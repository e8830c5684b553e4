/**
 * What the signed-in operator may do, so pages show only the controls that would work. The
 * server decides (every admin route checks its permission and refuses 403 naming it); this is
 * the same rule applied ahead of time: `refusal` is the server's own pure module, compiled into
 * the console, so the two cannot disagree about a role.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { type Actor, refusal as refusalOf } from '../../../../operators/permissions.js';
import { OPERATOR_SESSION, adminApi } from './api';
import { useSession } from './session';
import type { Me, Permission } from './types';
import '../styles/operators.css';

interface AccessValue {
  /** The caller once GET /me has answered; null before (or without an operator session). */
  me: Me | null;
  /** Why GET /me failed, when it did. */
  error: unknown;
  reload(): void;
  /** Why the caller may not use what needs `permission` (on `accountId`), in the server's words; undefined when they may. */
  refusal(permission: Permission, accountId?: string): string | undefined;
  may(permission: Permission, accountId?: string): boolean;
  /** How the top bar names the caller. */
  who: string;
}

const AccessContext = createContext<AccessValue | null>(null);

/** The caller as permissions.ts reasons about them, from what GET /me answers. */
export function actorOf(me: Me): Actor {
  switch (me.kind) {
    case 'admin-token':
      return { kind: 'admin-token' };
    case 'operator':
      return { kind: 'operator', id: me.id ?? '', login: me.login ?? '', superAdmin: me.superAdmin, roles: me.roles };
    case 'api-token': {
      const [accountId, role] = Object.entries(me.roles)[0] ?? ['', 'viewer'];
      return { kind: 'api-token', id: me.id ?? '', name: me.name ?? '', accountId, role };
    }
  }
}

export function whoOf(me: Me | null): string {
  if (!me) return 'Operator';
  if (me.kind === 'admin-token') return 'admin token';
  return me.name && me.name !== me.login ? `${me.name} (${me.login})` : (me.login ?? me.name ?? 'Operator');
}

/**
 * Loads GET /me once per operator session: again when the session changes (signing in as
 * someone else) or on reload() (after an owner changes their own roles).
 */
export function AccessProvider({ children }: { children: ReactNode }) {
  const { session } = useSession();
  const [loaded, setLoaded] = useState<{ for: { operator: unknown } | null; me: Me | null; error: unknown }>({
    for: null,
    me: null,
    error: null,
  });
  const [generation, setGeneration] = useState(0);
  const operator = session?.kind === 'admin' ? session : null;
  // One question per session and reload: an answer to an earlier one is not this one's.
  const asked = useMemo(() => (operator ? { operator, generation } : null), [operator, generation]);

  useEffect(() => {
    if (!asked) return;
    let live = true;
    adminApi(OPERATOR_SESSION)
      .me()
      .then(
        (me) => live && setLoaded({ for: asked, me, error: null }),
        (error: unknown) => live && setLoaded({ for: asked, me: null, error }),
      );
    return () => {
      live = false;
    };
  }, [asked]);

  // A reload keeps showing the last answer (pages stay put); another session's is not this one's.
  const current = operator && loaded.for?.operator === operator ? loaded : { me: null, error: null };
  const { me, error } = current;
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  const value = useMemo<AccessValue>(() => {
    const actor = me ? actorOf(me) : null;
    const refusal = (permission: Permission, accountId?: string) =>
      actor ? refusalOf(actor, permission, accountId) : 'who you are is not known yet';
    return {
      me,
      error,
      reload,
      refusal,
      may: (permission, accountId) => refusal(permission, accountId) === undefined,
      who: whoOf(me),
    };
  }, [me, error, reload]);
  return <AccessContext.Provider value={value}>{children}</AccessContext.Provider>;
}

export function useAccess(): AccessValue {
  const value = useContext(AccessContext);
  if (!value) throw new Error('useAccess outside AccessProvider');
  return value;
}

/** What stands in for a control or page the caller may not use: the reason, in the server's words. */
export function NotAllowed({ what, reason }: { what: string; reason: string }) {
  return (
    <p className="not-allowed muted small" data-refusal>
      {what} is not available to you: {reason}.
    </p>
  );
}
