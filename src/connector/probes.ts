import type { Logger } from 'pino';
import type { Exchanges } from './exchange.js';
import type { BotRegistry } from './registry.js';
import type { Runtime } from './runtime.js';
import { VendorError, type CustomEndpointClient } from './vendor-client.js';
import type { BotStatus, LastError, TestConnectionResult } from './types.js';

/** A test connection: the bot's state, and only `online` passes. */
export async function testConnection(
  client: CustomEndpointClient,
  exchanges: Pick<Exchanges, 'timed'>,
): Promise<TestConnectionResult> {
  try {
    const { state, version } = await exchanges.timed('state', () => client.state());
    if (state !== 'online')
      return {
        ok: false,
        state,
        version,
        code: 'bot-state-not-online',
        error: `bot state is '${state}', only 'online' passes`,
      };
    return { ok: true, state, version };
  } catch (error) {
    if (error instanceof VendorError) return { ok: false, code: error.code, error: error.message };
    throw error;
  }
}

export interface ProbeDeps {
  registry: BotRegistry;
  test(client: CustomEndpointClient): Promise<TestConnectionResult>;
  setStatus(runtime: Runtime, status: BotStatus, lastError: LastError | null): Promise<void>;
  /** Throws while the store cannot serve conversations. */
  healthCheck(): Promise<void>;
  /** Answers what the bot owes, from the store. */
  recoverAll(runtime: Runtime): Promise<void>;
  log: Logger;
  /** How often a bot in VENDOR_INTERRUPTION re-checks its endpoint. */
  intervalMs?: number;
  /** How often a bot in SERVICE_INTERRUPTION retries (every minute). */
  serviceRetryMs?: number;
}

/** Interrupted bots this instance drives re-check their endpoint; back to ONLINE as soon as it answers online. */
export class InterruptionProbe {
  private timer?: NodeJS.Timeout;
  private lastServiceRetry = 0;
  private closed = false;

  constructor(private readonly deps: ProbeDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.probe(), this.deps.intervalMs ?? 10_000);
    this.timer.unref();
  }

  stop(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  private async probe(): Promise<void> {
    const serviceDue = Date.now() - this.lastServiceRetry >= (this.deps.serviceRetryMs ?? 60_000);
    if (serviceDue) this.lastServiceRetry = Date.now();
    for (const runtime of this.deps.registry.driven()) {
      const { status } = runtime.record;
      if (status === 'VENDOR_INTERRUPTION' || (status === 'SERVICE_INTERRUPTION' && serviceDue)) {
        try {
          if (status === 'SERVICE_INTERRUPTION') await this.deps.healthCheck();
          const test = await this.deps.test(runtime.client);
          if (this.closed) return;
          if (!test.ok) continue;
          await this.deps.setStatus(runtime, 'ONLINE', null);
          // What the bot could not answer while the platform failed is answered now.
          if (status === 'SERVICE_INTERRUPTION') await this.deps.recoverAll(runtime);
        } catch (err) {
          this.deps.log.warn({ err, botId: runtime.record.id }, 'bot still interrupted');
        }
      }
    }
  }
}
