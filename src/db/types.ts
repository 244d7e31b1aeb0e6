import pg from 'pg';

/**
 * How pg decodes timestamptz for this process: straight to the RFC 3339 text
 * the API prints (Date.prototype.toISOString's form, milliseconds, `Z`),
 * by string operations. pg's default builds a Date per value (postgres-date:
 * 4 % of a calls page's CPU in the profile), which the DateTime scalar and
 * cursors then turned back into this very text.
 *
 * The fast path reads PostgreSQL's output in a UTC session
 * (`2026-06-01 09:30:00.123456+00`); the pool starts sessions in UTC (see
 * database.ts) and the embedded server runs in UTC. Anything else — another
 * session TimeZone, years past 9999 — goes through the default parser and
 * comes out in the same form. Fractions are truncated to milliseconds, as the
 * Date path did.
 */
// pg-types declares every parser as returning any; the text one takes the column's text.
const parseWithDate = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (text: string) => unknown;

/**
 * `YYYY-MM-DD?HH:MM:SS[.f{1,6}]<utcSuffix>`, with `separator` (a char code) at
 * position 10, as RFC 3339 with milliseconds (fraction truncated), by string
 * operations; undefined when the text is not in that form. PostgreSQL writes
 * UTC instants this way in its text protocol (' ', '+00') and in JSON ('T',
 * '+00:00', src/queries/jsonRows.ts).
 */
export function utcTextToIso(text: string, separator: number, utcSuffix: string): string | undefined {
  const end = text.length - utcSuffix.length;
  if (end < 19 || text.charCodeAt(4) !== 45 || text.charCodeAt(10) !== separator || !text.endsWith(utcSuffix)) return undefined;
  if (end === 19) return `${text.slice(0, 10)}T${text.slice(11, 19)}.000Z`;
  if (text.charCodeAt(19) === 46) return `${text.slice(0, 10)}T${text.slice(11, 19)}.${`${text.slice(20, end)}00`.slice(0, 3)}Z`;
  return undefined;
}

const SPACE = 32;

export function timestamptzToIso(text: string): string {
  const fast = utcTextToIso(text, SPACE, '+00');
  if (fast !== undefined) return fast;
  const parsed: unknown = parseWithDate(text);
  // ±infinity are not instants: handed on as PostgreSQL wrote them, so the DateTime scalar refuses them with an error.
  return parsed instanceof Date && !Number.isNaN(parsed.getTime()) ? parsed.toISOString() : text;
}

pg.types.setTypeParser(pg.types.builtins.TIMESTAMPTZ, timestamptzToIso);
