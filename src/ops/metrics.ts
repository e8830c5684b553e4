import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's Prometheus registry. Built per app (never prom-client's global registry) so
 * two apps in one test process do not share counters.
 */
export function createMetrics(sources: { openConversations: () => Promise<number> }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    httpDuration: new Histogram({
      name: 'botbridge_http_request_duration_seconds',
      help: 'HTTP request latency by route',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    eventsWritten: new Counter({
      name: 'botbridge_conversation_events_written_total',
      help: 'Conversation events appended to the durable log',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    changeNoticeLag: new Histogram({
      name: 'botbridge_change_notice_lag_seconds',
      help: 'PostgreSQL cluster: how late another instance’s conversation change was heard here (its statement to delivery; the clocks’ difference included)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    openConversations: new Gauge({
      name: 'botbridge_open_conversations',
      help: 'Conversations currently open',
      registers: [registry],
      async collect() {
        this.set(await sources.openConversations());
      },
    }),
  };
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * A labelled metric's children, each looked up once and kept: prom-client otherwise builds and
 * hashes a key from the label object on every observation, on every message. Values go in the
 * metric's labelNames order; they come from our code (routes, types, codes), so they are few.
 */
export function childrenOf<Child>(metric: { labels(...values: string[]): Child }): (...values: string[]) => Child {
  const children = new Map<string, Child>();
  return (...values) => {
    const key = values.join('\u0000');
    let child = children.get(key);
    if (child === undefined) {
      child = metric.labels(...values);
      children.set(key, child);
    }
    return child;
  };
}
