import { setMaxListeners } from 'node:events';
import {
  BrokenCircuitError,
  BulkheadPolicy,
  BulkheadRejectedError,
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  TaskCancelledError,
  bulkhead,
  circuitBreaker,
  handleWhen,
  retry,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
} from 'cockatiel';
import type { ProviderConfig } from '../config/provider';
import type { CallOptions } from './api';
import { ProviderError, breakerOpen, isProviderFault, isRetryable } from './errors';
import type { ProviderOperation } from './http';
import type { BreakerState, ProviderMetrics } from './metrics';

/**
 * How much of one GraphQL request's provider budget is left. Made on the
 * request's first provider call; `signal` aborts everything still running
 * (attempts, backoff sleeps, waits in line) when it is spent.
 */
export class ProviderBudget {
  readonly signal: AbortSignal;
  private readonly deadline: number;

  constructor(ms: number) {
    const budget = Math.max(0, Math.floor(ms));
    this.deadline = performance.now() + budget;
    this.signal = AbortSignal.timeout(budget);
    // Shared by every call of the request (a page of agents: one listener per field), so Node's leak warning at 10 does not apply.
    setMaxListeners(0, this.signal);
  }

  remainingMs(): number {
    return this.deadline - performance.now();
  }
}

/** One organisation's provider account: its circuit, its line of waiting calls, and a Retry-After it was told. */
interface Account {
  breaker: CircuitBreakerPolicy;
  bulkhead: BulkheadPolicy;
  /** performance.now() until which the provider asked this account not to call (429 Retry-After). */
  rateLimitedUntil: number;
  /** Date.now() when the circuit last opened (cockatiel's clock for half-open). */
  openedAt: number;
}

/**
 * Exponential backoff with full jitter (a uniformly random wait up to
 * base·2^attempt, capped), except after a 429 whose Retry-After says how long:
 * then exactly that.
 */
class RetryAfterBackoff implements IBackoff<IRetryBackoffContext<unknown>> {
  constructor(
    private readonly config: Pick<ProviderConfig, 'retryBaseMs' | 'retryMaxMs'>,
    readonly duration: number,
    private readonly attempt: number,
  ) {}

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const error = 'error' in context.result ? context.result.error : undefined;
    const retryAfter = error instanceof ProviderError ? error.retryAfterMs : undefined;
    const ceiling = Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** this.attempt);
    return new RetryAfterBackoff(this.config, retryAfter ?? Math.random() * ceiling, this.attempt + 1);
  }
}

const backoffFactory = (config: ProviderConfig): IBackoffFactory<IRetryBackoffContext<unknown>> => new RetryAfterBackoff(config, 0, 0);

/**
 * Every provider call goes through here: breaker (per account) → retry
 * (GETs only, 429/5xx/connection/timeouts, Retry-After honoured when it fits
 * the budget) → bulkhead (per organisation) → one attempt with a timeout of
 * min(PROVIDER_TIMEOUT_MS, what is left of the budget). A whole retried call
 * counts once for the breaker; an open breaker refuses before anything is
 * queued or sent, so a dead provider costs nothing per field.
 */
export class ProviderGateway {
  private readonly accounts = new Map<string, Account>();

  constructor(
    private readonly config: ProviderConfig,
    private readonly metrics: ProviderMetrics,
  ) {}

  async call<T>(
    orgId: string,
    operation: ProviderOperation,
    apiKey: string,
    budget: ProviderBudget,
    send: (options: CallOptions) => Promise<T>,
  ): Promise<T> {
    const account = this.account(orgId);
    try {
      // Raced with the budget: a call still in line (or in an attempt the budget outlived) answers when the budget ends, not later.
      const result = await Promise.race([this.guarded(account, operation, apiKey, budget, send), budgetSpent(budget, operation)]);
      this.metrics.call(operation, result === undefined ? 'not_found' : 'ok');
      return result;
    } catch (error) {
      const failure = toProviderError(error, operation);
      this.metrics.call(operation, failure.failure);
      throw failure;
    }
  }

  /** The state of every account's circuit (for metrics and readiness). */
  breakerStates(): BreakerState[] {
    return [...this.accounts.values()].map(({ breaker }) => stateName(breaker.state));
  }

  /**
   * Whether the account's circuit is open and not yet due for a half-open
   * probe: a call now would be refused, so the caller can fail the field
   * before any other work (reading the API key).
   */
  refuses(orgId: string): boolean {
    const account = this.accounts.get(orgId);
    return account?.breaker.state === CircuitState.Open && Date.now() - account.openedAt < this.config.breakerHalfOpenMs;
  }

