import type { Money } from '../generated/graphql';

/** Every amount is USD today: there is no currency column, and providers bill in dollars. */
const CURRENCY = 'USD';

/** Provider costs are numeric(10,4) (fractions of a cent); deal values numeric(12,2). */
export const COST_DECIMALS = 4;
export const VALUE_DECIMALS = 2;

/**
 * An amount as a fixed-decimal string. The numbers come from numeric columns,
 * or from sums PostgreSQL computes in numeric and casts to float8 once; a
 * float8 holds 15 significant digits, so rounding to the column's scale gives
 * back the exact decimal for any amount below 10^11.
 */
export function usd(amount: number, decimals: number): Money {
  return { amount: amount.toFixed(decimals), currency: CURRENCY };
}
