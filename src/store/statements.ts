import { CompiledQuery, type Compilable } from 'kysely';
import type { Dialect } from './migrations.js';

type Row = Record<string, unknown>;

/**
 * A row a write needs to exist when it commits, locked until it does (a bot's lease at the epoch
 * its driver holds, a Public API job at the progress its worker left it). Data rather than a
 * callback, so that a write can carry it inside its own statement: `sql` selects the row (and
 * locks it, on PostgreSQL), with its own placeholders ($1… on PostgreSQL, ? on SQLite); `refused`
 * is the error of a write that found it gone; `then` is what the write moves on in that row when
 * it lands (the job's progress), so the two commit together or not at all.
 */
export interface RowGuard {
  sql: string;
  params: readonly unknown[];
  refused(): Error;
  /**
   * Its `where` names the row as `sql` requires it (not the row's key alone): on SQLite, the one
   * writer, where nothing needs locking, the guard is this update alone, refused when it lands on
   * no row.
   */
  then?: { table: string; set: Row; where: Row };
  /**
   * The writer's own word that the row may still be there (a lease its clock still vouches for):
   * when false the write is refused at once, before anything is sent to the store.
   */
  stillHeld?(): boolean;
}

/** Refuses the write before it is sent when the guard's holder no longer vouches for it. */
export function requireStillHeld(guard: RowGuard | undefined): void {
  if (guard?.stillHeld && !guard.stillHeld()) throw guard.refused();
}

/** Rows to insert, with the SQL type of each column that is not text (see `changeAt`). */
export interface TypedRows {
  table: string;
  rows: Row[];
  types: Readonly<Record<string, string>>;
}

/**
 * Inserts and updates for the paths every message takes, built from the rows' own keys once per
 * shape instead of by the query builder on every call: for a one-row insert, building the query
 * cost more than SQLite running it. Table and column names come from our code, never from input.
 */
export class WriteStatements {
  private readonly sql = new Map<string, string>();

  constructor(private readonly dialect: Dialect) {}

  /** One statement for all rows; every row has the keys of the first. */
  insert(table: string, rows: Row[]): CompiledQuery {
    const columns = Object.keys(rows[0]);
    const text = this.text(`i ${table} ${rows.length} ${columns.join(',')}`, () => {
      let n = 0;
      const tuple = () => `(${columns.map(() => this.placeholder(++n)).join(', ')})`;
      return `insert into "${table}" (${quoted(columns)}) values ${rows.map(tuple).join(', ')}`;
    });
    return CompiledQuery.raw(text, valuesOf(rows, columns));
  }

  /** `update table set <set's keys> where <where's keys>` (all of them equal). */
  update(table: string, set: Row, where: Row): CompiledQuery {
    const columns = Object.keys(set);
    const keys = Object.keys(where);
    const text = this.text(`u ${table} ${columns.join(',')} ${keys.join(',')}`, () => {
      let n = 0;
      const assign = (c: string) => `"${c}" = ${this.placeholder(++n)}`;
      return `update "${table}" set ${columns.map(assign).join(', ')} where ${keys.map(assign).join(' and ')}`;
    });
    return CompiledQuery.raw(text, [...columns.map((c) => set[c]), ...keys.map((k) => where[k])]);
  }

  /** `update table set <column> = <column> + by where <where's keys>`. */
  increment(table: string, column: string, by: number, where: Row): CompiledQuery {
    const keys = Object.keys(where);
    const text = this.text(`+ ${table} ${column} ${keys.join(',')}`, () => {
      let n = 1;
      const condition = keys.map((k) => `"${k}" = ${this.placeholder(++n)}`).join(' and ');
      return `update "${table}" set "${column}" = "${column}" + ${this.placeholder(1)} where ${condition}`;
    });
    return CompiledQuery.raw(text, [by, ...keys.map((k) => where[k])]);
  }

