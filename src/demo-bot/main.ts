import { createLogger } from '../ops/logger.js';
import { demoBotConfigFromEnv } from './config.js';
import { DEMO_BOT_ID, createDemoBotServer } from './plugin.js';

/**
 * The demo bot on its own: `tsx src/demo-bot/main.ts` (or `node dist/src/demo-bot/main.js`).
 * DEMO_BOT_HOST / DEMO_BOT_PORT to listen on, JWKS_URL of the platform whose tokens it accepts,
 * DEMO_BOT_ACCOUNTS (comma-separated) to accept only those accounts, DEMO_BOT_TRANSFER_SKILL;
 * DEMO_BOT_API_USER / DEMO_BOT_API_PASSWORD, a Public API login for "later" (DEMO_BOT_PLATFORM_URL
 * where the domain lookup is asked, default JWKS_URL's origin).
 */
async function main(): Promise<void> {
  const config = demoBotConfigFromEnv(process.env);
  const log = createLogger(config.logLevel);
  const { publicApi } = config;
  const server = await createDemoBotServer({
    prefix: config.prefix,
    jwksUrl: config.jwksUrl,
    accounts: config.accounts,
    transferSkill: config.transferSkill,
    log,
    ...(publicApi
      ? {
          publicApi: {
            domainLookup: publicApi.platformUrl,
            login: async () => ({ username: publicApi.username, password: publicApi.password }),
          },
        }
      : {}),
  });
  await server.listen({ host: config.host, port: config.port });
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const baseUrl = `http://${host}:${port}${config.prefix}`;
  process.stdout.write(
    [
      `demo bot listening; Custom Endpoint base URL: ${baseUrl}`,
      `  bot id:       ${DEMO_BOT_ID} (any id works; "maintenance", "offline", "error" report that state)`,
      `  environments: draft, production`,
      `  tokens from:  ${config.jwksUrl}${config.accounts ? ` (accounts: ${config.accounts.join(', ')})` : ''}`,
      `  later:        ${config.publicApi ? `Public API of ${config.publicApi.platformUrl} as ${config.publicApi.username}` : 'off (no DEMO_BOT_API_USER)'}`,
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'demo bot shutting down');
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(
    `demo bot failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
