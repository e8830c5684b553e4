import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import * as otel from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { answer, createCustomEndpointService, text } from '../../src/sdk/custom-endpoint/index.js';
import type { TokenVerifier } from '../../src/sdk/custom-endpoint/verify.js';

/** A context manager on AsyncLocalStorage, as a service's OpenTelemetry setup registers one. */
class StorageContextManager implements otel.ContextManager {
  private readonly storage = new AsyncLocalStorage<otel.Context>();
  active(): otel.Context {
    return this.storage.getStore() ?? otel.ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: otel.Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    return this.storage.run(context, () => fn.call(thisArg, ...args));
  }
  bind<T>(_context: otel.Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.storage.disable();
    return this;
  }
}

const verifyToken: TokenVerifier = async () => ({ ok: true, accountId: 'acc', claims: {} });
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const path = '/v1/bots/b1/environments/draft/conversations/c1/events';
const conversation = JSON.stringify({
  sdes: {},
  context: { type: 'MESSAGING', skillId: 7, engagementId: 1, visitor: { sharkVisitorId: 'v-1' } },
});
const event = JSON.stringify({ type: 'TEXT', source: 'CONSUMER', data: { message: 'hi' }, context: { lpEvent: {} } });

/** A service whose TEXT handler notes the span context it runs within. */
function serviceNoting(seen: Array<otel.SpanContext | undefined>, options: { openTelemetry?: false } = {}) {
  const noteContext = () => {
    seen.push(otel.trace.getSpanContext(otel.context.active()));
    return answer(text('hello'));
  };
  return createCustomEndpointService({
    verifyToken,
    ...options,
    handlers: { event: { TEXT: noteContext, fallback: () => answer(text('?')) } },
  });
}

async function post(service: ReturnType<typeof serviceNoting>, headers: Record<string, string>) {
  const created = await service.handle({
    method: 'PUT',
    path: path.replace('/events', ''),
    headers,
    body: conversation,
  });
  assert.ok(created.status < 300, JSON.stringify(created));
  const res = await service.handle({ method: 'POST', path, headers, body: event });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

describe('SDK: the handlers continue the platform’s trace', () => {
  beforeEach(() => {
    otel.context.setGlobalContextManager(new StorageContextManager());
    otel.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterEach(() => {
    otel.context.disable();
    otel.propagation.disable();
  });

  it('runs a handler within the context of the call’s traceparent', async () => {
    const seen: Array<otel.SpanContext | undefined> = [];
    await post(serviceNoting(seen), { authorization: 'Bearer t', traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.traceId, TRACE_ID);
    assert.equal(seen[0]?.spanId, PARENT_ID);
    assert.equal(seen[0]?.isRemote, true);
  });

  it('runs it as before without a traceparent, or when told not to continue traces', async () => {
    const seen: Array<otel.SpanContext | undefined> = [];
    await post(serviceNoting(seen), { authorization: 'Bearer t' });
    await post(serviceNoting(seen, { openTelemetry: false }), {
      authorization: 'Bearer t',
      traceparent: `00-${TRACE_ID}-${PARENT_ID}-01`,
    });
    assert.deepEqual(seen, [undefined, undefined]);
  });

  it('runs it as before when the service set no propagator', async () => {
    otel.propagation.disable();
    const seen: Array<otel.SpanContext | undefined> = [];
    await post(serviceNoting(seen), { authorization: 'Bearer t', traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    assert.deepEqual(seen, [undefined]);
  });
});
