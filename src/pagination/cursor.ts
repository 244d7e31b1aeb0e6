import { badUserInput } from '../graphql/errors';
import { isPositiveInt8 } from '../graphql/globalId';

/**
 * Keyset cursors. A cursor is the sort key of a row — (value, id) — plus the
 * name of the ordering it belongs to, base64url-encoded. A cursor carries no
 * organisation: it only positions within the caller's own, already scoped, rows.
 *
 * A client can send anything as a cursor, and its parts become SQL parameters,
 * so decoding accepts exactly what `encodeCursor` writes and values PostgreSQL
 * takes for the sort column: a forged cursor (a year JavaScript accepts and
 * PostgreSQL does not, a number past the column's type, a NUL in text) is a
 * BAD_USER_INPUT error naming the argument, never a database error.
 */
export type SortValue = string | number | Date;
/**
 * The sort columns' types: timestamptz, smallint (contacts.lead_score), text,
 * integer (calls.duration_seconds), numeric (calls.cost) and float (a search rank).
 */
export type SortValueKind = 'timestamp' | 'smallint' | 'text' | 'integer' | 'numeric' | 'float';

/** `value` is null only for a row of a nullable sort column (calls.ended_at) that has none. */
export interface CursorPosition {
  value: SortValue | null;
  id: string;
}

const MAX_CURSOR_LENGTH = 512;
const MAX_TEXT_LENGTH = 300;
const SMALLINT_MIN = -32_768;
const SMALLINT_MAX = 32_767;
const INT_MIN = -2_147_483_648;
const INT_MAX = 2_147_483_647;
/** Date.prototype.toISOString for years 0001..9999: what encodeCursor writes for every row. */
const ISO_TIMESTAMP = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function encodeCursor(ordering: string, value: SortValue | null, id: string): string {
  const encoded = value instanceof Date ? value.toISOString() : value;
  return Buffer.from(JSON.stringify([ordering, encoded, id]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string, ordering: string, kind: SortValueKind, argument: 'after' | 'before', nullable = false): CursorPosition {
  const invalid = () => badUserInput(`${argument} is not a valid cursor for this list`, argument);
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]*$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw invalid();
  const [cursorOrdering, rawValue, id] = parsed as unknown[];
  if (cursorOrdering !== ordering || typeof id !== 'string' || !isPositiveInt8(id)) throw invalid();
  if (rawValue === null) {
    if (!nullable) throw invalid();
    return { value: null, id };
  }
  const value = parseValue(rawValue, kind);
  if (value === undefined) throw invalid();
  return { value, id };
}

/** The sort value if it is one the column can hold, else undefined. */
function parseValue(raw: unknown, kind: SortValueKind): SortValue | undefined {
  switch (kind) {
    case 'timestamp': {
      if (typeof raw !== 'string') return undefined;
      const year = ISO_TIMESTAMP.exec(raw)?.[1];
      if (year === undefined || Number(year) < 1) return undefined;
      const date = new Date(raw);
      // The round trip rejects what the pattern lets through: 2024-02-30, 25:00.
      return !Number.isNaN(date.getTime()) && date.toISOString() === raw ? date : undefined;
    }
    case 'smallint':
      return Number.isInteger(raw) && (raw as number) >= SMALLINT_MIN && (raw as number) <= SMALLINT_MAX ? (raw as number) : undefined;
    case 'integer':
      return Number.isInteger(raw) && (raw as number) >= INT_MIN && (raw as number) <= INT_MAX ? (raw as number) : undefined;
    case 'numeric':
    case 'float':
      // Any finite number compares with a numeric or float8 column; what encodeCursor writes is one.
      return typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined;
    case 'text':
      // PostgreSQL text holds no NUL, and a lone surrogate is not text at all.
      if (typeof raw !== 'string' || raw.length > MAX_TEXT_LENGTH || /\0|\p{Cs}/u.test(raw)) return undefined;
      return raw;
  }
}
