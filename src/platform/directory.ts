import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, Store } from '../store/index.js';
import { boundQuery, isUniqueViolation } from '../store/index.js';
import { conflict, invalid, notFound } from '../errors.js';
import { MAX_INT32 } from '../store/index.js';
import { MAX_SKILL_NAME_LENGTH } from '../contract/index.js';
import { hashPassword, verifyPassword } from '../util/passwords.js';
import type { Account, FunctionRegistration, Skill, User, UserType } from './types.js';

export interface NewUser {
  loginName: string;
  password?: string;
  userType: UserType;
  skills: string[];
  maxConversations?: number | null;
  botId?: string;
}

export interface TransferTargets {
  skills: Skill[];
  agents: Array<{ id: string; loginName: string; skills: Skill[]; available: boolean }>;
}

/** What an operator may change of an agent (absent: unchanged; maxConversations null: no cap). */
export interface AgentChange {
  skills?: string[];
  maxConversations?: number | null;
  password?: string;
}

/**
 * Accounts, skills, users and registered functions: who and what conversations can be routed to.
 * User ids are numeric in the store and strings outside it, as LivePerson agent ids are.
 */
export class Directory {
  private decoy?: Promise<string>;

  /** A user by account and id, and a user's skills: every Public API request and job reads both. */
  private readonly userById: ReturnType<typeof userByIdQuery>;
  private readonly skillsOf: ReturnType<typeof skillsOfQuery>;
  private readonly userIdOf: ReturnType<typeof userIdQuery>;

  constructor(private readonly store: Store) {
    this.userById = userByIdQuery(store.db);
    this.userIdOf = userIdQuery(store.db);
    this.skillsOf = skillsOfQuery(store.db);
  }

  private decoyHash(): Promise<string> {
    this.decoy ??= hashPassword(randomUUID());
    return this.decoy;
  }

  private get db() {
    return this.store.db;
  }

