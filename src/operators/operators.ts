import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Migration } from 'kysely';
import { tablesOf, isUniqueViolation, type Dialect, type MigrationDb, type Store } from '../store/index.js';
import { conflict, notFound } from '../errors.js';
import { hashPassword, verifyPassword } from '../util/passwords.js';
import type { Actor, Role } from './permissions.js';
import type { ApiToken, IssuedApiToken, Operator } from './types.js';

export type { ApiToken, IssuedApiToken, Operator } from './types.js';

/**
 * Operators (the people who run the installation: named, each with a role per account, some of
 * them super-admins) and API tokens (automation: one role on one account). Both live in the store,
 * so every instance sees a change at once: a revoked token is refused by the next request
 * wherever it lands.
 */

type OperatorTables = {
  /** The platform's, read only: roles are given on accounts that exist. */
  accounts: { id: string };
  operators: {
    id: string;
    /** Lower case: an email or a login name. */
    login: string;
    name: string;
    /** scrypt; null for one who signs in only through single sign-on. */
    password_hash: string | null;
    super_admin: number;
    /** The OpenID provider's `iss sub` of one who signed in through it. */
    sso_subject: string | null;
    created_at: number;
  };
  operator_roles: { operator_id: string; account_id: string; role: string };
  api_tokens: {
    id: string;
    account_id: string;
    name: string;
    role: string;
    /** SHA-256 of the token (32 random bytes: a fast digest is a safe verifier). */
    token_hash: string;
    created_by: string;
    created_at: number;
    last_used_at: number | null;
    revoked_at: number | null;
  };
};

