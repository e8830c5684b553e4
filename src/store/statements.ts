import { CompiledQuery } from 'kysely';
import type { Dialect } from './migrations.js';

type Row = Record<string, unknown>;

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
    const key = `i ${table} ${rows.length} ${columns.join(',')}`;
    let text = this.sql.get(key);
    if (text === undefined) {
      let n = 0;
      const tuple = () => `(${columns.map(() => this.placeholder(++n)).join(', ')})`;
      text = `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${rows.map(tuple).join(', ')}`;
      this.sql.set(key, text);
    }
    return CompiledQuery.raw(
      text,
      rows.flatMap((row) => columns.map((c) => row[c])),
    );
  }

  /** `update table set <set's keys> where <idColumn> = id`. */
  update(table: string, set: Row, idColumn: string, id: unknown): CompiledQuery {
    const columns = Object.keys(set);
    const key = `u ${table} ${idColumn} ${columns.join(',')}`;
    let text = this.sql.get(key);
    if (text === undefined) {
      const assignments = columns.map((c, i) => `"${c}" = ${this.placeholder(i + 1)}`).join(', ');
      text = `update "${table}" set ${assignments} where "${idColumn}" = ${this.placeholder(columns.length + 1)}`;
      this.sql.set(key, text);
    }
    return CompiledQuery.raw(text, [...columns.map((c) => set[c]), id]);
  }

  private placeholder(n: number): string {
    return this.dialect === 'postgres' ? `$${n}` : '?';
  }
}
