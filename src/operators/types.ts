import type { Role } from './permissions.js';

/** Operators and API tokens as the API shows them: types only, so the console (src/web) takes them from here. */

export interface Operator {
  id: string;
  login: string;
  name: string;
  superAdmin: boolean;
  /** Whether a password signs them in (else only single sign-on). */
  hasPassword: boolean;
  roles: Record<string, Role>;
  createdAt: number;
}

export interface ApiToken {
  id: string;
  accountId: string;
  name: string;
  role: Role;
  /** An operator's login, or admin-token. */
  createdBy: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** A token as issued: the answer carries the token, the only time it is shown. */
export type IssuedApiToken = ApiToken & { token: string };
