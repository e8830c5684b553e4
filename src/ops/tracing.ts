import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapPropagator,
  type Tracer,
} from '@opentelemetry/api';
import type { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

/** Where spans go (OTLP/HTTP, JSON) and under which service name; tracing is off without it. */
export interface TracingConfig {
  /** The full traces URL (…/v1/traces). */
  endpoint: string;
  serviceName: string;
  /** OTEL_EXPORTER_OTLP_HEADERS / _TRACES_HEADERS: sent with every export (a collector's key). */
  headers?: Record<string, string>;
  /** The batch processor's longest wait before an export (OTEL_BSP_SCHEDULE_DELAY, 5 s). */
  scheduleDelayMs?: number;
}

/**
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/traces),
 * OTEL_SERVICE_NAME (botbridge), OTEL_EXPORTER_OTLP_HEADERS; undefined (off) when neither
 * endpoint is set, or OTEL_SDK_DISABLED / OTEL_TRACES_EXPORTER=none says so.
 */
export function tracingConfigFromEnv(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  if (env.OTEL_SDK_DISABLED?.toLowerCase() === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const endpoint = traces || (base ? `${base.replace(/\/+$/, '')}/v1/traces` : undefined);
  if (!endpoint) return undefined;
  try {
    new URL(endpoint);
  } catch {
    throw new Error(`OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT must be a URL, got '${endpoint}'`);
  }
  const headers = { ...headersOf(env.OTEL_EXPORTER_OTLP_HEADERS), ...headersOf(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS) };
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  return {
    endpoint,
    serviceName: env.OTEL_SERVICE_NAME || 'botbridge',
    ...(Object.keys(headers).length ? { headers } : {}),
    ...(env.OTEL_BSP_SCHEDULE_DELAY && Number.isFinite(delay) && delay >= 0 ? { scheduleDelayMs: delay } : {}),
  };
}

/** `key=value,key2=value2`, values percent-decoded (the OTLP exporter's format). */
function headersOf(raw: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of raw?.split(',') ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    out[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return out;
}

/** Conversations whose latest message's context is kept for the exchange it triggers. */
const MESSAGE_CONTEXTS_MAX = 10_000;

/**
 * The app's tracing: present only when configured (everything that traces takes it as an optional
 * dependency, so when off the message path makes no span and allocates nothing for it). Nothing
 * global is registered: the tracer, the propagator and the contexts are this app's own.
 */
export class Tracing {
  /**
   * The span context of the latest consumer message per conversation, taken by the exchange the
   * message triggers (the platform's change bus carries no trace context). Bounded: the oldest go.
   */
  private readonly messages = new Map<string, Context>();

  private constructor(
    readonly tracer: Tracer,
    private readonly provider: BasicTracerProvider,
    private readonly propagator: TextMapPropagator,
  ) {}

  /**
   * The SDK and its exporter are loaded here, not with this module: untraced, a process would
   * otherwise carry some 3 MB of their code and objects in its heap, for every collection to mark.
   */
  static async start(config: TracingConfig): Promise<Tracing> {
    const [{ W3CTraceContextPropagator }, { OTLPTraceExporter }, { resourceFromAttributes }, sdk] = await Promise.all([
      import('@opentelemetry/core'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace-base'),
    ]);
    const provider = new sdk.BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': config.serviceName }),
      spanProcessors: [
        new sdk.BatchSpanProcessor(
          new OTLPTraceExporter({ url: config.endpoint, headers: config.headers }),
          config.scheduleDelayMs === undefined ? {} : { scheduledDelayMillis: config.scheduleDelayMs },
        ),
      ],
    });
    return new Tracing(provider.getTracer('botbridge'), provider, new W3CTraceContextPropagator());
  }

  /** A span, child of `parent` (a root when none). */
  start(name: string, attributes: Attributes, parent: Context = ROOT_CONTEXT, kind = SpanKind.INTERNAL): Span {
    return this.tracer.startSpan(name, { kind, attributes }, parent);
  }

  /** The context whose active span is `span`, for its children. */
  within(span: Span, parent: Context = ROOT_CONTEXT): Context {
    return trace.setSpan(parent, span);
  }

  /** The trace context an incoming request carries (its traceparent), or the root. */
  extract(headers: Record<string, string | string[] | undefined>): Context {
    return this.propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  }

  /** Adds `traceparent` (and `tracestate`) for `context` to outgoing headers. */
  inject(context: Context, headers: Record<string, string>): void {
    this.propagator.inject(context, headers, defaultTextMapSetter);
  }

  /** A consumer message was posted to the conversation within `context`. */
  noteMessage(conversationId: string, context: Context): void {
    this.messages.delete(conversationId);
    this.messages.set(conversationId, context);
    if (this.messages.size > MESSAGE_CONTEXTS_MAX) this.messages.delete(this.messages.keys().next().value as string);
  }

  /** The context of the message an exchange answers, once (undefined: the exchange is a trace's root). */
  takeMessage(conversationId: string): Context | undefined {
    const context = this.messages.get(conversationId);
    if (context) this.messages.delete(conversationId);
    return context;
  }

  /** Ends `span` as failed with a code (never a message: it may quote what a consumer wrote). */
  static fail(span: Span, code: string): void {
    span.setAttribute('error.type', code);
    span.setStatus({ code: SpanStatusCode.ERROR });
  }

  /** Ends `span` as failed with what a request's handler threw: its code (the API's error code), or `error`. */
  static failWith(span: Span, error: unknown): void {
    Tracing.fail(span, (error as { code?: unknown }).code?.toString() ?? 'error');
  }

  /** Exports what is pending and stops. */
  async shutdown(): Promise<void> {
    this.messages.clear();
    await this.provider.shutdown();
  }
}

export { SpanKind, SpanStatusCode };
export type { Context, Span };
