import type { FastifyRequest, RouteOptions } from 'fastify';
import { DomainError, unauthorized } from '../errors.js';
import { bearerOf } from '../http/server.js';
import { adminTokenCheck, operatorSessionOf, tokenInQuery, type AdminAuth } from '../http/auth.js';
import { API_TOKEN_PREFIX, type Operators } from './operators.js';
import { PERMISSIONS, refusal, type Actor, type Permission } from './permissions.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs of its caller (operators/permissions.ts); every admin route names one. */
    permission?: Permission;
  }
  interface FastifyRequest {
    /** Who makes an admin request, once the guard has found out (the audit's "who" too). */
    actor?: Actor;
  }
}

export interface GuardDeps {
  auth: AdminAuth;
  operators: Operators;
}

/**
 * Who the request's credential is: the admin token, an API token (a bearer starting `bbt_`), or
 * the console's session cookie (an operator's, or the admin token's sign-in). A request naming a
 * bearer is judged by it alone; the cookie is the console's. Undefined: no credential at all.
 */
export function actorResolver({ auth, operators }: GuardDeps) {
  const isAdminToken = adminTokenCheck(auth.adminToken);
  return async (request: FastifyRequest): Promise<Actor | undefined> => {
    const token = bearerOf(request, tokenInQuery(request));
    if (token === undefined && request.headers.authorization === undefined) {
      const found = await operatorSessionOf(request, auth);
      if (!found) return undefined;
      const { operatorId } = found.session;
      if (!operatorId) return { kind: 'admin-token' };
      const actor = await operators.actorOf(operatorId);
      if (!actor) throw unauthorized('the operator of this session no longer exists: sign in again', 'session-ended');
      return actor;
    }
    if (!token) throw unauthorized('admin bearer token required');
    if (token.startsWith(API_TOKEN_PREFIX)) {
      const actor = await operators.tokenActor(token);
      if (!actor) throw unauthorized('invalid, revoked or unknown API token', 'invalid-token');
      return actor;
    }
    if (!isAdminToken(token)) throw unauthorized('invalid admin token');
    return { kind: 'admin-token' };
  };
}

/**
 * The admin scope's hook: finds the actor and holds it to the route's permission, on the account
 * the route names. A refusal names the permission missing (403 forbidden).
 */
export function operatorGuard(deps: GuardDeps) {
  const resolve = actorResolver(deps);
  return async (request: FastifyRequest) => {
    const actor = await resolve(request);
    if (!actor) throw unauthorized('admin bearer token required');
    request.actor = actor;
    const permission = request.routeOptions.config.permission;
    // Routes are checked to name one when they are added (requirePermission): this is a 404's.
    if (!permission) return;
    const accountId = (request.params as { acc?: string } | undefined)?.acc;
    const refused = refusal(actor, permission, accountId);
    if (refused) throw new DomainError('forbidden', 'forbidden', refused);
  };
}

/**
 * The admin scope's onRoute hook: a route without a permission refuses to be added, so none is
 * open by omission; the permission is written into the route's OpenAPI description.
 */
export function requirePermission(route: RouteOptions): void {
  const permission = route.config?.permission;
  if (!permission || !(permission in PERMISSIONS))
    throw new Error(`admin route ${route.method} ${route.url} names no permission (config.permission)`);
  const schema = route.schema;
  if (!schema) return;
  const note = `Needs \`${permission}\` (${whoHas(permission)}).`;
  const described = schema.description as string | undefined;
  if (!described?.includes(note)) schema.description = described ? `${described} ${note}` : note;
}

function whoHas(permission: Permission): string {
  if (permission === 'installation:read') return 'anyone signed in';
  const needed = PERMISSIONS[permission];
  return needed === 'super' ? 'super-admins' : `role ${needed} or above on the account`;
}
