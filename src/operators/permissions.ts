/**
 * Who may do what in the admin API and the console: pure functions over data, no I/O. Every admin
 * route names the permission it needs (its `config.permission`; a route without one refuses to
 * register), and a request's actor either has it (on the route's account, for account permissions)
 * or is refused 403 with the permission named.
 */

/** An operator's role on one account: each includes the ones before it. */
export const ROLES = ['viewer', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = {
  /** Read the account: bots and their status, dashboards, conversations, exchange logs, set-up lists. */
  'account:read': 'viewer',
  /** Change the account's bots, skills, agents, apps and functions; test and check bots. */
  'account:write': 'admin',
  /** Decide who operates the account: operators' roles on it, its API tokens. */
  'account:manage': 'owner',
  /** What any signed-in actor may read of the installation: the accounts it operates, error codes. */
  'installation:read': 'viewer',
  /** The installation itself: accounts, operators, signing keys, the whole audit log. Super-admins only. */
  'installation:manage': 'super',
} as const satisfies Record<string, Role | 'super'>;
export type Permission = keyof typeof PERMISSIONS;

/** Who makes a request: its audit identity and what it may do. */
export type Actor =
  /** The admin token (automation, and the first super-admin's creation): everything. */
  | { kind: 'admin-token' }
  | {
      kind: 'operator';
      id: string;
      login: string;
      superAdmin: boolean;
      /** Role per account id. */
      roles: Readonly<Record<string, Role>>;
    }
  /** An API token: one role on one account. */
  | { kind: 'api-token'; id: string; name: string; accountId: string; role: Role };

/** The actor's role on the account (a super-admin and the admin token: owner of every account). */
export function roleOn(actor: Actor, accountId: string): Role | undefined {
  switch (actor.kind) {
    case 'admin-token':
      return 'owner';
    case 'operator':
      return actor.superAdmin ? 'owner' : actor.roles[accountId];
    case 'api-token':
      return actor.accountId === accountId ? actor.role : undefined;
  }
}

export function isSuper(actor: Actor): boolean {
  return actor.kind === 'admin-token' || (actor.kind === 'operator' && actor.superAdmin);
}

const atLeast = (role: Role | undefined, needed: Role) =>
  role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(needed);

/**
 * Why the actor may not use a route needing `permission` (on `accountId`, for account
 * permissions), in words that name what is missing; undefined when it may.
 */
export function refusal(actor: Actor, permission: Permission, accountId?: string): string | undefined {
  const needed = PERMISSIONS[permission];
  if (permission === 'installation:read') return undefined;
  if (needed === 'super') return isSuper(actor) ? undefined : `needs '${permission}': installation super-admins only`;
  if (accountId === undefined) return `needs '${permission}' on an account the route does not name`;
  const role = roleOn(actor, accountId);
  if (atLeast(role, needed)) return undefined;
  return `needs '${permission}' on account '${accountId}' (role ${needed} or above); ${
    role ? `yours there is ${role}` : 'you have no role there'
  }`;
}

/** The accounts the actor may see in the accounts list (undefined: all of them). */
export function visibleAccounts(actor: Actor): readonly string[] | undefined {
  switch (actor.kind) {
    case 'admin-token':
      return undefined;
    case 'operator':
      return actor.superAdmin ? undefined : Object.keys(actor.roles);
    case 'api-token':
      return [actor.accountId];
  }
}

/** Whether a role may be handed on by an actor (a token or a role no higher than the actor's own). */
export function mayGrant(actor: Actor, accountId: string, role: Role): boolean {
  return atLeast(roleOn(actor, accountId), role);
}
