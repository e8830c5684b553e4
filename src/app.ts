import { hkdfSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { clusterTimings, operatorSessionTimes, type Config } from './config.js';
import { openStore, type Store } from './store/index.js';
import { createHttpServer } from './http/server.js';
import { logRequestsAt } from './http/request-log.js';
import type { AdminAuth } from './http/auth.js';
import { Operators, operatorMigrations } from './operators/operators.js';
import { actorResolver, operatorGuard, requirePermission } from './operators/guard.js';
import { operatorAdmin } from './operators/routes.js';
import { ssoRoutes } from './operators/sso-routes.js';
import { OperatorSessions, operatorSessionMigrations } from './http/operator-sessions.js';
import { operatorSessionRoutes } from './http/operator-session-routes.js';
import {
  AuditLog,
  auditAdmin,
  auditAdminWrites,
  auditMigrations,
  auditSignIns,
  auditSsoSignIns,
} from './audit/index.js';
import {
  AlertWatch,
  Alerts,
  alertMigrations,
  alertsAdmin,
  type AlertTimings,
  type WatchTimings,
} from './alerts/index.js';
import { createLogger } from './ops/logger.js';
import { prettyDestination } from './ops/pretty-log.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { Tracing } from './ops/tracing.js';
import { operations } from './http/operations.js';
import { EventBus } from './platform/bus.js';
import { Directory } from './platform/directory.js';
import { Conversations } from './platform/conversations.js';
import { RealtimeHub } from './platform/realtime.js';
import { InProcessTransport, type BusTransport } from './platform/transport.js';
import { PostgresTransport, connectionName } from './platform/pg-transport.js';
import type { Kysely } from 'kysely';
import { CONSUMER_API_PREFIX, consumerApi } from './platform/consumer-routes.js';
import { AGENT_API_PREFIX, agentApi } from './platform/agent-routes.js';
import { platformAdmin } from './platform/admin-routes.js';
import { KeyRing } from './sentinel/keys.js';
import { AppTokens, SessionTokens } from './sentinel/tokens.js';
import { CredentialAttempts, attemptMigrations, type AttemptOptions } from './sentinel/attempts.js';
import { SENTINEL_PREFIX, sentinelApi } from './sentinel/routes.js';
import { sentinelAdmin } from './sentinel/admin-routes.js';
import { domainLookup } from './discovery/routes.js';
import { randomSecret } from './util/passwords.js';
import { createPublicApi, publicApiMigrations } from './public-api/index.js';
import { webConsole } from './web/serve.js';
import { apiReference } from './web/reference.js';
import { Agent } from 'undici';
import {
  Connector,
  StoreLeases,
  connectorMigrations,
  leaseMigrations,
  connectorAdmin,
  TestConversations,
  type TestConversationOptions,
  type ConnectorDeps,
} from './connector/index.js';
import { ERROR_CODES } from './connector/error-codes.js';
import { createContractValidator, createStructuredContentValidator } from './contract/index.js';
import { ProbeTokens, sentinelTokenSource } from './sentinel/probe-tokens.js';
import { createSecretBox, loadSecretKey } from './util/secret-box.js';
import { makePrivateDataDir } from './util/private-files.js';
import { demoBot, DEMO_BOT_PREFIX } from './demo-bot/index.js';
import { demoBotLogins as createDemoBotLogins, type DemoBotLogins } from './demo-account.js';

export const VERSION = '0.1.0';

export interface App {
  readonly config: Config;
  readonly server: FastifyInstance;
  readonly store: Store;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly bus: EventBus;
  readonly directory: Directory;
  readonly conversations: Conversations;
  readonly hub: RealtimeHub;
  readonly keys: KeyRing;
  readonly apps: AppTokens;
  readonly sessions: SessionTokens;
  readonly connector: Connector;
  /** The built-in demo bot's Public API logins (the demo account's is saved when it is seeded). */
  readonly demoBotLogins: DemoBotLogins;
  /** Who changed what through the admin API and the console, and every sign-in (audit/). */
  readonly audit: AuditLog;
  /** Alert destinations and the alerts' outbox and sender (alerts/). */
  readonly alerts: Alerts;
  readonly adminToken: string;
  /** True when this start generated the admin token (main prints it once). */
  readonly adminTokenCreated: boolean;
  /** Listens on config host/port; resolves to the base URL. */
  listen(): Promise<string>;
  /** host:port this server is reached at (PUBLIC_HOST, else the listen address). */
  publicHost(): string;
  close(): Promise<void>;
}

/**
 * Builds the whole product from its parts, every dependency passed in by hand: nothing global,
 * so a test can build several apps in one process, each on its own data dir or database.
 */
export interface BuildOptions {
  logger?: Logger;
  /** Connector timings (retry backoff, probe interval...) for tests and benchmarks. */
  connector?: Partial<Pick<ConnectorDeps, 'retry' | 'probeIntervalMs' | 'serviceRetryMs' | 'functionTimeoutMs'>>;
  testConversations?: TestConversationOptions;
  /** Login and token-grant limits, and their clock, for tests. */
  attempts?: AttemptOptions;
  /** PostgreSQL bot leases: how long one lasts and how often it is renewed (tests shorten both). */
  leases?: { ttlMs?: number; renewMs?: number };
  /** Tests: a response schema that would change an answer fails the request (HttpServerOptions). */
  checkResponses?: boolean;
  /** The console sessions' clock, for tests of their expiry. */
  operatorSessions?: { now?: () => number };
  /** The audit log's clock, for tests of its retention. */
  audit?: { now?: () => number };
  /** Alert delivery timings (poll, backoff, attempts, timeout), for tests. */
  alerts?: Partial<AlertTimings>;
  alertWatch?: Partial<WatchTimings>;
}

export async function buildApp(config: Config, options: BuildOptions = {}): Promise<App> {
  const log =
    options.logger ??
    createLogger(config.logLevel, config.logFormat === 'pretty' ? prettyDestination(process.stdout) : undefined);
  const dataDir = makePrivateDataDir(config.dataDir);
  if (dataDir.warning) log.warn(dataDir.warning);
  // One key seals every secret at rest: bot client secrets, signing keys, the session secret.
  const secretKey = loadSecretKey(config.secretKey, config.dataDir);
  const secretBox = createSecretBox(secretKey);
  const ownConnections = connectionName(config.instanceId);
  const cluster = config.cluster ?? clusterTimings();
  const store = await openStore({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    connectionName: ownConnections,
    sqliteSynchronous: config.sqliteSynchronous,
    claim: true,
    onBackgroundError: (err, what) => log.error({ err }, `store: ${what}`),
    timeouts: cluster,
  });
  await store.migrate({
    ...connectorMigrations(store.dialect),
    ...leaseMigrations(store.dialect),
    ...publicApiMigrations(store.dialect),
    ...attemptMigrations(store.dialect),
    ...operatorMigrations(store.dialect),
    ...operatorSessionMigrations(store.dialect),
    ...auditMigrations(store.dialect),
    ...alertMigrations(store.dialect),
  });

  // OpenTelemetry traces, when an OTLP endpoint is configured; undefined (nothing traced) otherwise.
  const tracing = config.tracing ? await Tracing.start(config.tracing) : undefined;
  const bus = new EventBus(log);
  const directory = new Directory(store);
  // Read on each scrape, by then long built.
  const metrics = createMetrics({ openConversations: () => conversations.countOpen() });
  // Instances sharing one PostgreSQL hear of each other's changes; a SQLite process is alone.
  const transport: BusTransport = config.databaseUrl
    ? new PostgresTransport({
        connectionString: config.databaseUrl,
        connectionName: ownConnections,
        db: store.db as Kysely<unknown>,
        log,
        timeouts: cluster,
        onLag: (seconds) => metrics.changeNoticeLag.observe(seconds),
      })
    : new InProcessTransport();
  const conversations = new Conversations(store, directory, bus, metrics, transport);
  const hub = new RealtimeHub(bus);
  const keys = new KeyRing(store, secretBox);
  const apps = new AppTokens(store, keys);
  const sessions = new SessionTokens(store, secretBox);
  const attempts = new CredentialAttempts(store, options.attempts);
  try {
    // Seals what an earlier version stored in plaintext; a store sealed with another key stops the start here.
    await keys.sealAtRest();
    await sessions.sealAtRest();
    await keys.current();
  } catch (error) {
    await store.close();
    throw error;
  }

  const { adminToken, created: adminTokenCreated } = resolveAdminToken(config);
  const operatorSessions = new OperatorSessions(store, {
    adminToken,
    times: config.operatorSessions ?? operatorSessionTimes(),
    ...options.operatorSessions,
  });
  // One keep-alive pool set for every outbound call (bot services, functions).
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 512 });
  const structuredContent = createStructuredContentValidator();
  const contract = createContractValidator();
  const alerts = new Alerts({
    store,
    dispatcher,
    log,
    instance: `${config.instanceId}:${randomUUID()}`,
    timings: options.alerts,
  });
  const connector = new Connector({
    store,
    directory,
    conversations,
    bus,
    apps,
    structuredContent,
    contract,
    dispatcher,
    log,
    metrics,
    instance: config.instanceId,
    // Instances on one PostgreSQL share the bots out through leases; one process drives them all.
    ...(config.databaseUrl
      ? {
          leases: new StoreLeases(store.db, {
            instance: config.instanceId,
            owner: ownConnections,
            log,
            ttlMs: cluster.leaseTtlMs,
            renewMs: cluster.leaseRenewMs,
            ...options.leases,
          }),
        }
      : {}),
    announceBot: (botId) => transport.tell({ botId }),
    ...(tracing ? { tracing } : {}),
    statusChanged: (change) => alerts.botStatusChanged(change),
    ...options.connector,
  });
  await connector.init();
  const alertWatch = new AlertWatch({
    store,
    alerts,
    log,
    timings: options.alertWatch,
    signals: {
      bots: (accountId) => connector.reads.botNames(accountId),
      botCounts: (accountId, fromMinute) => connector.reads.recentCounts(accountId, fromMinute),
      // Called only once the server listens, when the Public API (created below) is there.
      publicApiBacklog: (accountId) => publicApi.backlog(accountId),
    },
  });
  const tests = new TestConversations({ connector, conversations, log }, options.testConversations);
  await transport.listen({
    change: (notice) => {
      // Read only what something here listens for: every instance reading every change would
      // multiply the database's work by the number of instances.
      const wanted =
        hub.watches(notice.conversationId, notice.accountId) ||
        connector.drives(notice.holder?.userId) ||
        connector.drives(notice.previous?.holder?.userId);
      if (!wanted) return conversations.replication.ignore(notice);
      void conversations.replication
        .receive(notice)
        .catch((err) =>
          log.error({ err, conversationId: notice.conversationId }, 'could not announce another instance’s change'),
        );
    },
    typing: (notice) => void conversations.replication.receiveTyping(notice).catch(() => undefined),
    bot: (notice) =>
      void connector
        .botChanged(notice.botId)
        .catch((err) => log.error({ err, botId: notice.botId }, 'could not read a bot another instance changed')),
    resync: () => {
      // Streams resume from their own last sequence; what the bus missed is announced again.
      hub.endAll();
      // The driver catches up even when the announcements cannot (the store still coming back):
      // its own outage retry then answers what the bots owe.
      void conversations.replication
        .catchUp()
        .catch((err) => log.warn({ err }, 'announcing what other instances changed failed'))
        .then(() => connector.catchUp())
        .catch((err) => log.error({ err }, 'catching up with other instances failed'));
    },
  });

  const server = await createHttpServer({
    logger: log,
    metrics,
    version: VERSION,
    checkResponses: options.checkResponses,
    trustProxy: config.trustProxy,
  });
  let listenAddress = `${config.host}:${config.port}`;
  const publicHost = () => config.publicHost ?? listenAddress;

  await server.register(operations, {
    store,
    instanceId: config.instanceId,
    listener: () => transport.health(),
    metrics,
  });

  server.addHook('preClose', async () => hub.endAll());
  await server.register(consumerApi, {
    prefix: CONSUMER_API_PREFIX,
    conversations,
    directory,
    sessions,
    hub,
    ...(tracing ? { tracing } : {}),
  });
  await server.register(agentApi, { prefix: AGENT_API_PREFIX, conversations, directory, sessions, hub, attempts });
  await server.register(sentinelApi, { prefix: SENTINEL_PREFIX, keys, apps, directory, attempts });
  await server.register(domainLookup, { directory, publicHost });
  const adminAuth: AdminAuth = { adminToken, sessions: operatorSessions, ownHosts: () => [publicHost()] };
  // Everything under /admin/v1 answers to the admin token alone (as a bearer, or through the
  // console's session signed in with it), whichever part serves it: the guard sits on the scope
  // the three admin plugins share, before anything of theirs runs. Signing in is outside it.
  const operators = new Operators(store);
  const audit = new AuditLog(store, { retentionDays: config.auditRetentionDays ?? 365, ...options.audit });
  // Sign-ins are outside the admin guard: their own scope records them (and sign-outs).
  const sessionScope: FastifyPluginAsync = async (scope) => {
    auditSignIns(scope, { audit, actorOf: actorResolver({ auth: adminAuth, operators }) });
    await scope.register(operatorSessionRoutes, {
      auth: adminAuth,
      // A named operator's password, counted against guessing like an agent's.
      verifyOperator: (login, password, address) =>
        attempts.verify({ credential: 'password', accountId: '', name: login.toLowerCase(), address }, () =>
          operators.verify(login, password),
        ),
      findOperator: (id) => operators.find(id),
    });
  };
  await server.register(sessionScope, { prefix: '/admin/v1' });
  // Single sign-on's sign-ins are recorded on a scope of their own, by the session the callback set.
  const ssoScope: FastifyPluginAsync = async (scope) => {
    auditSsoSignIns(scope, {
      audit,
      actorOfSession: async (sessionId) => {
        const operatorId = (await operatorSessions.find(sessionId))?.operatorId;
        const operator = operatorId ? await operators.find(operatorId) : undefined;
        return operator && { kind: 'operator', id: operator.id, name: operator.login };
      },
    });
    await scope.register(ssoRoutes, {
      sso: config.sso,
      // A key of its own for what the browser carries: a cookie never opens with the key of secrets at rest.
      box: createSecretBox(Buffer.from(hkdfSync('sha256', secretKey, '', 'botbridge sso transaction', 32))),
      sessions: operatorSessions,
      operators,
      publicHost,
    });
  };
  await server.register(ssoScope, { prefix: '/admin/v1' });
  const adminScope: FastifyPluginAsync = async (admin) => {
    admin.addHook('onRequest', operatorGuard({ auth: adminAuth, operators }));
    admin.addHook('onRoute', requirePermission);
    // Before the parts register: it learns their GET routes to read objects before and after.
    auditAdminWrites(admin, { audit, prefix: '/admin/v1' });
    // Every admin route takes the console's session cookie as well as the bearer: say so once,
    // here, rather than in each part's route schemas.
    admin.addHook('onRoute', (route) => {
      const security = route.schema?.security;
      // A GET's HEAD twin shares its schema: it is seen twice.
      if (security && !security.some((s) => 'operatorSession' in s))
        route.schema!.security = [...security, { operatorSession: [] }];
    });
    await admin.register(platformAdmin, { directory, conversations, hub });
    await admin.register(operatorAdmin, { operators, requireAccount: (acc) => directory.requireAccount(acc) });
    await admin.register(auditAdmin, { audit, requireAccount: (acc) => directory.requireAccount(acc) });
    await admin.register(alertsAdmin, {
      alerts,
      watch: alertWatch,
      requireAccount: (acc) => directory.requireAccount(acc),
    });
    await admin.register(sentinelAdmin, {
      apps,
      keys,
      directory,
      appUsers: {
        botsOf: (acc, clientId) => connector.botsOfApp(acc, clientId),
        rotated: (acc, clientId) => connector.appRotated(acc, clientId),
      },
    });
    await admin.register(connectorAdmin, {
      connector,
      tests,
      sessions,
      errorCodes: ERROR_CODES,
      probeTokens: (app) => new ProbeTokens(sentinelTokenSource(keys, apps, app), app),
    });
  };
  await server.register(adminScope, { prefix: '/admin/v1' });
  const publicApi = await createPublicApi(server, {
    store,
    directory,
    conversations,
    sessions,
    attempts,
    log,
    metrics,
    structuredContent,
    ...(tracing ? { tracing } : {}),
  });
  const demoBotLogins = createDemoBotLogins(store.db, secretBox);
  // The demo Custom Endpoint service rides along, verifying our tokens like any real one would.
  // Its callers are the connector's exchanges, each already told by the consumer's message and the
  // bot's exchange log: its own request lines are for debugging. (A bot like any other, it knows
  // nothing of our HTTP edge: the level is set on the scope it is mounted in.)
  const demoBotScope: FastifyPluginAsync = async (scope) => {
    logRequestsAt(scope, 'debug');
    await scope.register(demoBot, {
      prefix: DEMO_BOT_PREFIX,
      jwksUrl: () => `http://${publicHost()}/sentinel/well-known/jwks`,
      // It serves every account of this platform, and only those: another platform's token, or one
      // minted for an account that does not exist here, is refused like any real service must.
      accounts: (accountId) => directory.accountExists(accountId),
      // Its "later" replies come back through this platform's Public API, found by its domain lookup.
      publicApi: { domainLookup: () => `http://${publicHost()}`, login: (accountId) => demoBotLogins.login(accountId) },
      log,
    });
  };
  await server.register(demoBotScope);
  await server.register(apiReference);
  await server.register(webConsole, { webDir: config.webDir });

  const app: App = {
    config,
    server,
    store,
    log,
    metrics,
    bus,
    directory,
    conversations,
    hub,
    keys,
    apps,
    sessions,
    connector,
    demoBotLogins,
    audit,
    alerts,
    adminToken,
    adminTokenCreated,
    publicHost,
    async listen() {
      await server.listen({ host: config.host, port: config.port });
      const address = server.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      listenAddress = `${host}:${port}`;
      // Bots come back in the background: a slow bot service must not hold up the server.
      void connector.resume().catch((err) => log.error({ err }, 'resuming bots failed'));
      tests.start();
      alerts.start();
      alertWatch.start();
      return `http://${listenAddress}`;
    },
    async close() {
      // Fastify stops accepting, lets in-flight requests finish, then the store closes.
      await tests.stop();
      await connector.close();
      await alertWatch.close();
      await alerts.close();
      await server.close();
      await publicApi.close();
      await dispatcher.close();
      await transport.close();
      await store.close();
      // Last: the spans of everything above are exported before the process goes.
      await tracing?.shutdown().catch((err) => log.warn({ err }, 'exporting the last spans failed'));
    },
  };
  return app;
}

/** ADMIN_TOKEN wins; otherwise the token generated on first start, kept in the data dir. */
function resolveAdminToken(config: Config): { adminToken: string; created: boolean } {
  if (config.adminToken) return { adminToken: config.adminToken, created: false };
  const file = join(config.dataDir, 'admin-token');
  if (existsSync(file)) return { adminToken: readFileSync(file, 'utf8').trim(), created: false };
  const adminToken = randomSecret(32);
  writeFileSync(file, `${adminToken}\n`, { mode: 0o600 });
  return { adminToken, created: true };
}
