/** The Custom Endpoint connector's public surface. */
export { Connector, type ConnectorDeps } from './connector.js';
export { connectorMigrations } from './store.js';
export { StoreLeases, leaseMigrations, type BotLeases } from './leases.js';
export { connectorAdmin, type ConnectorAdminDeps } from './admin-routes.js';
export { TestConversations, type TestConversationOptions } from './test-conversations.js';
export { DEFAULT_RETRY, type RetryPolicy } from './vendor-client.js';
export type { BotSettings, BotStatus, BotView, Exchange, TestConnectionResult } from './types.js';
