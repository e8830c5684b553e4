import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { Counter, Histogram } from 'prom-client';
import type { RowGuard, Store } from '../store/index.js';
import type { Directory } from '../platform/directory.js';
import type { Conversations } from '../platform/conversations.js';
import type { EventBus } from '../platform/bus.js';
import type { Conversation } from '../platform/types.js';
import type { Metrics } from '../ops/metrics.js';
import type { Tracing } from '../ops/tracing.js';
import { conflict, invalid } from '../errors.js';
import { MASKED_SECRET, applySettings, type BotInput } from './bot-config.js';
import { BotStore, type BotRecord } from './store.js';
import type { RetryPolicy } from './vendor-client.js';
import { BotRegistry } from './registry.js';
import { BotMetrics } from './bot-metrics.js';
import { BotReads } from './bot-reads.js';
import { StatsSampler } from './stats-sampler.js';
import { InterruptionProbe } from './probes.js';
import { Exchanges, type ConnectorStats } from './exchange.js';
import { Driver } from './driver.js';
import { LeaseLost, SoleLeases, type BotLeases } from './leases.js';
import { StoreOutage, isStoreUnavailable } from '../store/errors.js';
import { invokeFunction } from './functions.js';
import type { ContractValidator, StructuredContentValidator } from '../contract/index.js';
import { ServiceChecks, type AppTokens } from './service-checks.js';
import type { Runtime } from './runtime.js';
import type { BotSettings, BotStatus, BotView, LastError, TestConnectionResult } from './types.js';

/** Sentinel's app installations as the connector uses them. */
export interface AppInstallations extends AppTokens {
  find(accountId: string, clientId: string): Promise<{ clientId: string; name: string } | undefined>;
}

/** A bot on a rotated app: its cached tokens dropped, and how its test connection went after. */
export interface RotatedAppBot {
  id: string;
  name: string;
  status: BotStatus;
  test: TestConnectionResult;
}

export interface ConnectorDeps {
  store: Store;
  directory: Directory;
  conversations: Conversations;
  bus: EventBus;
  /** The account's app installations: a bot refers to one, and its calls carry that app's tokens. */
  apps: AppInstallations;
  /** Built once (schema compilation is slow) and shared with the Public API. */
  structuredContent: StructuredContentValidator;
  /** The published contract, for the conformance check's strict reading of answers. */
  contract: ContractValidator;
  dispatcher: Dispatcher;
  log: Logger;
  metrics: Metrics;
  /** Who drives which bot: this process all of them (the default), or leases shared through the store. */
  leases?: BotLeases;
  /** Tells the other instances that a bot's configuration or status changed. */
  announceBot?: (botId: string) => void;
  /** INSTANCE_ID, for the default leases (this process drives every bot). */
  instance?: string;
  retry?: RetryPolicy;
  /** How often a bot in VENDOR_INTERRUPTION re-checks its endpoint. */
  probeIntervalMs?: number;
  /** How often a bot in SERVICE_INTERRUPTION retries (PRODUCT.md: every minute). */
  serviceRetryMs?: number;
  functionTimeoutMs?: number;
  /**
   * Hears of each change of a bot's status, written (alerts/): from the instance that made it.
   * A failure here is logged; the change stands.
   */
  statusChanged?: (change: StatusChange) => Promise<void>;
  /** OpenTelemetry spans for exchanges and calls to bot services (ops/tracing.ts); undefined when off. */
  tracing?: Tracing;
}

/** A bot's status change, as `statusChanged` hears of it. */
export interface StatusChange {
  accountId: string;
  botId: string;
  botName: string;
  from: BotStatus;
  to: BotStatus;
  lastError: LastError | null;
  /** The bot's last error before the change (a return to ONLINE: the interruption it ends). */
  previousError: LastError | null;
}

/**
 * The Custom Endpoint connector: bot configurations and lifecycle on every instance; the
 * exchange loop (driver.ts, exchange.ts) for the bots this instance drives. Which those are is
 * the leases' call: every bot for a process alone on its store, a fair share of them for each of
 * several instances on one PostgreSQL. Configuration changes made on any instance reach the
 * others through the store and a notice.
 */
