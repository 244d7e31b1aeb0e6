import { sql, type RawBuilder } from 'kysely';
import { utcTextToIso } from '../db/types';

/**
 * Rows built as JSON by PostgreSQL, for statements that return nested lists
 * (the agents board): one json column per parent row instead of a wide row
 * per child, so pg decodes one text per parent with the native JSON.parse
 * instead of every child field with its own type parser (pg's row decoding
 * was a quarter of the board's CPU in the profile).
 *
 * A row decoded from JSON must equal the row pg decodes from the same
 * columns, because both reach the same loaders and resolvers: int8 as
 * strings (pg's default), timestamptz as the API's RFC 3339 text with
 * milliseconds (src/db/types.ts; jsonRowReader after parsing), numeric
 * as a number (src/db/database.ts), everything else as JSON writes it.
 * test/agentsBoard.test.ts compares them.
 */
export type JsonColumnKind = 'int8' | 'timestamptz' | 'plain';

function columnExpression(alias: string, column: string, kind: JsonColumnKind): RawBuilder<unknown> {
  const ref = sql.ref(`${alias}.${column}`);
  if (kind === 'int8') return sql`${ref}::text`;
  return sql`${ref}`;
}

/**
 * PostgreSQL's JSON text of a timestamptz in a UTC session
 * (`2026-06-01T09:30:00.123456+00:00`) as the API's RFC 3339 text, by string
 * operations, as timestamptzToIso does for the text protocol (to_char in SQL
 * doubled the board statement's time). Anything else goes through Date;
 * ±infinity is handed on as written, and the DateTime scalar refuses it.
 */
export function isoFromJsonTimestamp(text: string): string {
  const fast = utcTextToIso(text, LATIN_T, '+00:00');
  if (fast !== undefined) return fast;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}

const LATIN_T = 84;

/**
 * The values of `alias`'s `columns` for `json_build_array(...)`, each encoded
 * as its kind says. Positional arrays, not objects: with no keys to write,
 * PostgreSQL builds them for less than row_to_json (the board statement:
 * 0.40 ms against 0.51 ms in pgbench, prepared, one client), and JSON.parse
 * reads less.
 */
export function jsonValues<Column extends string>(
  alias: string,
  columns: readonly Column[],
  kinds: Readonly<Record<Column, JsonColumnKind>>,
): RawBuilder<unknown> {
  return sql.join(columns.map((column) => columnExpression(alias, column, kinds[column])));
}

/**
 * Reads a row out of a JSON array built with jsonValues for the same columns,
 * starting at `offset` (where an earlier relation's values end): keys in
 * `columns` order, so every row a reader makes has one shape; timestamps as
 * the API's text. Made once per statement, called once per row.
 */
export function jsonRowReader<Column extends string>(
  columns: readonly Column[],
  kinds: Readonly<Record<Column, JsonColumnKind>>,
  offset = 0,
): (values: readonly unknown[]) => Record<Column, unknown> {
  const timestamps = columns.map((column) => kinds[column] === 'timestamptz');
  return (values) => {
    const row = {} as Record<Column, unknown>;
    for (let i = 0; i < columns.length; i++) {
      const value = values[offset + i];
      row[columns[i] as Column] = timestamps[i] && typeof value === 'string' ? isoFromJsonTimestamp(value) : value;
    }
    return row;
  };
}
