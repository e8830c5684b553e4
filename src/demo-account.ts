import type { App } from './app.js';
import { randomSecret } from './util/passwords.js';

export const DEMO_ACCOUNT = 'demo';

export interface DemoAccount {
  accountId: string;
  agent: { username: string; password: string };
  publicApi: { username: string; password: string };
  skills: string[];
}

/**
 * On first start with an empty store: an account to try everything with. Passwords are random
 * and shown once, in the start banner.
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
  await app.directory.createUser(accountId, { loginName: publicApi.username, password: publicApi.password, userType: 'HUMAN', skills: [] });
  return { accountId, agent, publicApi, skills };
}