export class Connector {
  private readonly bots: BotRegistry;
  private readonly botStore: BotStore;
  private readonly stats: ConnectorStats;
  private readonly exchanges: Exchanges;
  private readonly driver: Driver;
  private readonly leases: BotLeases;
  private readonly sampler: StatsSampler;
  /** The bots' logs, statistics and recent counts (bot-reads.ts). */
  readonly reads: BotReads;
  private readonly probe: InterruptionProbe;
  /** Checks of a bot's service an operator asks for (environments, test connection, conformance). */
  readonly checks: ServiceChecks;
  private unsubscribe?: () => void;
  private closed = false;
  /** Bots whose work the store failed by being out of reach; see resumeAfterOutage. */
  private readonly owedAfterOutage = new Set<string>();
  private outageRetry?: NodeJS.Timeout;

  constructor(private readonly deps: ConnectorDeps) {
    const botMetrics = new BotMetrics(deps.metrics.registry, (botId) => this.bots.get(botId)?.record.accountId, {
      bots: () =>
        this.bots.all().map((r) => ({
          id: r.record.id,
          accountId: r.record.accountId,
          userId: r.record.userId,
          status: r.record.status,
          epoch: r.epoch,
        })),
      openConversations: (userIds) => deps.conversations.countHeldByEach(userIds),
    });
    this.botStore = new BotStore(
      deps.store,
      (err, exchangesLost) =>
        deps.log.error({ err, exchangesLost }, 'could not write the exchange log and bot statistics'),
      botMetrics,
    );
    this.bots = new BotRegistry({
      botStore: this.botStore,
      dispatcher: deps.dispatcher,
      tokens: deps.apps,
      retry: deps.retry,
      tracing: deps.tracing,
      untracked: (botId) => {
        this.driver.dropBot(botId);
        botMetrics.forget(botId);
      },
    });
    this.reads = new BotReads({
      bots: this.bots,
      botStore: this.botStore,
      conversations: deps.conversations,
      directory: deps.directory,
    });
    const registers = [deps.metrics.registry];
    this.stats = {
      exchanges: new Counter({
        name: 'botbridge_connector_exchanges_total',
        help: 'Bot exchanges by outcome',
        labelNames: ['outcome'] as const,
        registers,
      }),
      errors: new Counter({
        name: 'botbridge_connector_errors_total',
        help: 'Connector errors by code',
        labelNames: ['code'] as const,
        registers,
      }),
      vendorLatency: new Histogram({
        name: 'botbridge_connector_vendor_latency_seconds',
        help: 'Latency of Custom Endpoint calls (all attempts)',
        labelNames: ['call'] as const,
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
        registers,
      }),
    };
    this.leases = deps.leases ?? new SoleLeases(deps.instance ?? 'this process', () => this.bots.ids());
    const setStatus = (runtime: Runtime, status: BotStatus, lastError: LastError | null) =>
      this.setStatus(runtime, status, lastError);
    this.exchanges = new Exchanges({
      conversations: deps.conversations,
      directory: deps.directory,
      botStore: this.botStore,
      structuredContent: deps.structuredContent,
      invoke: this.invoke,
      log: deps.log,
      stats: this.stats,
      setStatus,
      tracing: deps.tracing,
      guard: (runtime) => this.guard(runtime),
      requireDriving: (runtime) => {
        const { epoch } = runtime;
        if (epoch === undefined || !this.leases.surelyHeld(runtime.record.id, epoch))
          throw new LeaseLost(runtime.record.id);
        // An answer could not be written a moment ago: nothing more is asked of the bot until the
        // store answers again, so an outage does not turn every message into a duplicate.
        if (this.owedAfterOutage.has(runtime.record.id)) throw new StoreOutage();
      },
      answered: (runtime, conversationId) =>
        this.driver.inactivity.arm(
          {
            botId: runtime.record.id,
            userId: runtime.record.userId,
            accountId: runtime.record.accountId,
            settings: runtime.record.settings,
          },
          conversationId,
        ),
    });
    this.driver = new Driver({
      conversations: deps.conversations,
      exchanges: this.exchanges,
      log: deps.log,
      drivenBy: (userId) => driven(this.bots.ofUser(userId)),
      driven: (botId) => driven(this.bots.get(botId)),
      setStatus,
      countError: (runtime, code) => {
        this.stats.errors.inc({ code });
        this.botStore.count(runtime.record.id, 'error', code);
      },
      countLifecycle: (runtime, metric) => this.botStore.count(runtime.record.id, metric),
      storeUnavailable: (runtime) => this.resumeAfterOutage(runtime),
    });
    this.sampler = new StatsSampler({
      botStore: this.botStore,
      driven: () => [...this.bots.driven()],
      countHeldBy: (userId) => deps.conversations.countHeldBy(userId),
      log: deps.log,
    });
    this.checks = new ServiceChecks({
      bots: this.bots,
      directory: deps.directory,
      apps: deps.apps,
      exchanges: this.exchanges,
      dispatcher: deps.dispatcher,
      contract: deps.contract,
      structuredContent: deps.structuredContent,
    });
    this.probe = new InterruptionProbe({
      registry: this.bots,
      test: (client) => this.checks.test(client),
      setStatus,
      healthCheck: () => deps.conversations.healthCheck(),
      recoverAll: (runtime) => this.driver.recoverAll(runtime),
      log: deps.log,
      intervalMs: deps.probeIntervalMs,
      serviceRetryMs: deps.serviceRetryMs,
    });
  }

