/** The Custom Endpoint connector's public surface. */
export { Connector, type ConnectorDeps, type BotView, type TestConnectionResult } from './connector.js';
export { connectorMigrations, type Exchange } from './store.js';
export { StoreLeases, leaseMigrations, type BotLeases } from './leases.js';
export { connectorAdmin, type ConnectorAdminDeps } from './admin-routes.js';
export { DEFAULT_RETRY, type RetryPolicy } from './vendor-client.js';
export type { BotSettings, BotStatus } from './bot-config.js';
