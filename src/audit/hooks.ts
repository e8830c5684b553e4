import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Actor } from '../operators/permissions.js';
import { actorName } from '../operators/routes.js';
import type {} from '../operators/guard.js';
import { sessionIdOf } from '../http/operator-sessions.js';
import type { AuditLog } from './log.js';
import { idIn, itemIn, subjectOf, type AuditActor, type AuditInput } from './shape.js';

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The audit log's name for a guard's actor. */
export function auditActorOf(actor: Actor): AuditActor {
  return {
    kind: actor.kind,
    ...(actor.kind === 'admin-token' ? {} : { id: actor.id }),
    name: actorName(actor),
  };
}

/**
 * What every entry of a request says the same way: from where, which route, which request. Single
 * sign-on's routes build their sign-in entries from it:
 * `audit.record({ ...requestFacts(request), actor, object: { type: 'session' }, outcome })`.
 */
export function requestFacts(request: FastifyRequest): Pick<AuditInput, 'address' | 'action' | 'requestId'> {
  return {
    address: request.ip,
    action: `${request.method} ${request.routeOptions.url ?? pathOf(request.url)}`,
    requestId: String(request.id),
  };
}

const pathOf = (url: string) => url.split('?')[0];
const segmentsOf = (path: string) => path.split('/').filter(Boolean);
/** `:acc` and `:clientId` alike: a GET is found whatever its parameters are called. */
const shapeOf = (pattern: string) =>
  segmentsOf(pattern)
    .map((s) => (s.startsWith(':') ? ':' : s))
    .join('/');

function parsed(payload: unknown): unknown {
  if (typeof payload !== 'string' || !payload) return undefined;
  try {
    return JSON.parse(payload);
  } catch {
    return undefined;
  }
}

/**
 * Records every write to the admin API that has an actor (a request refused for its credential
 * names nobody, and anyone may send those): its outcome, refusals included, and the object
 * before and after. Called on the admin scope before its parts register, so it sees their routes.
 *
 * Before and after are what a GET of the object answers, asked with the request's own
 * credentials (`inject`): the object exactly as the API shows it to that actor, through the
 * route's response schema (which already masks secrets), with no per-route reader to fall out of
 * step when a route changes. The GET is the object's own (`…/bots/:id`), else its collection's
 * listing with the item picked out by id (`…/apps`, `/operators`); a create reads what it
 * created. A write with no such GET keeps its answer as the after. All of it is redacted again
 * when written (shape.ts).
 */
export function auditAdminWrites(scope: FastifyInstance, { audit, prefix }: { audit: AuditLog; prefix: string }) {
  const gets = new Set<string>();
  scope.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.includes('GET')) gets.add(shapeOf(route.url));
  });
  const prefixLength = segmentsOf(prefix).length;
  const befores = new WeakMap<FastifyRequest, unknown>();

  const plan = (request: FastifyRequest) => {
    const pattern = request.routeOptions.url ?? '';
    const relative = pattern.slice(prefix.length);
    const path = segmentsOf(pathOf(request.url));
    const concrete = (relativePattern: string) =>
      `/${path.slice(0, prefixLength + segmentsOf(relativePattern).length).join('/')}`;
    const subject = subjectOf(relative, (p) => gets.has(shapeOf(prefix + p)));
    const params = (request.params ?? {}) as Record<string, string>;
    return { subject, concrete, params, aligned: path.length === segmentsOf(pattern).length };
  };

  /**
   * The object (its route `pattern`, relative, ending in its id; `path`, the concrete URL) as its
   * GET, or its collection's, answers; undefined when there is no such GET.
   */
  const read = async (request: FastifyRequest, pattern: string, path: string, id: string): Promise<unknown> => {
    const headers: Record<string, string> = {};
    for (const name of ['authorization', 'cookie', 'host', 'x-botbridge-console']) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const get = async (url: string) => {
      const res = await scope.inject({ method: 'GET', url, headers, remoteAddress: request.ip });
      if (res.statusCode === 404) return null;
      return res.statusCode === 200 ? (res.json() as unknown) : undefined;
    };
    const full = prefix + pattern;
    if (gets.has(shapeOf(full))) return get(path);
    const up = (p: string) => p.slice(0, p.lastIndexOf('/'));
    if (gets.has(shapeOf(up(full)))) {
      const listing = await get(up(path));
      return listing === undefined ? undefined : itemIn(listing, id);
    }
    return undefined;
  };

  scope.addHook('preHandler', async (request) => {
    if (!WRITES.has(request.method) || !request.actor) return;
    const { subject, concrete, params, aligned } = plan(request);
    if (!aligned || subject.create || !subject.at || !subject.param) return;
    befores.set(request, await read(request, subject.at, concrete(subject.at), params[subject.param] ?? ''));
  });

  scope.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (!WRITES.has(request.method) || !request.actor || !request.routeOptions.url) return payload;
    try {
      const { subject, concrete, params, aligned } = plan(request);
      const outcome = reply.statusCode;
      const answer = parsed(payload);
      const done = outcome >= 200 && outcome < 300;
      let id = subject.param ? params[subject.param] : undefined;
      let after: unknown;
      if (done && aligned) {
        if (subject.create) {
          id = idIn(answer);
          if (id && subject.at)
            after = await read(request, `${subject.at}/:id`, `${concrete(subject.at)}/${encodeURIComponent(id)}`, id);
        } else if (subject.at && id !== undefined) {
          after = await read(request, subject.at, concrete(subject.at), id);
        }
        // No GET shows the object: what the write answered is the best "after" there is.
        if (after === undefined && answer && typeof answer === 'object') after = answer;
      }
      const accountId = params.acc ?? (subject.type === 'account' ? id : undefined);
      await audit.record({
        ...requestFacts(request),
        actor: auditActorOf(request.actor),
        ...(accountId ? { accountId } : {}),
        object: { type: subject.type, ...(id ? { id } : {}) },
        outcome,
        before: befores.get(request),
        after,
      });
    } catch (err) {
      // The change is made: failing its answer now would tell the caller it was not.
      request.log.error({ err }, 'audit: the entry could not be recorded');
    }
    return payload;
  });
}

