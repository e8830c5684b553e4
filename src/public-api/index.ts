import type { FastifyInstance } from 'fastify';
import type { Migration } from 'kysely';
import type { Logger } from 'pino';
import type { Store, Dialect } from '../store/index.js';
import type { Directory } from '../platform/directory.js';
import type { Conversations } from '../platform/conversations.js';
import type { EventBus } from '../platform/bus.js';
import type { SessionTokens } from '../sentinel/tokens.js';
import type { Metrics } from '../ops/metrics.js';

export interface PublicApiDeps {
  store: Store;
  directory: Directory;
  conversations: Conversations;
  sessions: SessionTokens;
  bus: EventBus;
  log: Logger;
  metrics: Metrics;
}

/** Tables of the Public API (its durable job queue). */
export function publicApiMigrations(_dialect: Dialect): Record<string, Migration> {
  return {};
}

/** Public API v1: login and the five conversation actions. Returns what must stop on shutdown. */
export async function createPublicApi(_server: FastifyInstance, _deps: PublicApiDeps): Promise<{ close(): Promise<void> }> {
  return { close: async () => {} };
}
