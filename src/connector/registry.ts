import type { Dispatcher } from 'undici';
import { notFound } from '../errors.js';
import { KeyedMutex } from '../util/keyed-mutex.js';
import { DEFAULT_LIMITS } from './bot-config.js';
import type { BotRecord, BotStore } from './store.js';
import { CustomEndpointClient, type RetryPolicy, type TokenIssuer } from './vendor-client.js';
import type { Runtime } from './runtime.js';
import type { VendorCredentials } from './types.js';
import type { Tracing } from '../ops/tracing.js';

export interface RegistryDeps {
  botStore: BotStore;
  dispatcher: Dispatcher;
  tokens: TokenIssuer;
  retry?: RetryPolicy;
  /** When tracing is on: each call to a bot service in a span, its traceparent sent. */
  tracing?: Tracing;
  /** The bot is gone from this instance (deleted, here or elsewhere): its work in flight stops. */
  untracked(botId: string): void;
}

/** Bot records changed, one change at a time per bot. */
type RecordPatch = Partial<Pick<BotRecord, 'settings' | 'status' | 'desired' | 'lastError'>>;

/**
 * The bots this instance knows, each with its Custom Endpoint client, by bot and by the user it
 * speaks as. Every instance knows every bot; which of them it drives is the leases' call
 * (`runtime.epoch`).
 */
export class BotRegistry {
  private readonly bots = new Map<string, Runtime>();
  private readonly byUser = new Map<string, Runtime>();
  /** One write of a bot's record at a time (see write()). */
  private readonly locks = new KeyedMutex();

  constructor(private readonly deps: RegistryDeps) {}

  get(botId: string): Runtime | undefined {
    return this.bots.get(botId);
  }

  /** The bot that speaks as this user. */
  ofUser(userId: string): Runtime | undefined {
    return this.byUser.get(userId);
  }

  /**
   * The bots this instance drives (it holds their lease: `epoch` is set), each checked as it is
   * reached, so a loop that awaits between bots skips one whose lease was lost meanwhile.
   */
  *driven(): Generator<Runtime> {
    for (const runtime of this.bots.values()) if (runtime.epoch !== undefined) yield runtime;
  }

  ids(): string[] {
    return [...this.bots.keys()];
  }

  /** Every bot this instance knows (every bot, on every instance). */
  all(): Runtime[] {
    return [...this.bots.values()];
  }

  ofAccount(accountId: string): Runtime[] {
    return [...this.bots.values()].filter((r) => r.record.accountId === accountId);
  }

  /** The bot, read from the store when this instance has not heard of it yet (created elsewhere a moment ago). */
  async runtime(accountId: string, id: string): Promise<Runtime> {
    if (!this.bots.has(id)) {
      const record = await this.deps.botStore.find(id);
      if (record) await this.locks.run(id, async () => this.bots.has(id) || this.track(record));
    }
    const runtime = this.bots.get(id);
    if (!runtime || runtime.record.accountId !== accountId) throw notFound(`unknown bot '${id}'`);
    return runtime;
  }

  /** Reads the bot again from the store (another instance changed or deleted it). */
  async reload(botId: string): Promise<void> {
    await this.locks.run(botId, async () => {
      const record = await this.deps.botStore.find(botId);
      if (record) this.track(record);
      else this.untrack(botId);
    });
  }

  /**
   * Changes the bot's record in memory and in the store together, one change at a time per bot,
   * so a record read again meanwhile (another instance's notice) never overwrites a newer write.
   */
  write(runtime: Runtime, patch: RecordPatch): Promise<void> {
    return this.locks.run(runtime.record.id, async () => {
      await this.deps.botStore.update(runtime.record.id, patch);
      runtime.record = { ...runtime.record, ...patch };
    });
  }

  /** Knows the bot as the record says; an existing runtime is updated in place, so work in flight sees it. */
  track(record: BotRecord): void {
    const client = this.clientFor(record.accountId, record.settings.vendor, record.settings.limits.maxResponseBytes);
    const runtime = this.bots.get(record.id);
    if (runtime) {
      runtime.record = record;
      runtime.client = client;
      return;
    }
    const fresh: Runtime = { record, client, known: new Set() };
    this.bots.set(record.id, fresh);
    this.byUser.set(record.userId, fresh);
  }

  untrack(botId: string): void {
    const runtime = this.bots.get(botId);
    if (!runtime) return;
    this.deps.untracked(botId);
    this.bots.delete(botId);
    this.byUser.delete(runtime.record.userId);
  }

  /**
   * A client for a vendor block, saved or not (the console's create form checks it before saving);
   * `tokens` stands in for the app's own when the unsaved block's secret is to be checked first.
   */
  clientFor(
    accountId: string,
    vendor: VendorCredentials,
    maxResponseBytes = DEFAULT_LIMITS.maxResponseBytes,
    tokens: TokenIssuer = this.deps.tokens,
  ): CustomEndpointClient {
    const full: VendorCredentials = {
      ...vendor,
      environment: vendor.environment ?? 'draft',
      timeoutSeconds: vendor.timeoutSeconds ?? 60,
    };
    return new CustomEndpointClient(accountId, full, {
      dispatcher: this.deps.dispatcher,
      tokens,
      retry: this.deps.retry,
      maxResponseBytes,
      ...(this.deps.tracing ? { tracing: this.deps.tracing } : {}),
    });
  }
}
