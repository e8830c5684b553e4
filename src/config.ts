import { hostname } from 'node:os';
import { ssoConfigFromEnv, type SsoConfig } from './operators/sso-config.js';
import { tracingConfigFromEnv, type TracingConfig } from './ops/tracing.js';

/** Everything the process reads from its environment, in one place. Pure: env in, config out. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl?: string;
  adminToken?: string;
  demo: boolean;
  /** host:port others use to reach this server (domain lookup answers it); defaults to the listen address. */
  publicHost?: string;
  logLevel: string;
  /** JSON lines for machines, or one readable line per entry for a person at a terminal. */
  logFormat: 'json' | 'pretty';
  sqliteSynchronous: 'NORMAL' | 'FULL';
  /** Serve the built console from this folder when it exists. */
  webDir?: string;
  /** Base64 32-byte key sealing bot secrets at rest; when unset, a key file in the data dir. */
  secretKey?: string;
  /** Names this process among the replicas (in `/healthz`); defaults to `hostname:pid`. */
  instanceId: string;
  /**
   * The proxies whose X-Forwarded-For is believed: their addresses, CIDRs or proxy-addr's names
   * (`loopback`, `uniquelocal`), comma-separated. Unset: the client is the socket's peer. Login
   * limits count failures per client address, so behind a proxy without this every client is the proxy.
   */
  trustProxy?: string;
  /** PostgreSQL: the bots' leases and the bounds on every connection's waits (clusterTimings). */
  cluster?: ClusterTimings;
  /** How long an operator's console sign-in lasts (operatorSessionTimes); the standard times when unset. */
  operatorSessions?: OperatorSessionTimes;
  /** How many days audit log entries are kept (AUDIT_RETENTION_DAYS, 365). */
  auditRetentionDays?: number;
  /** Single sign-on through an OpenID provider (OIDC_*, operators/sso-config.ts); off when unset. */
  sso?: SsoConfig;
  /** OpenTelemetry traces sent over OTLP/HTTP (OTEL_EXPORTER_OTLP_*, ops/tracing.ts); off when unset. */
  tracing?: TracingConfig;
}

/**
 * An operator's console session ends after `idleMs` without a request, and `maxMs` after sign-in
 * however busy: a cookie left in a browser for good is a standing admin credential.
 */
export interface OperatorSessionTimes {
  idleMs: number;
  maxMs: number;
}

/**
 * How long a bot's lease lasts and how long anything may wait on the database. Every wait is
 * bounded by the lease: a paused or cut-off holder's transaction is ended by the server
 * (`idleInTransactionMs`) well before its lease could be taken over, so a takeover never queues
 * behind it, and nobody waits for a lock (`lockTimeoutMs`) or a statement (`statementTimeoutMs`)
 * longer than the failover it would hold up.
 */
export interface ClusterTimings {
  /** A lease not renewed for this long is another instance's to take (LEASE_TTL_MS, 8 s). */
  leaseTtlMs: number;
  /** How often leases are renewed and shared out (LEASE_RENEW_MS, a quarter of the lease). */
  leaseRenewMs: number;
  /** The server ends a session idle inside a transaction this long (a quarter of the lease). */
  idleInTransactionMs: number;
  /** A statement waiting for a row lock gives up after this (half the lease). */
  lockTimeoutMs: number;
  /** A statement running this long is cancelled (the lease); the client gives up a little later. */
  statementTimeoutMs: number;
}

/**
 * `host` is where the default instance id comes from, and whether stdout is a terminal (pretty
 * logs then, unless LOG_FORMAT says otherwise): the process's own when not given.
 */
