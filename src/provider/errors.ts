/**
 * Why a provider request failed, in the words the resilience policies and
 * the GraphQL errors switch on. Messages name the operation and the
 * failure, never the URL's query, a header or the API key.
 *
 * - `http`: a 5xx (or another unexpected status); retried when 5xx.
 * - `rate_limited`: 429; retried after Retry-After when that fits the budget.
 * - `timeout`: the per-call timeout or the request's provider budget ran out.
 * - `connection`: refused, reset, closed mid-answer.
 * - `malformed`: a 2xx whose body is not the JSON we expect.
 * - `not_found`, `unauthorized`: the provider's definite answers; never retried.
 * - `breaker_open`: not sent at all, the account's circuit is open.
 * - `overloaded`: not sent, the organisation's queue of provider calls is full.
 */
export type ProviderFailure =
  'http' | 'rate_limited' | 'timeout' | 'connection' | 'malformed' | 'not_found' | 'unauthorized' | 'breaker_open' | 'overloaded';

export class ProviderError extends Error {
  constructor(
    readonly failure: ProviderFailure,
    message: string,
    readonly options: { status?: number; retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'ProviderError';
  }

  get status(): number | undefined {
    return this.options.status;
  }

  get retryAfterMs(): number | undefined {
    return this.options.retryAfterMs;
  }
}

/**
 * The refusal of an open circuit, one per operation: the same for every field
 * and organisation, and thrown for every uncached provider field while the
 * circuit is open, so it is not worth a stack capture each time.
 */
export function breakerOpen(operation: string): ProviderError {
  let error = breakerOpenErrors.get(operation);
  if (!error) {
    error = new ProviderError('breaker_open', `provider ${operation}: circuit open, not called`);
    breakerOpenErrors.set(operation, error);
  }
  return error;
}

const breakerOpenErrors = new Map<string, ProviderError>();

/** Failures worth another attempt: the request is a GET, so repeating it is safe. */
export function isRetryable(error: unknown): error is ProviderError {
  if (!(error instanceof ProviderError)) return false;
  if (error.failure === 'http') return (error.status ?? 0) >= 500;
  return error.failure === 'rate_limited' || error.failure === 'timeout' || error.failure === 'connection';
}

/** Failures that say the provider is unwell, which the circuit breaker counts; a 404 or a 429 is the provider working. */
export function isProviderFault(error: unknown): boolean {
  if (!(error instanceof ProviderError)) return false;
  return error.failure === 'http' || error.failure === 'timeout' || error.failure === 'connection' || error.failure === 'malformed';
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
