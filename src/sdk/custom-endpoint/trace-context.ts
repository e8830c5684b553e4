/**
 * The platform sends a W3C `traceparent` with every call when it traces (OpenTelemetry). A service
 * that uses OpenTelemetry itself continues that trace: its handlers run within the context the
 * call carries, so the spans they start are children of the platform's call. `@opentelemetry/api`
 * is an optional peer: looked for once per service, and when it is absent, or the service has set
 * no global propagator, or the call carries no trace context, the handler just runs.
 */

/** What is used of `@opentelemetry/api` (its module, as `import * as api from '@opentelemetry/api'`). */
export interface OpenTelemetryApi {
  context: { active(): unknown; with<T>(context: never, fn: () => T): T };
  propagation: { extract(context: never, carrier: Record<string, string | string[] | undefined>): unknown };
}

/** Runs `fn` within the trace context `headers` carry, when there is one to continue. */
export type TraceJoin = <T>(headers: Record<string, string | string[] | undefined>, fn: () => Promise<T>) => Promise<T>;

/**
 * `api`: the service's own `@opentelemetry/api` module; `false`: never continue a trace;
 * undefined: `@opentelemetry/api` when it can be imported.
 */
export function traceJoiner(api?: OpenTelemetryApi | false): TraceJoin {
  if (api === false) return (_headers, fn) => fn();
  let otel: OpenTelemetryApi | undefined = api;
  const loading: Promise<unknown> | undefined = api
    ? undefined
    : import('@opentelemetry/api').then(
        (module) => {
          otel = module as unknown as OpenTelemetryApi;
        },
        () => undefined,
      );
  return async (headers, fn) => {
    if (loading !== undefined) await loading;
    if (!otel) return fn();
    const active = otel.context.active();
    const extracted = otel.propagation.extract(active as never, headers);
    // The no-op propagator (none set), or no traceparent: the context is the one it was given.
    if (extracted === active) return fn();
    return otel.context.with(extracted as never, fn);
  };
}