  /** Counts a call refused by `refuses`, as the gateway counts its own refusals. */
  refused(operation: ProviderOperation): ProviderError {
    this.metrics.call(operation, 'breaker_open');
    return breakerOpen(operation);
  }

  breakerState(orgId: string): BreakerState {
    const account = this.accounts.get(orgId);
    return account ? stateName(account.breaker.state) : 'closed';
  }

  private async guarded<T>(
    account: Account,
    operation: ProviderOperation,
    apiKey: string,
    budget: ProviderBudget,
    send: (options: CallOptions) => Promise<T>,
  ): Promise<T> {
    await this.waitOutRateLimit(account, budget);
    if (budget.remainingMs() <= 0) throw new ProviderError('timeout', `provider ${operation}: the request's provider budget is spent`);
    const retries = retry(
      // A Retry-After longer than what is left of the budget is not waited for: the field answers RATE_LIMITED now.
      handleWhen((error) => isRetryable(error) && (error.retryAfterMs ?? 0) < budget.remainingMs()),
      { maxAttempts: this.config.maxAttempts - 1, backoff: backoffFactory(this.config) },
    );
    retries.onRetry(() => this.metrics.retry(operation));
    return account.breaker.execute(async () => {
      try {
        return await retries.execute(
          () =>
            account.bulkhead.execute(async () => {
              const timeoutMs = Math.max(1, Math.min(this.config.timeoutMs, budget.remainingMs()));
              try {
                return await send({ apiKey, signal: AbortSignal.any([budget.signal, AbortSignal.timeout(timeoutMs)]) });
              } catch (error) {
                if (error instanceof ProviderError && error.failure === 'rate_limited' && error.retryAfterMs !== undefined) {
                  account.rateLimitedUntil = Math.max(account.rateLimitedUntil, performance.now() + error.retryAfterMs);
                }
                throw error;
              }
            }, budget.signal),
          budget.signal,
        );
      } catch (error) {
        // Cancelled by the budget (in a backoff sleep or in line): a timeout, which the breaker counts.
        throw toProviderError(error, operation);
      }
    });
  }

  /** After a 429 with Retry-After, the account's other calls wait it out too, if the budget allows; otherwise they are rate limited at once. */
  private async waitOutRateLimit(account: Account, budget: ProviderBudget): Promise<void> {
    const wait = account.rateLimitedUntil - performance.now();
    if (wait <= 0) return;
    if (wait >= budget.remainingMs()) throw new ProviderError('rate_limited', 'provider: rate limited', { status: 429, retryAfterMs: wait });
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        budget.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      budget.signal.addEventListener('abort', done, { once: true });
    });
  }

  private account(orgId: string): Account {
    let account = this.accounts.get(orgId);
    if (!account) {
      account = {
        breaker: circuitBreaker(handleWhen(isProviderFault), {
          halfOpenAfter: this.config.breakerHalfOpenMs,
          breaker: new ConsecutiveBreaker(this.config.breakerThreshold),
        }),
        // The line is long (a page is at most 100 fields); the budget, not the queue length, bounds the wait.
        bulkhead: bulkhead(this.config.concurrency, 10_000),
        rateLimitedUntil: 0,
        openedAt: 0,
      };
      const opened = account;
      account.breaker.onBreak(() => (opened.openedAt = Date.now()));
      this.accounts.set(orgId, account);
    }
    return account;
  }
}

function budgetSpent(budget: ProviderBudget, operation: ProviderOperation): Promise<never> {
  return new Promise((_, reject) => {
    const fail = () => reject(new ProviderError('timeout', `provider ${operation}: the request's provider budget ran out`));
    if (budget.signal.aborted) fail();
    else budget.signal.addEventListener('abort', fail, { once: true });
  });
}

function stateName(state: CircuitState): BreakerState {
  if (state === CircuitState.Closed) return 'closed';
  if (state === CircuitState.HalfOpen) return 'half_open';
  return 'open';
}

function toProviderError(error: unknown, operation: ProviderOperation): ProviderError {
  if (error instanceof ProviderError) return error;
  if (error instanceof BrokenCircuitError) return breakerOpen(operation);
  if (error instanceof BulkheadRejectedError) return new ProviderError('overloaded', `provider ${operation}: too many calls waiting`);
  if (error instanceof TaskCancelledError) return new ProviderError('timeout', `provider ${operation}: the request's provider budget ran out`);
  return new ProviderError('connection', `provider ${operation}: failed`);
}
