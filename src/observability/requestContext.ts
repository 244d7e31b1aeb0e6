import { performance } from 'node:perf_hooks';
import type { OperationStatements } from '../db/statementLog';

/**
 * The HTTP request being served, as the layers below the handler need it:
 * its id (error formatting, slow-statement logs), its deadline and, for a
 * GraphQL operation, the statements it runs. Handed down explicitly — a
 * request-bound Kysely (bindRequest in src/db/database.ts), the provider's
 * per-request handle — rather than through AsyncLocalStorage: its promise
 * hooks tax every promise of the process, about 8 % of the agents board's
 * CPU per request (issue 12, A/B in BENCHMARKS.md).
 */
export interface RequestContext {
  requestId: string;
  /**
   * When the request's whole budget (REQUEST_TIMEOUT_MS, counted from its
   * arrival) runs out, on the monotonic clock of performance.now(): pool waits
   * and statements run on its behalf never outlast it.
   */
  deadline?: number;
  /** Counts every statement run for the request (GraphQL operations). */
  statements?: OperationStatements;
}

/** The deadline `timeoutMs` from now, for a request arriving now. */
export function deadlineIn(timeoutMs: number): number {
  return performance.now() + timeoutMs;
}

/**
 * Milliseconds left of a deadline (zero or less: spent), or undefined without
 * one (background work: caches, readiness, migrations, seeding).
 */
export function remainingBudgetMs(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : deadline - performance.now();
}

/**
 * The request an error was raised for, where an error travels without its
 * request: Apollo's formatError and contextCreationDidFail get the error
 * alone. Tagged where the request is known (the context function, the
 * didEncounterErrors hook); weak, so an error lives no longer for it.
 */
const requestOfError = new WeakMap<object, string>();

export function tagErrorWithRequest(error: unknown, requestId: string): void {
  if (typeof error === 'object' && error !== null) requestOfError.set(error, requestId);
}

export function requestIdOfError(...errors: unknown[]): string | undefined {
  for (const error of errors) {
    if (typeof error !== 'object' || error === null) continue;
    const requestId = requestOfError.get(error);
    if (requestId !== undefined) return requestId;
  }
  return undefined;
}
