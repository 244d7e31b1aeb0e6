import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

/**
 * The HTTP request being served, reachable from anywhere in its async call
 * tree (error formatting, slow-statement logs, the database adapter's
 * deadline) without threading it through every signature. DataLoader batches
 * run in the async context of the load that scheduled them, so they see it too.
 */
export interface RequestContext {
  requestId: string;
  /**
   * When the request's whole budget (REQUEST_TIMEOUT_MS, counted from its
   * arrival) runs out, on the monotonic clock of performance.now(): pool waits
   * and statements run on its behalf never outlast it.
   */
  deadline?: number;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function withRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}

/** The deadline `timeoutMs` from now, for a request arriving now. */
export function deadlineIn(timeoutMs: number): number {
  return performance.now() + timeoutMs;
}

/**
 * Milliseconds left of the current request's budget (zero or less: spent), or
 * undefined outside a request or for one without a deadline (background work:
 * caches, readiness, migrations, seeding).
 */
export function remainingBudgetMs(): number | undefined {
  const deadline = storage.getStore()?.deadline;
  return deadline === undefined ? undefined : deadline - performance.now();
}
