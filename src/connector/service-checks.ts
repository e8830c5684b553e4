import type { Dispatcher } from 'undici';
import type { Directory } from '../platform/directory.js';
import type { ContractValidator, StructuredContentValidator } from '../contract/index.js';
import { upstreamFailed } from '../errors.js';
import { MASKED_SECRET } from './bot-config.js';
import { checkConformance, type ConformanceReport, type ProbeTokens } from './conformance.js';
import type { Exchanges } from './exchange.js';
import { testConnection } from './probes.js';
import type { BotRegistry } from './registry.js';
import type { TestConnectionResult, VendorCredentials } from './types.js';
import { VendorError, type CustomEndpointClient, type TokenIssuer } from './vendor-client.js';

/** A vendor block the console checks before saving it: older clients also send the app's secret. */
export type UnsavedVendor = VendorCredentials & { clientSecret?: string };

/** What the checks need of Sentinel's app installations. */
export interface AppTokens extends TokenIssuer {
  secretMatches(accountId: string, clientId: string, secret: string): Promise<boolean>;
}

/**
 * Checks of a bot's service, asked for by an operator rather than by a conversation: its
 * environments, a test connection, the whole contract (conformance), for a saved bot or for a
 * vendor block the console has not saved yet. A service's failure is the operator's answer
 * (upstream-failed with its code), not the bot's status.
 */
export class ServiceChecks {
  constructor(
    private readonly deps: {
      bots: BotRegistry;
      directory: Directory;
      apps: AppTokens;
      exchanges: Exchanges;
      dispatcher: Dispatcher;
      contract: ContractValidator;
      structuredContent: StructuredContentValidator;
    },
  ) {}

  async environments(accountId: string, id: string): Promise<string[]> {
    const runtime = await this.deps.bots.runtime(accountId, id);
    return answerOf(() => runtime.client.environments());
  }

  /** Environments for a vendor block not saved yet (the console's create form). */
  async environmentsFor(accountId: string, vendor: UnsavedVendor): Promise<string[]> {
    await this.deps.directory.requireAccount(accountId);
    return answerOf(() => this.unsavedClient(accountId, vendor).environments());
  }

  async testConnection(accountId: string, id: string): Promise<TestConnectionResult> {
    return this.test((await this.deps.bots.runtime(accountId, id)).client);
  }

  async testConnectionFor(accountId: string, vendor: UnsavedVendor): Promise<TestConnectionResult> {
    await this.deps.directory.requireAccount(accountId);
    return this.test(this.unsavedClient(accountId, vendor));
  }

  /** A test connection with a bot's own client (a start, a probe, an app's rotated secret use it too). */
  test(client: CustomEndpointClient): Promise<TestConnectionResult> {
    return testConnection(client, this.deps.exchanges);
  }

  /**
   * Drives the bot's service through the whole contract with its own credentials and tokens a
   * service must refuse (conformance.ts); `probes` mints them for the bot's app.
   */
  async conformance(
    accountId: string,
    id: string,
    probes: (app: { accountId: string; clientId: string }) => ProbeTokens,
  ): Promise<ConformanceReport> {
    const { record } = await this.deps.bots.runtime(accountId, id);
    const vendor = {
      ...record.settings.vendor,
      environment: record.settings.vendor.environment ?? 'draft',
      timeoutSeconds: record.settings.vendor.timeoutSeconds ?? 60,
    };
    return checkConformance(
      { accountId, vendor, settings: record.settings },
      {
        dispatcher: this.deps.dispatcher,
        tokens: probes({ accountId, clientId: vendor.clientId }),
        contract: this.deps.contract,
        structuredContent: this.deps.structuredContent,
        maxResponseBytes: record.settings.limits.maxResponseBytes,
      },
    );
  }

  /**
   * A client for a vendor block not saved yet. A client secret sent with it (older clients send
   * the app's credentials) must be the app's current one, or no token is had: the check says so
   * as the service check it is (vendor-auth-rejected), as a saved bot's would.
   */
  private unsavedClient(accountId: string, { clientSecret, ...vendor }: UnsavedVendor): CustomEndpointClient {
    const { apps } = this.deps;
    const tokens: TokenIssuer = {
      grantTo: async (acc, clientId) =>
        clientSecret === undefined ||
        clientSecret === MASKED_SECRET ||
        (await apps.secretMatches(acc, clientId, clientSecret))
          ? apps.grantTo(acc, clientId)
          : undefined,
    };
    return this.deps.bots.clientFor(accountId, vendor, undefined, tokens);
  }
}

/** The service's answer, or its failure as the operator's upstream-failed error. */
async function answerOf<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof VendorError) throw upstreamFailed(error.message, error.code);
    throw error;
  }
}
