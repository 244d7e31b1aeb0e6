import type { InputCheck } from './userErrors';

/**
 * Input rules shared by the mutations. Each records what is wrong in `check`
 * (a UserError whose `field` is the offending input's path, `input.phone` →
 * ["input", "phone"]) and returns a value of the right type anyway, so every
 * rule of an input runs and all its mistakes are reported together. Every
 * rule runs before the first statement, and `check.assertValid()` stops the
 * mutation before it writes anything.
 *
 * Values that are not even of their GraphQL type (a PhoneNumber that is not
 * E.164, a malformed EmailAddress or DateTime) never get here: coercion
 * refuses them first, as a top-level BAD_USER_INPUT.
 */

/** Trimmed text of min..max characters (code points, as PostgreSQL's char_length counts). */
export function text(check: InputCheck, value: string, argument: string, { min = 1, max }: { min?: number; max: number }): string {
  const trimmed = value.trim();
  // Code points on purpose, not graphemes: PostgreSQL's char_length counts the same way.
  // eslint-disable-next-line @typescript-eslint/no-misused-spread
  const length = [...trimmed].length;
  if (length < min) check.fail(argument, 'BLANK', `${argument} must not be empty`);
  if (length > max) check.fail(argument, 'TOO_LONG', `${argument} must be at most ${max} characters`);
  return trimmed;
}

/** Optional free text: trimmed; empty means none (null). */
export function optionalText(check: InputCheck, value: string | null, argument: string, max: number): string | null {
  if (value === null) return null;
  const trimmed = text(check, value, argument, { min: 0, max });
  return trimmed === '' ? null : trimmed;
}

/**
 * The EmailAddress scalar checked the form; the column's bound is ours to
 * check (RFC 5321's 254 characters).
 */
export function email(check: InputCheck, value: string | null, argument: string): string | null {
  if (value === null) return null;
  if (value.length > 254) check.fail(argument, 'TOO_LONG', `${argument} must be at most 254 characters`);
  return value;
}

export function integerBetween(check: InputCheck, value: number, argument: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    check.fail(argument, 'OUT_OF_RANGE', `${argument} must be an integer from ${min} to ${max}`);
  }
  return value;
}

const MAX_TAGS = 20;
const MAX_TAG_LENGTH = 50;

/** Trimmed, non-empty, de-duplicated (first occurrence wins), at most 20. */
export function tags(check: InputCheck, values: readonly string[], argument: string): string[] {
  const unique = [...new Set(values.map((value, index) => text(check, value, `${argument}[${index}]`, { max: MAX_TAG_LENGTH })))];
  if (unique.length > MAX_TAGS) check.fail(argument, 'TOO_MANY', `${argument} must hold at most ${MAX_TAGS} tags`);
  return unique;
}

/** Dollars with at most two decimals (the column is numeric(12,2)), 0..max. */
export function money(check: InputCheck, value: number, argument: string, max: number): number {
  const cents = value * 100;
  if (!Number.isFinite(value) || value < 0 || value > max) {
    check.fail(argument, 'OUT_OF_RANGE', `${argument} must be an amount from 0 to ${max}`);
  } else if (Math.abs(cents - Math.round(cents)) > 1e-6) {
    check.fail(argument, 'INVALID_FORMAT', `${argument} must have at most 2 decimals`);
  }
  return Math.round(cents) / 100;
}

const DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/**
 * A MoneyInput in USD with at most two decimals, 0..max, as the exact
 * decimal string the numeric(12,2) column takes. The string never passes
 * through a float, so `"0.29"` stays 0.29.
 */
export function moneyInput(check: InputCheck, value: { amount: string; currency: string }, argument: string, max: number): string {
  if (value.currency !== 'USD') {
    check.fail(`${argument}.currency`, 'UNSUPPORTED_CURRENCY', `${argument}.currency must be USD; no other currency is used yet`);
  }
  const amountArgument = `${argument}.amount`;
  const match = DECIMAL.exec(value.amount);
  if (!match) {
    check.fail(amountArgument, 'INVALID_FORMAT', `${amountArgument} must be a decimal number such as "1500" or "1500.50"`);
    return '0';
  }
  if ((match[2]?.length ?? 0) > 3) {
    check.fail(amountArgument, 'INVALID_FORMAT', `${amountArgument} must have at most 2 decimals`);
  } else if ((match[1]?.length ?? 0) > String(max).length || Number(value.amount) > max) {
    // Whole digits first: a thousand-digit string is refused without a float ever rounding it.
    check.fail(amountArgument, 'OUT_OF_RANGE', `${amountArgument} must be from 0 to ${max}`);
  }
  return value.amount;
}

/**
 * A patch field that may be omitted but not null: GraphQL cannot say "optional
 * but not nullable" for input fields, so the rule lives here.
 */
export function notNull<T>(check: InputCheck, value: T | null | undefined, argument: string): T | undefined {
  if (value === null) {
    check.fail(argument, 'NULL_NOT_ALLOWED', `${argument} cannot be null; omit it to keep the current value`);
    return undefined;
  }
  return value;
}

/** An update with nothing to change is almost certainly a client bug: say so. */
export function requireSomeField(check: InputCheck, patch: object, fields: string): void {
  // A field given as null is already reported, and is why the patch is empty.
  if (check.valid && !Object.values(patch).some((value) => value !== undefined)) {
    check.fail(null, 'NOTHING_TO_CHANGE', `input must set at least one of ${fields}`);
  }
}