  /** Loads bots and subscribes to the platform; call resume() once the HTTP server listens. */
  async init(): Promise<void> {
    for (const record of await this.botStore.all()) this.bots.track(record);
    this.unsubscribe = this.deps.bus.subscribe((e) => this.driver.onPlatformEvent(e));
    this.probe.start();
    this.sampler.start();
  }

  /**
   * Starts driving bots (after the server listens: a bot service may be this very server, the
   * demo bot). Each bot this instance gets is brought back — a test connection if an operator had
   * started it — and whatever it owes is answered from the store.
   */
  async resume(): Promise<void> {
    await this.leases.start({
      gained: (botId, epoch) => {
        const runtime = this.bots.get(botId);
        if (!runtime || this.closed) return;
        runtime.epoch = epoch;
        this.deps.log.info({ botId, epoch }, 'driving bot');
        this.drive(runtime);
      },
      lost: (botId) => {
        const runtime = this.bots.get(botId);
        this.driver.dropBot(botId);
        if (!runtime) return;
        runtime.epoch = undefined;
        runtime.known.clear();
        this.deps.log.info({ botId }, 'no longer driving bot');
      },
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    this.probe.stop();
    clearTimeout(this.outageRetry);
    this.driver.close();
    await this.leases.close();
    await this.sampler.close();
    await this.botStore.drain();
  }

  /**
   * This instance may have missed other instances' changes (its listener was cut off): the bots
   * it drives answer whatever they owe, read from the store — once it answers, when the same
   * outage that cut the listener still holds it (resumeAfterOutage retries with backoff).
   */
  async catchUp(): Promise<void> {
    for (const runtime of this.bots.driven()) {
      await this.driver.recoverAll(runtime).catch((err: unknown) => {
        if (!isStoreUnavailable(err)) throw err;
        this.resumeAfterOutage(runtime);
      });
    }
  }

  /** Whether this instance drives the bot the user speaks for. */
  drives(userId: string | null | undefined): boolean {
    return userId !== null && userId !== undefined && this.bots.ofUser(userId)?.epoch !== undefined;
  }

  /** Another instance changed the bot (configuration, status, deletion): read it again. */
  async botChanged(botId: string): Promise<void> {
    await this.bots.reload(botId);
    this.leases.botsChanged();
  }

  // ---- configuration ----

  async create(accountId: string, input: BotInput & { vendor: { clientId: string } }): Promise<BotView> {
    await this.deps.directory.requireAccount(accountId);
    await this.requireApp(accountId, input.vendor);
    const settings = applySettings(input);
    await this.requireSkills(accountId, settings);
    const id = randomUUID();
    const user = await this.deps.directory.createUser(accountId, {
      loginName: `bot-${id}`,
      userType: 'BOT',
      skills: settings.skills,
      maxConversations: null,
      botId: id,
    });
    const record: BotRecord = {
      id,
      accountId,
      userId: user.id,
      settings,
      status: 'OFFLINE',
      desired: 'STOPPED',
      lastError: null,
    };
    await this.botStore.insert(record);
    this.bots.track(record);
    this.changed(id);
    return this.view(this.bots.get(id)!);
  }

  async list(accountId: string): Promise<BotView[]> {
    await this.deps.directory.requireAccount(accountId);
    return Promise.all(this.bots.ofAccount(accountId).map((r) => this.view(r)));
  }

  async get(accountId: string, id: string): Promise<BotView> {
    return this.view(await this.bots.runtime(accountId, id));
  }

  async patch(accountId: string, id: string, input: BotInput): Promise<BotView> {
    const runtime = await this.bots.runtime(accountId, id);
    const settings = applySettings(input, runtime.record.settings);
    await this.requireSkills(accountId, settings);
    if (input.vendor?.clientId !== undefined || input.vendor?.clientSecret !== undefined)
      await this.requireApp(accountId, { ...input.vendor, clientId: settings.vendor.clientId });
    await this.bots.write(runtime, { settings });
    if (input.skills) await this.deps.directory.setUserSkills(accountId, runtime.record.userId, settings.skills);
    this.bots.track(runtime.record);
    this.changed(id);
    return this.view(this.bots.get(id)!);
  }

  /** Deletes the bot; conversations it still holds go back to routing (escalation skill first). */
  async remove(accountId: string, id: string): Promise<void> {
    const runtime = await this.bots.runtime(accountId, id);
    await this.setStatus(runtime, 'OFFLINE', runtime.record.lastError);
    for (const conversation of await this.deps.conversations.heldBy(accountId, runtime.record.userId)) {
      const skill = runtime.record.settings.escalation.skill ?? conversation.skill.name;
      await this.deps.conversations
        .transfer(accountId, conversation.conversationId, { role: 'SYSTEM' }, { skill })
        .catch((err) =>
          this.deps.log.warn(
            { err, conversationId: conversation.conversationId },
            'could not hand over a deleted bot’s conversation',
          ),
        );
    }
    await this.botStore.remove(id);
    await this.deps.directory.deleteUser(accountId, runtime.record.userId);
    this.bots.untrack(id);
    this.changed(id);
  }

  // ---- app installations ----

  /**
   * The app installation a bot's vendor block names must be one of the account's; a client
   * secret sent with it (for compatibility: the bot keeps none) must be that app's current one.
   */
  private async requireApp(accountId: string, vendor: { clientId: string; clientSecret?: string }): Promise<void> {
    const app = await this.deps.apps.find(accountId, vendor.clientId);
    if (!app)
      throw invalid(
        `vendor.clientId '${vendor.clientId}' is not an app installation of account '${accountId}' (install one, then name its client id)`,
        'unknown-app',
      );
    const { clientSecret } = vendor;
    if (
      clientSecret !== undefined &&
      clientSecret !== MASKED_SECRET &&
      !(await this.deps.apps.secretMatches(accountId, vendor.clientId, clientSecret))
    )
      throw invalid(
        `vendor.clientSecret is not the current secret of app '${app.name}' (was it rotated?): leave it out, a bot refers to its app and needs no secret`,
        'app-secret-mismatch',
      );
  }

  /** The bots of the account that refer to the app installation. */
  botsOfApp(accountId: string, clientId: string): Array<{ id: string; name: string }> {
    return this.onApp(accountId, clientId).map((r) => ({ id: r.record.id, name: r.record.settings.name }));
  }

  private onApp(accountId: string, clientId: string): Runtime[] {
    return this.bots.ofAccount(accountId).filter((r) => r.record.settings.vendor.clientId === clientId);
  }

  /**
   * The app's secret was rotated: its bots keep working (they refer to the app, not its secret),
   * and their cached tokens are dropped here and on every other instance, so no call carries a
   * token from before; each is tested again and the outcome reported.
   */
  async appRotated(accountId: string, clientId: string): Promise<RotatedAppBot[]> {
    return Promise.all(
      this.onApp(accountId, clientId).map(async (runtime) => {
        this.bots.track(runtime.record);
        this.changed(runtime.record.id);
        const test = await this.checks.test(runtime.client);
        const { id, settings, status } = runtime.record;
        return { id, name: settings.name, status, test };
      }),
    );
  }

  // ---- lifecycle ----

  /** Runs a test connection first; a failing test refuses the start with its reason (a conflict). */
  async start(accountId: string, id: string): Promise<{ status: BotStatus }> {
    const runtime = await this.bots.runtime(accountId, id);
    const test = await this.checks.test(runtime.client);
    if (!test.ok) {
      await this.bots.write(runtime, {
        lastError: {
          code: test.code ?? 'vendor-unreachable',
          message: test.error ?? 'test connection failed',
          at: Date.now(),
        },
      });
      this.changed(id);
      throw conflict(`test connection failed: ${test.error}`, test.code ?? 'test-connection-failed');
    }
    await this.bots.write(runtime, { desired: 'STARTED' });
    await this.setStatus(runtime, 'ONLINE', null, true);
    return { status: runtime.record.status };
  }

  async stop(accountId: string, id: string): Promise<{ status: BotStatus }> {
    const runtime = await this.bots.runtime(accountId, id);
    await this.bots.write(runtime, { desired: 'STOPPED' });
    await this.setStatus(runtime, 'OFFLINE', runtime.record.lastError, true);
    return { status: 'OFFLINE' };
  }

  /** A conversation handed straight to the bot, a test until `testUntil` unless renewed (see TestConversations). */
  async testConversation(accountId: string, id: string, testUntil: number): Promise<Conversation> {
    const runtime = await this.bots.runtime(accountId, id);
    const { settings } = runtime.record;
    return this.deps.conversations.open(accountId, {
      skill: settings.skills[0],
      type: settings.conversationType,
      assignTo: runtime.record.userId,
      testUntil,
    });
  }

  // ---- driving ----

  /** Takes the bot over; when the store is out of reach meanwhile, again once it answers. */
  private drive(runtime: Runtime): void {
    void this.takeOver(runtime).catch((err) => {
      if (isStoreUnavailable(err)) return this.resumeAfterOutage(runtime);
      this.deps.log.error({ err, botId: runtime.record.id }, 'could not take the bot over');
    });
  }

  /**
   * The store failed the bot's work because it was out of reach (restarting, a cut connection):
   * once it answers again — asked with backoff, from 250 ms up to 5 s — the bots that were
   * failed are taken over afresh, so what they owe is answered from the store.
   */
  private resumeAfterOutage(runtime: Runtime): void {
    this.owedAfterOutage.add(runtime.record.id);
    if (!this.outageRetry) this.retryAfterOutage(250);
  }

  private retryAfterOutage(delayMs: number): void {
    if (this.closed) return;
    this.outageRetry = setTimeout(async () => {
      const back = await this.deps.conversations.healthCheck().then(
        () => true,
        () => false,
      );
      if (!back) return this.retryAfterOutage(Math.min(delayMs * 2, 5_000));
      this.outageRetry = undefined;
      const owed = [...this.owedAfterOutage];
      this.owedAfterOutage.clear();
      this.deps.log.warn({ bots: owed.length }, 'store answers again: resuming what the bots owe');
      for (const botId of owed) {
        const runtime = this.bots.get(botId);
        if (runtime?.epoch !== undefined) this.drive(runtime);
      }
    }, delayMs);
    this.outageRetry.unref();
  }

  /**
   * This instance now drives the bot: an operator-started bot is tested again (a failing endpoint
   * waits in VENDOR_INTERRUPTION for the probe), then what it owes is answered, and its chat
   * inactivity timers are rebuilt from the log.
   */
  private async takeOver(runtime: Runtime): Promise<void> {
    if (runtime.record.desired === 'STARTED') {
      const test = await this.checks.test(runtime.client);
      if (test.ok) await this.setStatus(runtime, 'ONLINE', null);
      else
        await this.setStatus(runtime, 'VENDOR_INTERRUPTION', {
          code: test.code ?? 'vendor-unreachable',
          message: test.error ?? 'test connection failed',
          at: Date.now(),
        });
    }
    if (runtime.epoch === undefined || this.closed) return;
    await this.driver.recoverAll(runtime);
    const { record } = runtime;
    await this.driver.inactivity.rebuild({
      botId: record.id,
      userId: record.userId,
      accountId: record.accountId,
      settings: record.settings,
    });
    // Its new driver's first sample, rather than a gap until the next minute's.
    await this.sampler.sampleOpen(runtime);
  }

  /** The lease check joining each change made for a bot; none when one process drives them all. */
  private guard(runtime: Runtime): RowGuard | undefined {
    const botId = runtime.record.id;
    if (runtime.epoch !== undefined) return this.leases.guard(botId, runtime.epoch);
    // Not driven here (any more): whatever the leases are, the change is refused.
    return this.leases instanceof SoleLeases
      ? undefined
      : { sql: 'select 1 where false', params: [], refused: () => new LeaseLost(botId) };
  }

  /** `announce`: an operator's change, which the other instances hear of even when it changes nothing. */
  private async setStatus(
    runtime: Runtime,
    status: BotStatus,
    lastError: LastError | null,
    announce = false,
  ): Promise<void> {
    const from = runtime.record.status;
    const previousError = runtime.record.lastError;
    const changed = from !== status;
    await this.bots.write(runtime, { status, lastError });
    if (changed && this.deps.statusChanged) {
      const { id: botId, accountId, settings } = runtime.record;
      await this.deps
        .statusChanged({ accountId, botId, botName: settings.name, from, to: status, lastError, previousError })
        .catch((err) => this.deps.log.error({ err, botId }, 'could not write the alert of a bot’s status change'));
    }
    // A bot in an interruption still takes conversations (and escalates them): only OFFLINE stops routing.
    const online = status !== 'OFFLINE';
    await this.deps.directory.setUserState(runtime.record.userId, online ? 'ONLINE' : 'OFFLINE');
    if (changed || announce) this.changed(runtime.record.id);
    if (changed) this.deps.log.info({ botId: runtime.record.id, status, code: lastError?.code }, 'bot status changed');
    if (changed && status === 'ONLINE') {
      const skills = await Promise.all(
        runtime.record.settings.skills.map((s) => this.deps.directory.findSkill(runtime.record.accountId, s)),
      );
      await this.deps.conversations.routeQueued(
        runtime.record.accountId,
        skills.flatMap((s) => (s ? [s.id] : [])),
      );
    }
  }

  private readonly invoke = (accountId: string, lambdaUuid: string, payload: unknown) =>
    invokeFunction(
      {
        directory: this.deps.directory,
        dispatcher: this.deps.dispatcher,
        timeoutMs: this.deps.functionTimeoutMs ?? 10_000,
      },
      accountId,
      lambdaUuid,
      payload,
    );

  /** The bot was created, changed or deleted here: the other instances and the leases hear of it. */
  private changed(botId: string): void {
    this.deps.announceBot?.(botId);
    this.leases.botsChanged();
  }

  private async requireSkills(accountId: string, settings: BotSettings): Promise<void> {
    const names = [...settings.skills, ...(settings.escalation.skill ? [settings.escalation.skill] : [])];
    for (const name of names) {
      if (!(await this.deps.directory.findSkill(accountId, name)))
        throw invalid(`unknown skill '${name}'`, 'unknown-skill');
    }
  }

  private async view(runtime: Runtime): Promise<BotView> {
    const { record } = runtime;
    return {
      id: record.id,
      accountId: record.accountId,
      ...record.settings,
      vendor: { ...record.settings.vendor, clientSecret: MASKED_SECRET },
      status: record.status,
      openConversations: await this.deps.conversations.countHeldBy(record.userId),
      lastError: record.lastError,
      instance: this.leases.holderOf(record.id),
    };
  }
}

/** The runtime when this instance drives its bot. */
function driven(runtime: Runtime | undefined): Runtime | undefined {
  return runtime?.epoch !== undefined ? runtime : undefined;
}
