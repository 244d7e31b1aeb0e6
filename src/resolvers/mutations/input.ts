import { badUserInput } from '../../graphql/errors';

/**
 * Input rules shared by the mutations. Every failure is BAD_USER_INPUT with
 * `extensions.argument` set to the offending input's path (`input.phone`), and
 * every rule runs before the first statement, so invalid input writes nothing.
 */

/** Trimmed text of min..max characters (code points, as PostgreSQL's char_length counts). */
export function text(value: string, argument: string, { min = 1, max }: { min?: number; max: number }): string {
  const trimmed = value.trim();
  // Code points on purpose, not graphemes: PostgreSQL's char_length counts the same way.
  // eslint-disable-next-line @typescript-eslint/no-misused-spread
  const length = [...trimmed].length;
  if (length < min) throw badUserInput(`${argument} must not be empty`, argument);
  if (length > max) throw badUserInput(`${argument} must be at most ${max} characters`, argument);
  return trimmed;
}

/** Optional free text: trimmed; empty means none (null). */
export function optionalText(value: string | null, argument: string, max: number): string | null {
  if (value === null) return null;
  const trimmed = text(value, argument, { min: 0, max });
  return trimmed === '' ? null : trimmed;
}

// The same rule as the contacts.phone CHECK constraint (0001), checked here so
// the client hears which input was wrong instead of a masked constraint error.
const E164 = /^\+[1-9][0-9]{6,14}$/;

export function phone(value: string, argument: string): string {
  const trimmed = value.trim();
  if (!E164.test(trimmed)) {
    throw badUserInput(`${argument} must be an E.164 phone number: a plus sign and 7 to 15 digits, e.g. +14155550123`, argument);
  }
  return trimmed;
}

// Deliberately modest: one @, no spaces, a dot in the domain. Deliverability is
// not something a regular expression can promise.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function email(value: string | null, argument: string): string | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (trimmed.length > 254 || !EMAIL.test(trimmed)) throw badUserInput(`${argument} must be an email address`, argument);
  return trimmed;
}

export function integerBetween(value: number, argument: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badUserInput(`${argument} must be an integer from ${min} to ${max}`, argument);
  }
  return value;
}

const MAX_TAGS = 20;
const MAX_TAG_LENGTH = 50;

/** Trimmed, non-empty, de-duplicated (first occurrence wins), at most 20. */
export function tags(values: readonly string[], argument: string): string[] {
  const unique = [...new Set(values.map((value, index) => text(value, `${argument}[${index}]`, { max: MAX_TAG_LENGTH })))];
  if (unique.length > MAX_TAGS) throw badUserInput(`${argument} must hold at most ${MAX_TAGS} tags`, argument);
  return unique;
}

/** Dollars with at most two decimals (the column is numeric(12,2)), 0..max. */
export function money(value: number, argument: string, max: number): number {
  const cents = value * 100;
  if (!Number.isFinite(value) || value < 0 || value > max || Math.abs(cents - Math.round(cents)) > 1e-6) {
    throw badUserInput(`${argument} must be an amount from 0 to ${max} with at most 2 decimals`, argument);
  }
  return Math.round(cents) / 100;
}

/**
 * A patch field that may be omitted but not null: GraphQL cannot say "optional
 * but not nullable" for input fields, so the rule lives here.
 */
export function notNull<T>(value: T | null | undefined, argument: string): T | undefined {
  if (value === null) throw badUserInput(`${argument} cannot be null; omit it to keep the current value`, argument);
  return value;
}

/** An update with nothing to change is almost certainly a client bug: say so. */
export function requireSomeField(patch: object, fields: string): void {
  if (!Object.values(patch).some((value) => value !== undefined)) {
    throw badUserInput(`input must set at least one of ${fields}`, 'input');
  }
}
