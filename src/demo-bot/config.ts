import { DEMO_BOT_PREFIX } from './plugin.js';

/** The standalone demo bot's settings, read from the environment. Pure: env in, config out. */
export interface DemoBotConfig {
  host: string;
  port: number;
  prefix: string;
  jwksUrl: string;
  accounts?: string[];
  transferSkill: string;
  logLevel: string;
  /** A Public API login for "later" (any account the bot serves), and the platform URL its domain lookup is asked at. */
  publicApi?: { username: string; password: string; platformUrl: string };
}

export function demoBotConfigFromEnv(env: NodeJS.ProcessEnv): DemoBotConfig {
  const port = env.DEMO_BOT_PORT === undefined || env.DEMO_BOT_PORT === '' ? 8081 : Number(env.DEMO_BOT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`DEMO_BOT_PORT must be a port number, got '${env.DEMO_BOT_PORT}'`);
  const jwksUrl = env.JWKS_URL || 'http://127.0.0.1:8080/sentinel/well-known/jwks';
  try {
    new URL(jwksUrl);
  } catch {
    throw new Error(`JWKS_URL must be an absolute URL, got '${jwksUrl}'`);
  }
  const accounts = (env.DEMO_BOT_ACCOUNTS ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const prefix = env.DEMO_BOT_PREFIX ?? DEMO_BOT_PREFIX;
  if (prefix !== '' && !/^\/[A-Za-z0-9._~/-]*[^/]$/.test(prefix))
    throw new Error(`DEMO_BOT_PREFIX must start with '/' and not end with one, got '${prefix}'`);
  const username = env.DEMO_BOT_API_USER ?? '';
  const password = env.DEMO_BOT_API_PASSWORD ?? '';
  if (Boolean(username) !== Boolean(password))
    throw new Error('DEMO_BOT_API_USER and DEMO_BOT_API_PASSWORD go together: set both or neither');
  const platformUrl = env.DEMO_BOT_PLATFORM_URL || new URL(jwksUrl).origin;
  try {
    new URL(platformUrl);
  } catch {
    throw new Error(`DEMO_BOT_PLATFORM_URL must be an absolute URL, got '${platformUrl}'`);
  }
  return {
    host: env.DEMO_BOT_HOST || '127.0.0.1',
    port,
    prefix,
    jwksUrl,
    accounts: accounts.length ? accounts : undefined,
    transferSkill: env.DEMO_BOT_TRANSFER_SKILL || 'human',
    logLevel: env.LOG_LEVEL || 'info',
    ...(username ? { publicApi: { username, password, platformUrl } } : {}),
  };
}