export function configFromEnv(
  env: NodeJS.ProcessEnv,
  host: { hostname: string; pid: number; tty?: boolean } = {
    hostname: hostname(),
    pid: process.pid,
    tty: process.stdout.isTTY,
  },
): Config {
  const logFormat = env.LOG_FORMAT || (host.tty ? 'pretty' : 'json');
  if (logFormat !== 'json' && logFormat !== 'pretty')
    throw new Error(`LOG_FORMAT must be json or pretty, got '${env.LOG_FORMAT}'`);
  const port = env.PORT === undefined ? 8080 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT must be a port number, got '${env.PORT}'`);
  const sync = (env.SQLITE_SYNCHRONOUS ?? 'NORMAL').toUpperCase();
  if (sync !== 'NORMAL' && sync !== 'FULL')
    throw new Error(`SQLITE_SYNCHRONOUS must be NORMAL or FULL, got '${env.SQLITE_SYNCHRONOUS}'`);
  return {
    host: env.HOST || '127.0.0.1',
    port,
    dataDir: env.DATA_DIR || './data',
    databaseUrl: env.DATABASE_URL || undefined,
    adminToken: env.ADMIN_TOKEN || undefined,
    demo: env.DEMO !== '0' && env.DEMO !== 'false',
    publicHost: env.PUBLIC_HOST || undefined,
    logLevel: env.LOG_LEVEL || 'info',
    logFormat,
    sqliteSynchronous: sync,
    webDir: env.WEB_DIR || undefined,
    secretKey: env.SECRET_KEY || undefined,
    instanceId: env.INSTANCE_ID || `${host.hostname}:${host.pid}`,
    ...trustProxyOf(env.TRUST_PROXY),
    cluster: clusterTimings(env),
    operatorSessions: operatorSessionTimes(env),
    auditRetentionDays: auditRetentionDays(env),
    sso: ssoConfigFromEnv(env),
    tracing: tracingConfigFromEnv(env),
  };
}

const MINUTE_MS = 60_000;

/** AUDIT_RETENTION_DAYS (365: a year of who changed what, then pruned). */
export function auditRetentionDays(env: NodeJS.ProcessEnv = {}): number {
  const raw = env.AUDIT_RETENTION_DAYS;
  if (raw === undefined || raw === '') return 365;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`AUDIT_RETENTION_DAYS must be a whole number of days, at least 1, got '${raw}'`);
  return value;
}

/**
 * OPERATOR_SESSION_IDLE_MINUTES (720: a working day, but not the night after it) and
 * OPERATOR_SESSION_MAX_DAYS (7: a week of daily use, then the admin token once more).
 */
export function operatorSessionTimes(env: NodeJS.ProcessEnv = {}): OperatorSessionTimes {
  const whole = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`${name} must be a whole number, at least 1, got '${raw}'`);
    return value;
  };
  const idleMs = whole('OPERATOR_SESSION_IDLE_MINUTES', 720) * MINUTE_MS;
  const maxMs = whole('OPERATOR_SESSION_MAX_DAYS', 7) * 24 * 60 * MINUTE_MS;
  if (idleMs > maxMs)
    throw new Error('OPERATOR_SESSION_IDLE_MINUTES must not be longer than OPERATOR_SESSION_MAX_DAYS');
  return { idleMs, maxMs };
}

/** LEASE_TTL_MS, LEASE_RENEW_MS and PG_{IDLE_IN_TRANSACTION,LOCK,STATEMENT}_TIMEOUT_MS, each defaulting from the lease. */
export function clusterTimings(env: NodeJS.ProcessEnv = {}): ClusterTimings {
  const ms = (name: string, fallback: number, min = 100) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`${name} must be a whole number of milliseconds, at least ${min}, got '${raw}'`);
    return value;
  };
  const leaseTtlMs = ms('LEASE_TTL_MS', 8_000, 1_000);
  const leaseRenewMs = ms('LEASE_RENEW_MS', Math.round(leaseTtlMs / 4));
  if (leaseRenewMs * 2 > leaseTtlMs)
    throw new Error(`LEASE_RENEW_MS (${leaseRenewMs}) must be at most half of LEASE_TTL_MS (${leaseTtlMs})`);
  return {
    leaseTtlMs,
    leaseRenewMs,
    idleInTransactionMs: ms('PG_IDLE_IN_TRANSACTION_TIMEOUT_MS', Math.round(leaseTtlMs / 4)),
    lockTimeoutMs: ms('PG_LOCK_TIMEOUT_MS', Math.round(leaseTtlMs / 2)),
    statementTimeoutMs: ms('PG_STATEMENT_TIMEOUT_MS', leaseTtlMs),
  };
}

/**
 * TRUST_PROXY: the proxies by address. Not "true" (any client's header would be believed, and a
 * guesser could pick a new address per try) nor a hop count (it cannot tell a proxy from a
 * client that wrote the header itself).
 */
function trustProxyOf(raw: string | undefined): { trustProxy?: string } {
  const value = raw?.trim();
  if (!value) return {};
  if (/^(true|false|\d+)$/i.test(value))
    throw new Error(
      `TRUST_PROXY names the proxies to believe, comma-separated (addresses, CIDRs, loopback, uniquelocal), got '${raw}'`,
    );
  return { trustProxy: value };
}