export function operatorMigrations(_dialect: Dialect): Record<string, Migration> {
  return {
    '0210_operators': {
      async up(db: MigrationDb) {
        await db.schema
          .createTable('operators')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('login', 'text', (c) => c.notNull().unique())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('password_hash', 'text')
          .addColumn('super_admin', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('sso_subject', 'text', (c) => c.unique())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('operator_roles')
          .addColumn('operator_id', 'text', (c) => c.notNull().references('operators.id').onDelete('cascade'))
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('role', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('operator_roles_pk', ['operator_id', 'account_id'])
          .execute();
        await db.schema.createIndex('operator_roles_account').on('operator_roles').column('account_id').execute();
        await db.schema
          .createTable('api_tokens')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('role', 'text', (c) => c.notNull())
          .addColumn('token_hash', 'text', (c) => c.notNull().unique())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_used_at', 'bigint')
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('api_tokens_account').on('api_tokens').column('account_id').execute();
      },
    },
  };
}

/** API tokens say what they are: a bearer starting so is looked up here, never taken for the admin token. */
export const API_TOKEN_PREFIX = 'bbt_';
const API_TOKEN = /^bbt_[A-Za-z0-9_-]{43}$/;
/** A token's last use is written at most this often: a busy script costs one write a minute. */
const LAST_USE_EVERY_MS = 60_000;

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export class Operators {
  private readonly db: Kysely<OperatorTables>;

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {
    this.db = tablesOf<OperatorTables>(store.db);
  }

  async create(input: { login: string; name?: string; password?: string; superAdmin?: boolean }): Promise<Operator> {
    const id = randomUUID();
    const login = input.login.toLowerCase();
    try {
      await this.db
        .insertInto('operators')
        .values({
          id,
          login,
          name: input.name ?? login,
          password_hash: input.password === undefined ? null : await hashPassword(input.password),
          super_admin: input.superAdmin ? 1 : 0,
          sso_subject: null,
          created_at: this.now(),
        })
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`an operator signs in as '${login}' already`, 'operator-exists');
      throw error;
    }
    return this.require(id);
  }

  async list(): Promise<Operator[]> {
    const rows = await this.db.selectFrom('operators').selectAll().orderBy('created_at').execute();
    const roles = await this.db.selectFrom('operator_roles').selectAll().execute();
    return rows.map((r) => toOperator(r, roles));
  }

  async find(id: string): Promise<Operator | undefined> {
    const row = await this.db.selectFrom('operators').selectAll().where('id', '=', id).executeTakeFirst();
    return row && this.withRoles(row);
  }

  /** The operator who signs in as `login` (any case), else undefined. */
  async findByLogin(login: string): Promise<Operator | undefined> {
    const row = await this.db
      .selectFrom('operators')
      .selectAll()
      .where('login', '=', login.toLowerCase())
      .executeTakeFirst();
    return row && this.withRoles(row);
  }

  private async withRoles(row: OperatorTables['operators']): Promise<Operator> {
    const roles = await this.db.selectFrom('operator_roles').selectAll().where('operator_id', '=', row.id).execute();
    return toOperator(row, roles);
  }

  async require(id: string): Promise<Operator> {
    const found = await this.find(id);
    if (!found) throw notFound(`unknown operator '${id}'`);
    return found;
  }

  async update(
    id: string,
    change: { name?: string; password?: string | null; superAdmin?: boolean },
  ): Promise<Operator> {
    await this.require(id);
    const set: Partial<OperatorTables['operators']> = {};
    if (change.name !== undefined) set.name = change.name;
    if (change.superAdmin !== undefined) set.super_admin = change.superAdmin ? 1 : 0;
    if (change.password !== undefined)
      set.password_hash = change.password === null ? null : await hashPassword(change.password);
    if (Object.keys(set).length) await this.db.updateTable('operators').set(set).where('id', '=', id).execute();
    return this.require(id);
  }

  async remove(id: string): Promise<void> {
    await this.require(id);
    await this.db.deleteFrom('operator_roles').where('operator_id', '=', id).execute();
    await this.db.deleteFrom('operators').where('id', '=', id).execute();
  }

  /** Gives the operator a role on the account, replacing the one they had there. */
  async setRole(id: string, accountId: string, role: Role): Promise<Operator> {
    await this.require(id);
    await this.db
      .insertInto('operator_roles')
      .values({ operator_id: id, account_id: accountId, role })
      .onConflict((oc) => oc.columns(['operator_id', 'account_id']).doUpdateSet({ role }))
      .execute();
    return this.require(id);
  }

  async removeRole(id: string, accountId: string): Promise<void> {
    const result = await this.db
      .deleteFrom('operator_roles')
      .where('operator_id', '=', id)
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    if (!result.numDeletedRows) throw notFound(`operator '${id}' has no role on account '${accountId}'`);
  }

  /** The operators with a role on the account, with that role. */
  async ofAccount(accountId: string): Promise<Operator[]> {
    // One row per role of each such operator (their roles on other accounts too): every one has
    // at least the role on this account, so the inner join leaves none out.
    const rows = await this.db
      .selectFrom('operators')
      .innerJoin('operator_roles', 'operator_roles.operator_id', 'operators.id')
      .selectAll('operators')
      .select(['operator_roles.account_id', 'operator_roles.role'])
      .where('operators.id', 'in', (eb) =>
        eb.selectFrom('operator_roles').select('operator_id').where('account_id', '=', accountId),
      )
      .orderBy('operators.created_at')
      .orderBy('operators.id')
      .execute();
    const found = new Map<string, Operator>();
    for (const row of rows) {
      const operator = found.get(row.id) ?? toOperator(row, []);
      operator.roles[row.account_id] = row.role as Role;
      found.set(row.id, operator);
    }
    return [...found.values()];
  }

  /** The operator whose login and password these are, else undefined (unknown login or wrong password alike). */
  async verify(login: string, password: string): Promise<Operator | undefined> {
    const row = await this.db
      .selectFrom('operators')
      .select(['id', 'password_hash'])
      .where('login', '=', login.toLowerCase())
      .executeTakeFirst();
    if (!row?.password_hash || !(await verifyPassword(password, row.password_hash))) return undefined;
    return this.find(row.id);
  }

  /**
   * The operator an OpenID provider vouches for (by its `iss sub`), made on first sign-in: their
   * login from the provider's email (or the subject), and a super-admin flag and roles as the
   * configuration maps the provider's claims, replaced at every sign-in so the provider decides.
   */
  async fromSso(input: {
    subject: string;
    login: string;
    name: string;
    superAdmin: boolean;
    roles: Record<string, Role>;
  }): Promise<Operator> {
    let row = await this.db
      .selectFrom('operators')
      .select('id')
      .where('sso_subject', '=', input.subject)
      .executeTakeFirst();
    if (!row) {
      const id = randomUUID();
      try {
        await this.db
          .insertInto('operators')
          .values({
            id,
            login: input.login.toLowerCase(),
            name: input.name,
            password_hash: null,
            super_admin: 0,
            sso_subject: input.subject,
            created_at: this.now(),
          })
          .execute();
      } catch (error) {
        if (isUniqueViolation(error))
          throw conflict(
            `an operator signs in as '${input.login}' already, not through single sign-on`,
            'operator-exists',
          );
        throw error;
      }
      row = { id };
    }
    const id = row.id;
    await this.store.transact(async (tx) => {
      const t = tablesOf<OperatorTables>(tx);
      await t
        .updateTable('operators')
        .set({ name: input.name, super_admin: input.superAdmin ? 1 : 0 })
        .where('id', '=', id)
        .execute();
      await t.deleteFrom('operator_roles').where('operator_id', '=', id).execute();
      const accounts = Object.keys(input.roles);
      const existing = accounts.length
        ? await t.selectFrom('accounts').select('id').where('id', 'in', accounts).execute()
        : [];
      for (const { id: accountId } of existing)
        await t
          .insertInto('operator_roles')
          .values({ operator_id: id, account_id: accountId, role: input.roles[accountId] })
          .execute();
    });
    return this.require(id);
  }

  /** The actor an operator is, as read now (roles changed meanwhile count at once). */
  async actorOf(id: string): Promise<Actor | undefined> {
    const operator = await this.find(id);
    return (
      operator && {
        kind: 'operator',
        id: operator.id,
        login: operator.login,
        superAdmin: operator.superAdmin,
        roles: operator.roles,
      }
    );
  }

  // ---- API tokens ----

  /** A new token, shown only in this answer. */
  async issueToken(accountId: string, input: { name: string; role: Role }, createdBy: string): Promise<IssuedApiToken> {
    const id = randomUUID();
    const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    await this.db
      .insertInto('api_tokens')
      .values({
        id,
        account_id: accountId,
        name: input.name,
        role: input.role,
        token_hash: digest(token),
        created_by: createdBy,
        created_at: this.now(),
        last_used_at: null,
        revoked_at: null,
      })
      .execute();
    const made = await this.token(accountId, id);
    if (!made) throw new Error('the API token just made is gone');
    return { ...made, token };
  }

  async tokens(accountId: string): Promise<ApiToken[]> {
    const rows = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('account_id', '=', accountId)
      .orderBy('created_at')
      .execute();
    return rows.map(toApiToken);
  }

  private async token(accountId: string, id: string): Promise<ApiToken | undefined> {
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('account_id', '=', accountId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toApiToken(row);
  }

  async revokeToken(accountId: string, id: string): Promise<ApiToken> {
    const result = await this.db
      .updateTable('api_tokens')
      .set({ revoked_at: this.now() })
      .where('account_id', '=', accountId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    const token = await this.token(accountId, id);
    if (!token) throw notFound(`unknown API token '${id}'`);
    if (!result.numUpdatedRows) throw conflict(`API token '${token.name}' was revoked already`, 'token-revoked');
    return token;
  }

  /**
   * The actor an API token is, read from the store on every use (a revocation counts at once on
   * every instance); undefined for anything that is not a live token.
   */
  async tokenActor(token: string): Promise<Actor | undefined> {
    if (!API_TOKEN.test(token)) return undefined;
    const row = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('token_hash', '=', digest(token))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    const now = this.now();
    if (row.last_used_at === null || now - Number(row.last_used_at) >= LAST_USE_EVERY_MS)
      await this.store.writeOne(
        this.db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).compile(),
      );
    return { kind: 'api-token', id: row.id, name: row.name, accountId: row.account_id, role: row.role as Role };
  }
}

function toOperator(r: OperatorTables['operators'], roles: OperatorTables['operator_roles'][]): Operator {
  return {
    id: r.id,
    login: r.login,
    name: r.name,
    superAdmin: r.super_admin === 1,
    hasPassword: r.password_hash !== null,
    roles: Object.fromEntries(roles.filter((x) => x.operator_id === r.id).map((x) => [x.account_id, x.role as Role])),
    createdAt: Number(r.created_at),
  };
}

function toApiToken(r: OperatorTables['api_tokens']): ApiToken {
  return {
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    role: r.role as Role,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}