/**
 * Records sign-ins, failed ones included, and sign-outs (POST and DELETE of the session, on the
 * scope the session routes are registered in): who by the login typed or the admin token, never
 * the password or the token. A sign-out names the session's actor, found before it ends.
 */
export function auditSignIns(
  scope: FastifyInstance,
  { audit, actorOf }: { audit: AuditLog; actorOf(request: FastifyRequest): Promise<Actor | undefined> },
) {
  const who = new WeakMap<FastifyRequest, AuditActor>();
  scope.addHook('preHandler', async (request) => {
    if (request.method === 'POST') {
      const body = request.body as { token?: unknown; login?: unknown } | undefined;
      if (body && typeof body.token === 'string') who.set(request, { kind: 'admin-token', name: 'admin-token' });
      else if (body && typeof body.login === 'string')
        who.set(request, { kind: 'operator', name: body.login.toLowerCase().slice(0, 254) });
    } else if (request.method === 'DELETE') {
      const actor = await actorOf(request).catch(() => undefined);
      if (actor) who.set(request, auditActorOf(actor));
    }
  });
  const isSession = (request: FastifyRequest) => request.routeOptions.url?.endsWith('/session') ?? false;
  scope.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if ((request.method !== 'POST' && request.method !== 'DELETE') || !isSession(request)) return payload;
    let actor = who.get(request);
    // A sign-out of no session changed nothing.
    if (request.method === 'DELETE' && !actor) return payload;
    actor ??= { kind: 'anonymous', name: 'anonymous' };
    const operatorId = idIn((parsed(payload) as { operator?: unknown } | undefined)?.operator);
    if (operatorId && actor.kind === 'operator') actor = { ...actor, id: operatorId };
    try {
      await audit.record({ ...requestFacts(request), actor, object: { type: 'session' }, outcome: reply.statusCode });
    } catch (err) {
      request.log.error({ err }, 'audit: the sign-in could not be recorded');
    }
    return payload;
  });
}

/**
 * Records single sign-on's sign-ins, on the scope its routes are in: the callback's outcome (a
 * redirect when signed in; a refusal's status otherwise), naming the operator of the session the
 * callback set. The provider's code and tokens never reach the log: only who and the outcome.
 */
export function auditSsoSignIns(
  scope: FastifyInstance,
  { audit, actorOfSession }: { audit: AuditLog; actorOfSession(sessionId: string): Promise<AuditActor | undefined> },
) {
  scope.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    if (request.method !== 'GET' || !request.routeOptions.url?.endsWith('/sso/callback')) return payload;
    try {
      const set = reply.getHeader('set-cookie');
      // The cookies set, as a Cookie header would carry them: `name=value; name=value`.
      const cookies = (Array.isArray(set) ? set : [String(set ?? '')]).map((c) => c.split(';')[0]).join('; ');
      const sessionId = reply.statusCode < 400 ? sessionIdOf(cookies) : undefined;
      const actor = (sessionId && (await actorOfSession(sessionId))) || { kind: 'anonymous', name: 'anonymous' };
      await audit.record({ ...requestFacts(request), actor, object: { type: 'session' }, outcome: reply.statusCode });
    } catch (err) {
      request.log.error({ err }, 'audit: the single sign-on could not be recorded');
    }
    return payload;
  });
}
