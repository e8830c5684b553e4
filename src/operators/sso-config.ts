import { ROLES, type Role } from './permissions.js';

/**
 * Single sign-on through an OpenID provider: what the environment says, checked once at start
 * (a mistake there should stop the server with a message, not refuse every operator later), and
 * how the provider's claims become a super-admin flag and roles. Pure: env and claims in, data out.
 */

/** What one value of the roles claim grants: installation super-admin, or a role on each account named. */
export type RoleGrant = 'super' | Readonly<Record<string, Role>>;
/** The roles claim's values → what each grants (OIDC_ROLE_MAP). */
export type RoleMap = Readonly<Record<string, RoleGrant>>;

export interface SsoConfig {
  /** The provider's issuer: its discovery document is at `.well-known/openid-configuration` under it. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where the provider sends the browser back; unset: this server's own callback at PUBLIC_HOST. */
  redirectUrl?: string;
  /** Space-separated, `openid` among them. */
  scopes: string;
  /** The claim whose values OIDC_ROLE_MAP maps: a name, or a dotted path into nested claims. */
  rolesClaim: string;
  roleMap: RoleMap;
}

/** The callback's path on this server: the provider must know the redirect URL that ends so. */
export const SSO_CALLBACK_PATH = '/admin/v1/sso/callback';

const NAMES = [
  'OIDC_ISSUER',
  'OIDC_CLIENT_ID',
  'OIDC_CLIENT_SECRET',
  'OIDC_REDIRECT_URL',
  'OIDC_SCOPES',
  'OIDC_ROLES_CLAIM',
  'OIDC_ROLE_MAP',
] as const;

/**
 * OIDC_* → the single sign-on configuration, or undefined when none of them is set (sign-in by
 * admin token and password only). Throws, naming the variable, on anything half-set or malformed.
 */
export function ssoConfigFromEnv(env: NodeJS.ProcessEnv): SsoConfig | undefined {
  const value = (name: (typeof NAMES)[number]) => env[name]?.trim() || undefined;
  const set = NAMES.filter((name) => value(name) !== undefined);
  if (!set.length) return undefined;
  const missing = (['OIDC_ISSUER', 'OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'OIDC_ROLE_MAP'] as const).filter(
    (name) => value(name) === undefined,
  );
  if (missing.length)
    throw new Error(
      `single sign-on needs ${missing.join(', ')} as well (${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set)` +
        (missing.includes('OIDC_ROLE_MAP') ? ': without a role map nobody the provider signs in has a role' : ''),
    );
  const issuer = value('OIDC_ISSUER')!;
  providerUrl('OIDC_ISSUER', issuer);
  const redirect = value('OIDC_REDIRECT_URL');
  const scopes = (value('OIDC_SCOPES') ?? 'openid email profile').split(/\s+/);
  if (!scopes.includes('openid'))
    throw new Error(`OIDC_SCOPES must include openid (OpenID Connect signs in with it), got '${env.OIDC_SCOPES}'`);
  const rolesClaim = value('OIDC_ROLES_CLAIM') ?? 'groups';
  return {
    // As written: discovery checks the provider names itself exactly so, trailing slash and all.
    issuer,
    clientId: value('OIDC_CLIENT_ID')!,
    clientSecret: value('OIDC_CLIENT_SECRET')!,
    ...(redirect ? { redirectUrl: providerUrl('OIDC_REDIRECT_URL', redirect).href } : {}),
    scopes: [...new Set(scopes)].join(' '),
    rolesClaim,
    roleMap: parseRoleMap(value('OIDC_ROLE_MAP')!),
  };
}

/**
 * An absolute URL the browser or this server is sent to with secrets (codes, the client secret):
 * HTTPS, or plain HTTP to this machine only (a provider run beside the server, tests).
 */
function providerUrl(name: string, raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`${name} must be an absolute URL, got '${raw}'`);
  }
  if (url.protocol === 'https:' || (url.protocol === 'http:' && isLoopback(url.hostname))) return url;
  throw new Error(`${name} must be an https URL (http only to localhost or a loopback address), got '${raw}'`);
}

