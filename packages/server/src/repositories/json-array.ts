import { sql } from 'kysely';
import type { Kysely, RawBuilder } from 'kysely';
import { dialectOf } from '../store/dialect.js';

/** JSON-array text columns that list filters look inside. */
export type JsonArrayColumn = 'hosts.tags' | 'snapshots.tags' | 'snapshots.paths';

/** "The JSON array in `column` contains `value`": json_each on SQLite, jsonb on PostgreSQL. */
export function jsonArrayHas<DB>(db: Kysely<DB>, column: JsonArrayColumn, value: string): RawBuilder<boolean> {
  const col = sql.raw(column);
  return dialectOf(db) === 'postgres'
    ? sql<boolean>`exists (select 1 from jsonb_array_elements_text(${col}::jsonb) as e(v) where e.v = ${value})`
    : sql<boolean>`exists (select 1 from json_each(${col}) where json_each.value = ${value})`;
}
