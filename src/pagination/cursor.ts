import { badUserInput } from '../graphql/errors';

/**
 * Keyset cursors. A cursor is the sort key of a row — (value, id) — plus the
 * name of the ordering it belongs to, base64url-encoded. Decoding checks the
 * ordering and the value's type, so a cursor from another list or a forged
 * one is a BAD_USER_INPUT error, never a SQL error. A cursor carries no
 * organisation: it only positions within the caller's own, already scoped, rows.
 */
export type SortValue = string | number | Date;
export type SortValueKind = 'timestamp' | 'integer' | 'text';

export interface CursorPosition {
  value: SortValue;
  id: string;
}

export function encodeCursor(ordering: string, value: SortValue, id: string): string {
  const encoded = value instanceof Date ? value.toISOString() : value;
  return Buffer.from(JSON.stringify([ordering, encoded, id]), 'utf8').toString('base64url');
}

export function decodeCursor(
  cursor: string,
  ordering: string,
  kind: SortValueKind,
  argument: 'after' | 'before',
): CursorPosition {
  const invalid = () => badUserInput(`${argument} is not a valid cursor for this list`, argument);
  if (cursor.length > 512 || !/^[A-Za-z0-9_-]*$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length !== 3) throw invalid();
  const [cursorOrdering, rawValue, id] = parsed as unknown[];
  if (cursorOrdering !== ordering || typeof id !== 'string' || !/^[1-9][0-9]{0,17}$/.test(id)) throw invalid();
  return { value: parseValue(rawValue, kind, invalid), id };
}

function parseValue(raw: unknown, kind: SortValueKind, invalid: () => Error): SortValue {
  switch (kind) {
    case 'timestamp': {
      if (typeof raw !== 'string') throw invalid();
      const date = new Date(raw);
      if (Number.isNaN(date.getTime())) throw invalid();
      return date;
    }
    case 'integer':
      if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) throw invalid();
      return raw;
    case 'text':
      if (typeof raw !== 'string' || raw.length > 300) throw invalid();
      return raw;
  }
}