  /**
   * PostgreSQL: an update of one row at the version it was read at (`where`), the rows that go
   * with it, and the guard, as one statement: one round trip, atomic on its own, no transaction
   * around it. The rows are inserted, and the guard's row moved on (`then`), only if the update
   * lands (and the guard's row exists); the statement answers `{ n }`, 1 when it did, 0 when the
   * row moved on or the guard is gone.
   * Inserted values are cast to their columns' types: a SELECT does not take them from the target.
   */
  changeAt(
    table: string,
    set: Row,
    where: Row,
    insert: TypedRows | undefined,
    guard: RowGuard | undefined,
  ): CompiledQuery {
    const columns = Object.keys(set);
    const keys = Object.keys(where);
    const inserted = insert ? Object.keys(insert.rows[0]) : [];
    const guardParams = guard?.params.length ?? 0;
    const then = guard?.then;
    const thenSet = then ? Object.keys(then.set) : [];
    const thenKeys = then ? Object.keys(then.where) : [];
    const shape = `c ${table} ${columns.join(',')} ${keys.join(',')} ${insert?.table} ${insert?.rows.length} ${inserted.join(',')} ${guard?.sql} ${then?.table} ${thenSet.join(',')} ${thenKeys.join(',')}`;
    const text = this.text(shape, () => {
      let n = guardParams;
      const assign = (c: string) => `"${c}" = $${++n}`;
      const parts: string[] = [];
      // The guard's placeholders come first, so its SQL is used as written.
      if (guard) parts.push(`guard as (${guard.sql})`);
      parts.push(
        `changed as (update "${table}" set ${columns.map(assign).join(', ')} where ${keys.map(assign).join(' and ')}${guard ? ' and exists (select 1 from guard)' : ''} returning 1)`,
      );
      if (insert) {
        const cast = (c: string) => (insert.types[c] ? `::${insert.types[c]}` : '');
        const tuple = () => `(${inserted.map((c) => `$${++n}${cast(c)}`).join(', ')})`;
        parts.push(
          `added as (insert into "${insert.table}" (${quoted(inserted)}) select * from (values ${insert.rows.map(tuple).join(', ')}) as v where exists (select 1 from changed))`,
        );
      }
      // The guard locked its row: this update finds it as the guard saw it.
      if (then)
        parts.push(
          `moved as (update "${then.table}" set ${thenSet.map(assign).join(', ')} where ${thenKeys.map(assign).join(' and ')} and exists (select 1 from changed))`,
        );
      return `with ${parts.join(', ')} select count(*)::int as n from changed`;
    });
    return CompiledQuery.raw(text, [
      ...(guard?.params ?? []),
      ...columns.map((c) => set[c]),
      ...keys.map((k) => where[k]),
      ...(insert ? valuesOf(insert.rows, inserted) : []),
      ...(then ? [...thenSet.map((c) => then.set[c]), ...thenKeys.map((k) => then.where[k])] : []),
    ]);
  }

  /**
   * The guard inside a transaction (where a write is more than `changeAt`): its row must be there
   * (else guard.refused() is thrown, rolling the transaction back), and is moved on by `then`.
   */
  async enforce(
    tx: { executeQuery(query: CompiledQuery): Promise<{ rows: unknown[]; numAffectedRows?: bigint }> },
    guard: RowGuard,
  ) {
    requireStillHeld(guard);
    const { then } = guard;
    if (then && this.dialect === 'sqlite') {
      const moved = await tx.executeQuery(this.update(then.table, then.set, then.where));
      if (moved.numAffectedRows !== 1n) throw guard.refused();
      return;
    }
    const { rows } = await tx.executeQuery(CompiledQuery.raw(guard.sql, [...guard.params]));
    if (!rows.length) throw guard.refused();
    if (then) await tx.executeQuery(this.update(then.table, then.set, then.where));
  }

  private text(shape: string, build: () => string): string {
    let text = this.sql.get(shape);
    if (text === undefined) {
      text = build();
      this.sql.set(shape, text);
    }
    return text;
  }

  private placeholder(n: number): string {
    return this.dialect === 'postgres' ? `$${n}` : '?';
  }
}

const quoted = (columns: string[]) => columns.map((c) => `"${c}"`).join(', ');
const valuesOf = (rows: Row[], columns: string[]) => rows.flatMap((row) => columns.map((c) => row[c]));

/** Stands for a call's argument while a bound query is compiled (see boundQuery). */
class Argument {
  constructor(readonly index: number) {}
}

/**
 * A query built with Kysely once and bound to each call's arguments: for queries that run per
 * request or per job, building them again each time (Kysely's immutable nodes, its compiler)
 * cost more than SQLite running them. `build` gets stand-ins for the arguments, which must each
 * be one value (not a list: `in` with a list of varying length is not a fixed statement); values
 * the query holds itself (a limit) are kept as compiled.
 */
export function boundQuery<A extends unknown[], R>(
  arity: A['length'],
  build: (...args: A) => Compilable<R>,
): (...args: A) => CompiledQuery<R> {
  const stand = Array.from({ length: arity }, (_, i) => new Argument(i));
  const { sql, parameters } = build(...(stand as unknown as A)).compile();
  const slots = parameters.map((p) => (p instanceof Argument ? p.index : -1));
  if (stand.some((a) => !parameters.includes(a)))
    throw new Error(`boundQuery: an argument does not reach the statement (${sql})`);
  return (...args) =>
    CompiledQuery.raw(
      sql,
      slots.map((slot, i) => (slot < 0 ? parameters[i] : args[slot])),
    ) as CompiledQuery<R>;
}
