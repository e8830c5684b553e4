import { after, before } from 'node:test';
import type { BuildOptions } from '../../src/app.js';
import { freshStore, type StoreKind, type TestStore } from '../helpers/stores.js';
import { ADMIN_TOKEN, client, startApp, type Client, type Running } from '../helpers/app.js';
import type { TestBot } from '../helpers/test-bot.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

/** What an alert suite runs against: its instances on one store, a bot service, a webhook receiver. */
export interface AlertParts<B extends TestBot> {
  store: TestStore;
  /** The instances, on one store (more than one: PostgreSQL). */
  apps: Running[];
  /** The first instance, and its admin client. */
  app: Running;
  admin: Client;
  bot: B;
  receiver: WebhookReceiver;
}

/**
 * Starts the parts before the suite's tests and stops them after (hooks of the suite this is
 * called in); the object is filled in once they run.
 */
export function alertParts<B extends TestBot>(
  kind: StoreKind,
  makeBot: () => B,
  options: Omit<BuildOptions, 'logger'>,
  instances = 1,
): AlertParts<B> {
  const parts = {} as AlertParts<B>;
  before(async () => {
    parts.store = await freshStore(kind);
    parts.apps = await Promise.all(
      Array.from({ length: instances }, () => startApp(parts.store, { logLevel: 'warn' }, options)),
    );
    parts.app = parts.apps[0];
    parts.admin = client(parts.app.url, { token: ADMIN_TOKEN });
    parts.bot = await makeBot().start();
    parts.receiver = await new WebhookReceiver().start();
  });
  after(async () => {
    for (const app of parts.apps ?? []) await app.close();
    await parts.bot?.stop();
    await parts.receiver?.stop();
    await parts.store?.dispose();
  });
  return parts;
}
