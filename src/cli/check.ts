import { Agent } from 'undici';
import { applySettings } from '../connector/bot-config.js';
import { checkConformance, type ConformanceReport } from '../connector/conformance.js';
import { CUSTOM_ENDPOINT_SCOPE, createContractValidator, createStructuredContentValidator } from '../contract/index.js';
import { ephemeralSentinel, ProbeTokens } from '../sentinel/probe-tokens.js';

export interface StandaloneCheckOptions {
  /** The Custom Endpoint service's base URL (what a bot's vendor settings name). */
  baseUrl: string;
  botId: string;
  environment?: string;
  /** The account the tokens are for: the service must accept it. Default `check`. */
  accountId?: string;
  conversationType?: 'MESSAGING' | 'CHAT';
  timeoutSeconds?: number;
  /** Where the check's own Sentinel serves its JWKS; 0 (the default) picks a free port. */
  jwksPort?: number;
  /** Told once the JWKS is served, before any call to the service. */
  onSentinel?: (sentinel: { baseUrl: string; jwksUrl: string }) => void;
}

/**
 * The whole conformance check with no botbridge server: the same checks the server's route runs
 * (connector/conformance.ts), with a Sentinel of the run's own (an ephemeral key, its JWKS on
 * loopback at Sentinel's path), so a bot team can run it in CI against a service it just started.
 */
export async function checkStandalone(options: StandaloneCheckOptions): Promise<ConformanceReport> {
  const accountId = options.accountId ?? 'check';
  const clientId = 'botbridge-check';
  const sentinel = await ephemeralSentinel({
    accountId,
    clientId,
    scope: CUSTOM_ENDPOINT_SCOPE,
    port: options.jwksPort ?? 0,
  });
  const dispatcher = new Agent({ connections: 4 });
  try {
    options.onSentinel?.({ baseUrl: sentinel.baseUrl, jwksUrl: sentinel.jwksUrl });
    const vendor = {
      type: 'CUSTOM_ENDPOINT' as const,
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      clientId,
      botId: options.botId,
      environment: options.environment ?? 'draft',
      timeoutSeconds: options.timeoutSeconds ?? 10,
    };
    const settings = applySettings({ conversationType: options.conversationType ?? 'MESSAGING', vendor });
    return await checkConformance(
      { accountId, vendor, settings },
      {
        dispatcher,
        tokens: new ProbeTokens(sentinel, { accountId, clientId }),
        contract: createContractValidator(),
        structuredContent: createStructuredContentValidator(),
        maxResponseBytes: settings.limits.maxResponseBytes,
      },
    );
  } finally {
    await dispatcher.close();
    await sentinel.close();
  }
}
