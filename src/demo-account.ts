import type { App } from './app.js';
import type { Db } from './store/index.js';
import { randomSecret } from './util/passwords.js';
import { CUSTOM_ENDPOINT_SCOPE } from './contract/index.js';
import type { SecretBox } from './util/secret-box.js';
import { DEMO_BOT_ID, DEMO_BOT_PREFIX, type PublicApiLogin } from './demo-bot/index.js';

export const DEMO_ACCOUNT = 'demo';

export interface DemoAccount {
  accountId: string;
  agent: { username: string; password: string };
  publicApi: { username: string; password: string };
  skills: string[];
  bot: { id: string; status: string; baseUrl: string };
}

/**
 * The Public API logins the built-in demo bot sends its later replies with, one per account,
 * sealed in the store's settings: every instance reads the same, and a restart keeps them.
 */
export interface DemoBotLogins {
  save(accountId: string, login: PublicApiLogin): Promise<void>;
  login(accountId: string): Promise<PublicApiLogin | undefined>;
}

export function demoBotLogins(db: Db, box: SecretBox): DemoBotLogins {
  const keyOf = (accountId: string) => `demo-bot.public-api-login:${accountId}`;
  return {
    async save(accountId, login) {
      const value = box.seal(JSON.stringify({ username: login.username, password: login.password }));
      await db
        .insertInto('settings')
        .values({ key: keyOf(accountId), value })
        .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
        .execute();
    },
    async login(accountId) {
      const row = await db
        .selectFrom('settings')
        .select('value')
        .where('key', '=', keyOf(accountId))
        .executeTakeFirst();
      return row ? (JSON.parse(box.open(row.value)) as PublicApiLogin) : undefined;
    },
  };
}

/**
 * On first start with an empty store: an account to try everything with, including a started
 * Custom Endpoint bot served by the built-in demo bot. Call after listen (the bot's base URL is
 * this server). Passwords are random and shown once, in the start banner.
 */
export async function seedDemoAccount(app: App): Promise<DemoAccount | undefined> {
  if ((await app.directory.listAccounts()).length > 0) return undefined;
  const accountId = DEMO_ACCOUNT;
  await app.directory.createAccount(accountId);
  const skills = ['demo-bot', 'human', 'escalation'];
  for (const name of skills) await app.directory.createSkill(accountId, name);
  const agent = { username: 'agent', password: randomSecret(9) };
  await app.directory.createUser(accountId, {
    loginName: agent.username,
    password: agent.password,
    userType: 'HUMAN',
    skills: ['human', 'escalation'],
    maxConversations: 10,
  });
  const publicApi = { username: 'api', password: randomSecret(9) };
  await app.directory.createUser(accountId, {
    loginName: publicApi.username,
    password: publicApi.password,
    userType: 'HUMAN',
    skills: [],
  });
  // The demo bot's "later" replies go through the Public API as this user.
  await app.demoBotLogins.save(accountId, publicApi);
  const installation = await app.apps.install(accountId, {
    name: 'Demo bot connector',
    scope: CUSTOM_ENDPOINT_SCOPE,
  });
  const baseUrl = `http://${app.publicHost()}${DEMO_BOT_PREFIX}`;
  const bot = await app.connector.create(accountId, {
    name: 'Demo bot',
    conversationType: 'MESSAGING',
    skills: ['demo-bot'],
    vendor: {
      type: 'CUSTOM_ENDPOINT',
      baseUrl,
      clientId: installation.clientId,
      botId: DEMO_BOT_ID,
      environment: 'draft',
    },
    welcomeEvent: true,
    engagementAttributes: true,
    escalation: {
      skill: 'escalation',
      messageToCustomer: 'Sorry, I got confused. Let me find a human for you.',
      messageToAgent: 'The demo bot escalated this conversation.',
      transferFailureMessage: 'No one is available right now, please try again later.',
    },
  });
  const started = await app.connector.start(accountId, bot.id);
  return { accountId, agent, publicApi, skills, bot: { id: bot.id, status: started.status, baseUrl } };
}
