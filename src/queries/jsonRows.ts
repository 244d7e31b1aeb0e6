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
 * milliseconds (src/db/types.ts; decodeJsonTimestamps after parsing), numeric
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

/** The keys of the timestamptz columns in rows built by jsonSelections with the same arguments: computed once per statement. */
export function jsonTimestampKeys<Column extends string>(
  columns: readonly Column[],
  kinds: Readonly<Record<Column, JsonColumnKind>>,
  prefix = '',
): string[] {
  return columns.filter((column) => kinds[column] === 'timestamptz').map((column) => prefix + column);
}

/** Turns the timestamps under `keys` (jsonTimestampKeys) of a row built from jsonSelections into the API's text, in place. */
export function decodeJsonTimestamps(row: Record<string, unknown>, keys: readonly string[]): void {
  for (const key of keys) {
    const value = row[key];
    if (typeof value === 'string') row[key] = isoFromJsonTimestamp(value);
  }
}

/**
 * `<expr> as "<prefix><column>"` for each of `alias`'s `columns`, each encoded as its kind
 * says: the select list of a subquery whose rows `json_agg` turns into objects (row_to_json
 * of a flat row cost PostgreSQL half of what json_build_object did, measured on the board).
 */
export function jsonSelections<Column extends string>(
  alias: string,
  columns: readonly Column[],
  kinds: Readonly<Record<Column, JsonColumnKind>>,
  prefix = '',
): RawBuilder<unknown> {
  return sql.join(columns.map((column) => sql`${columnExpression(alias, column, kinds[column])} as ${sql.id(prefix + column)}`));
}