export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * OIDC_ROLE_MAP: a JSON object from a value of the roles claim to `"super"` or to
 * `{"<accountId>": "viewer" | "admin" | "owner"}`.
 */
export function parseRoleMap(raw: string): RoleMap {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw new Error(`OIDC_ROLE_MAP must be JSON: ${(error as Error).message}`);
  }
  const example = `e.g. {"botbridge-admins": "super", "support": {"acme": "viewer"}}`;
  if (!isObject(parsed) || !Object.keys(parsed).length)
    throw new Error(`OIDC_ROLE_MAP must be a JSON object from claim values to what they grant, ${example}`);
  // Entries, not assignments: a claim value named __proto__ stays a key.
  const map: Array<[string, RoleGrant]> = [];
  for (const [claimValue, grant] of Object.entries(parsed)) {
    const where = `OIDC_ROLE_MAP's '${claimValue}'`;
    if (grant === 'super') {
      map.push([claimValue, 'super']);
      continue;
    }
    if (!isObject(grant) || !Object.keys(grant).length)
      throw new Error(`${where} must be "super" or an object of account ids to roles, ${example}`);
    for (const [accountId, role] of Object.entries(grant)) {
      if (!accountId.trim()) throw new Error(`${where} names an empty account id`);
      if (!ROLES.includes(role as Role))
        throw new Error(
          `${where} gives account '${accountId}' the role ${JSON.stringify(role)}: one of ${ROLES.join(', ')}`,
        );
    }
    map.push([claimValue, grant as Record<string, Role>]);
  }
  return Object.fromEntries(map);
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The values of the roles claim: a list of strings, or one string. Found by its name first, so a
 * claim named with dots (`https://example.com/groups`) is read as it is; else as a dotted path into
 * nested claims (Keycloak's `realm_access.roles`).
 */
export function claimValues(claims: Readonly<Record<string, unknown>>, name: string): string[] {
  let found: unknown = claims[name];
  if (found === undefined && name.includes('.')) {
    found = claims;
    for (const part of name.split('.')) found = isObject(found) ? found[part] : undefined;
  }
  if (typeof found === 'string') return [found];
  return Array.isArray(found) ? found.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * What the provider's claims grant: every value of the roles claim the map knows, merged (the
 * highest role on each account wins; any `"super"` makes a super-admin).
 */
export function grantsOf(
  claims: Readonly<Record<string, unknown>>,
  rolesClaim: string,
  roleMap: RoleMap,
): { superAdmin: boolean; roles: Record<string, Role> } {
  let superAdmin = false;
  const roles = new Map<string, Role>();
  for (const claimValue of claimValues(claims, rolesClaim)) {
    if (!Object.hasOwn(roleMap, claimValue)) continue;
    const grant = roleMap[claimValue];
    if (grant === 'super') {
      superAdmin = true;
      continue;
    }
    for (const [accountId, role] of Object.entries(grant)) {
      const held = roles.get(accountId);
      if (held === undefined || ROLES.indexOf(role) > ROLES.indexOf(held)) roles.set(accountId, role);
    }
  }
  return { superAdmin, roles: Object.fromEntries(roles) };
}

/**
 * Where the console goes after signing in: a path on this server, never another origin's page
 * (`//evil.example`, `/\evil.example` and absolute URLs are someone else's), else the console.
 */
export function safeReturnTo(raw: string | undefined): string {
  const fallback = '/admin';
  if (!raw || raw.length > 2048 || !raw.startsWith('/')) return fallback;
  // Browsers read a backslash as a slash, and drop tabs and newlines from URLs: `/\evil.example` is `//evil.example`.
  const odd = [...raw].some((c) => c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  if (raw.startsWith('//') || odd) return fallback;
  return raw;
}