  async createAccount(accountId: string): Promise<Account> {
    try {
      await this.db.insertInto('accounts').values({ id: accountId, created_at: Date.now() }).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`account '${accountId}' already exists`);
      throw error;
    }
    return { accountId };
  }

  async listAccounts(): Promise<Account[]> {
    const rows = await this.db.selectFrom('accounts').select('id').orderBy('created_at').orderBy('id').execute();
    return rows.map((r) => ({ accountId: r.id }));
  }

  async accountExists(accountId: string): Promise<boolean> {
    const row = await this.db.selectFrom('accounts').select('id').where('id', '=', accountId).executeTakeFirst();
    return row !== undefined;
  }

  /** Refuses an unknown account (not-found): every account-scoped route starts here. */
  async requireAccount(accountId: string): Promise<void> {
    if (!(await this.accountExists(accountId))) throw notFound(`unknown account '${accountId}'`);
  }

  async createSkill(accountId: string, name: string): Promise<Skill> {
    await this.requireAccount(accountId);
    try {
      const row = await this.db
        .insertInto('skills')
        .values({ account_id: accountId, name, created_at: Date.now() })
        .returning(['id', 'name'])
        .executeTakeFirstOrThrow();
      return { id: row.id, name: row.name };
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`skill '${name}' already exists`);
      throw error;
    }
  }

  async listSkills(accountId: string): Promise<Skill[]> {
    await this.requireAccount(accountId);
    return this.db
      .selectFrom('skills')
      .select(['id', 'name'])
      .where('account_id', '=', accountId)
      .orderBy('id')
      .execute();
  }

  /**
   * Skill names are case-sensitive: "Billing" and "billing" are two skills. A name no skill can
   * have (see skillNameSchema) is not looked up: PostgreSQL refuses a NUL in a query parameter,
   * and a bot's TRANSFER must not turn that into a failure of the store.
   */
  async findSkill(accountId: string, name: string): Promise<Skill | undefined> {
    if (name.length > MAX_SKILL_NAME_LENGTH || name.includes('\u0000')) return undefined;
    return this.db
      .selectFrom('skills')
      .select(['id', 'name'])
      .where('account_id', '=', accountId)
      .where('name', '=', name)
      .executeTakeFirst();
  }

  async requireSkill(accountId: string, name: string): Promise<Skill> {
    const skill = await this.findSkill(accountId, name);
    if (!skill) throw notFound(`unknown skill '${name}'`);
    return skill;
  }

  async skillById(skillId: number): Promise<Skill | undefined> {
    return this.db.selectFrom('skills').select(['id', 'name']).where('id', '=', skillId).executeTakeFirst();
  }

  async createUser(accountId: string, input: NewUser): Promise<User> {
    await this.requireAccount(accountId);
    const skills = await this.resolveSkills(accountId, input.skills);
    const passwordHash = input.password ? await hashPassword(input.password) : null;
    let id: number;
    try {
      id = await this.db.transaction().execute(async (tx) => {
        const row = await tx
          .insertInto('users')
          .values({
            account_id: accountId,
            login_name: input.loginName,
            user_type: input.userType,
            password_hash: passwordHash,
            max_conversations: input.maxConversations ?? null,
            state: 'OFFLINE',
            bot_id: input.botId ?? null,
            created_at: Date.now(),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        if (skills.length) {
          await tx
            .insertInto('user_skills')
            .values(skills.map((s) => ({ user_id: row.id, skill_id: s.id })))
            .execute();
        }
        return row.id;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`user '${input.loginName}' already exists`);
      throw error;
    }
    return (await this.user(accountId, String(id)))!;
  }

  /** Replaces a user's skills (the connector keeps its bot user in step with the bot's config). */
  async setUserSkills(accountId: string, userId: string, skillNames: string[]): Promise<void> {
    const skills = await this.resolveSkills(accountId, skillNames);
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('user_skills').where('user_id', '=', Number(userId)).execute();
      if (skills.length) {
        await tx
          .insertInto('user_skills')
          .values(skills.map((s) => ({ user_id: Number(userId), skill_id: s.id })))
          .execute();
      }
    });
  }

  /**
   * An agent's skills, capacity or password, as an operator changes them. BOT users follow their
   * bot's settings (the connector keeps them), so they are not changed here.
   */
  async updateAgent(accountId: string, userId: string, change: AgentChange): Promise<User> {
    const user = await this.user(accountId, userId);
    if (!user) throw notFound(`unknown user '${userId}'`);
    if (user.userType !== 'HUMAN')
      throw conflict(`user '${userId}' is a bot's user: change the bot instead`, 'bot-user');
    const skills = change.skills && (await this.resolveSkills(accountId, change.skills));
    const passwordHash = change.password && (await hashPassword(change.password));
    await this.db.transaction().execute(async (tx) => {
      const set = {
        ...(change.maxConversations !== undefined ? { max_conversations: change.maxConversations } : {}),
        ...(passwordHash ? { password_hash: passwordHash } : {}),
      };
      if (Object.keys(set).length) await tx.updateTable('users').set(set).where('id', '=', Number(userId)).execute();
      if (skills) {
        await tx.deleteFrom('user_skills').where('user_id', '=', Number(userId)).execute();
        if (skills.length)
          await tx
            .insertInto('user_skills')
            .values(skills.map((s) => ({ user_id: Number(userId), skill_id: s.id })))
            .execute();
      }
    });
    return (await this.user(accountId, userId))!;
  }

  /**
   * Where an agent can transfer a conversation: the account's skills, and its other agents with
   * whether each could take one now (online, under their cap, as routing would count it).
   */
  async transferTargets(accountId: string, exceptUserId: string): Promise<TransferTargets> {
    const [skills, users, loads] = await Promise.all([
      this.listSkills(accountId),
      this.listUsers(accountId),
      this.db
        .selectFrom('users')
        .select(['id', 'open_conversations'])
        .where('account_id', '=', accountId)
        .where('user_type', '=', 'HUMAN')
        .execute(),
    ]);
    const open = new Map(loads.map((r) => [String(r.id), Number(r.open_conversations)]));
    const agents = users
      .filter((u) => u.userType === 'HUMAN' && u.id !== exceptUserId)
      .map((u) => ({
        id: u.id,
        loginName: u.loginName,
        skills: u.skills,
        available: u.state === 'ONLINE' && (u.maxConversations === null || (open.get(u.id) ?? 0) < u.maxConversations),
      }));
    return { skills, agents };
  }

  async setUserState(userId: string, state: 'ONLINE' | 'OFFLINE'): Promise<void> {
    await this.db.updateTable('users').set({ state }).where('id', '=', Number(userId)).execute();
  }

  async deleteUser(accountId: string, userId: string): Promise<void> {
    await this.db.deleteFrom('users').where('account_id', '=', accountId).where('id', '=', Number(userId)).execute();
  }

  async listUsers(accountId: string): Promise<User[]> {
    await this.requireAccount(accountId);
    const rows = await this.db
      .selectFrom('users')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('id')
      .execute();
    return Promise.all(rows.map((r) => this.toUser(r)));
  }

  async user(accountId: string, userId: string): Promise<User | undefined> {
    if (!isUserId(userId)) return undefined;
    const [row] = (await this.db.executeQuery(this.userById(accountId, Number(userId)))).rows;
    return row ? this.toUser(row) : undefined;
  }

  /**
   * The user's id as the store spells it, when the user exists: for a bearer that only needs its
   * user to still be there (the Public API's), without reading the rest of the user.
   */
  async existingUserId(accountId: string, userId: string): Promise<string | undefined> {
    if (!isUserId(userId)) return undefined;
    const [row] = (await this.db.executeQuery(this.userIdOf(accountId, Number(userId)))).rows;
    return row ? String(row.id) : undefined;
  }

  /** Checks a HUMAN user's login. Returns undefined for any mismatch, never saying which part. */
  async authenticate(accountId: string, loginName: string, password: string): Promise<User | undefined> {
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('login_name', '=', loginName)
      .where('user_type', '=', 'HUMAN')
      .executeTakeFirst();
    // An unknown user costs the same scrypt work as a wrong password, so timing does not tell
    // which login names exist.
    const verified = await verifyPassword(password, row?.password_hash ?? (await this.decoyHash()));
    if (!row?.password_hash || !verified) return undefined;
    return this.toUser(row);
  }

  async registerFunction(accountId: string, input: { url: string; name?: string }): Promise<FunctionRegistration> {
    await this.requireAccount(accountId);
    const lambdaUuid = randomUUID();
    await this.db
      .insertInto('functions')
      .values({
        lambda_uuid: lambdaUuid,
        account_id: accountId,
        name: input.name ?? null,
        url: input.url,
        created_at: Date.now(),
      })
      .execute();
    return { lambdaUuid, accountId, name: input.name ?? null, url: input.url };
  }

  async listFunctions(accountId: string): Promise<FunctionRegistration[]> {
    await this.requireAccount(accountId);
    const rows = await this.db
      .selectFrom('functions')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({ lambdaUuid: r.lambda_uuid, accountId: r.account_id, name: r.name, url: r.url }));
  }

  async findFunction(accountId: string, lambdaUuid: string): Promise<FunctionRegistration | undefined> {
    const r = await this.db
      .selectFrom('functions')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('lambda_uuid', '=', lambdaUuid)
      .executeTakeFirst();
    return r ? { lambdaUuid: r.lambda_uuid, accountId: r.account_id, name: r.name, url: r.url } : undefined;
  }

  private async resolveSkills(accountId: string, names: string[]): Promise<Skill[]> {
    const unique = [...new Set(names)];
    if (!unique.length) return [];
    const found = await this.db
      .selectFrom('skills')
      .select(['id', 'name'])
      .where('account_id', '=', accountId)
      .where('name', 'in', unique)
      .execute();
    const missing = unique.filter((n) => !found.some((s) => s.name === n));
    if (missing.length)
      throw invalid(
        `unknown skill${missing.length > 1 ? 's' : ''}: ${missing.map((m) => `'${m}'`).join(', ')}`,
        'unknown-skill',
      );
    return found;
  }

  private async toUser(row: {
    id: number;
    account_id: string;
    login_name: string;
    user_type: UserType;
    max_conversations: number | null;
    state: 'ONLINE' | 'OFFLINE';
    bot_id: string | null;
  }): Promise<User> {
    const { rows: skills } = await this.db.executeQuery(this.skillsOf(row.id));
    return {
      id: String(row.id),
      accountId: row.account_id,
      loginName: row.login_name,
      userType: row.user_type,
      skills,
      maxConversations: row.max_conversations,
      state: row.state,
      ...(row.bot_id ? { botId: row.bot_id } : {}),
    };
  }
}

const userIdQuery = (db: Kysely<Database>) =>
  boundQuery(2, (accountId: string, id: number) =>
    db.selectFrom('users').select('id').where('account_id', '=', accountId).where('id', '=', id),
  );

const userByIdQuery = (db: Kysely<Database>) =>
  boundQuery(2, (accountId: string, id: number) =>
    db.selectFrom('users').selectAll().where('account_id', '=', accountId).where('id', '=', id),
  );

const skillsOfQuery = (db: Kysely<Database>) =>
  boundQuery(1, (userId: number) =>
    db
      .selectFrom('user_skills')
      .innerJoin('skills', 'skills.id', 'user_skills.skill_id')
      .select(['skills.id', 'skills.name'])
      .where('user_skills.user_id', '=', userId)
      .orderBy('skills.id'),
  );

/**
 * Whether a string can be a user id: digits within the integer column's range. Anything else
 * names no user (and must not reach PostgreSQL, which refuses an out-of-range integer).
 */
export function isUserId(id: string): boolean {
  return /^\d{1,10}$/.test(id) && Number(id) <= MAX_INT32;
}
