import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HttpObserver, ProviderOperation } from './http';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface ProviderMetrics extends HttpObserver {
  /** One call's final outcome (after retries): ok, not_found, or its ProviderFailure. */
  call(operation: ProviderOperation, outcome: string): void;
  retry(operation: ProviderOperation): void;
}

/**
 * Provider metrics, labelled by operation and outcome only: bounded sets,
 * never an organisation or an id. Breaker states are counted over accounts
 * at scrape time.
 */
export function createProviderMetrics(registry: Registry, breakerStates: () => BreakerState[]): ProviderMetrics {
  const duration = new Histogram({
    name: 'switchboard_provider_request_duration_seconds',
    help: 'Duration of each HTTP attempt to the voice provider, by operation and outcome (status, timeout, connection, malformed)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const outcomes = new Counter({
    name: 'switchboard_provider_calls_total',
    help: 'Provider calls by final outcome after retries (ok, not_found, http, rate_limited, timeout, connection, malformed, breaker_open, overloaded, unauthorized)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'switchboard_provider_retries_total',
    help: 'Provider attempts that were retried',
    labelNames: ['operation'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'switchboard_provider_breakers',
    help: 'Provider accounts (organisations) by circuit breaker state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const counts: Record<BreakerState, number> = { closed: 0, open: 0, half_open: 0 };
      for (const state of breakerStates()) counts[state] += 1;
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    },
  });
  return {
    attempt: (operation, durationMs, outcome) => duration.observe({ operation, outcome }, durationMs / 1000),
    call: (operation, outcome) => outcomes.inc({ operation, outcome }),
    retry: (operation) => retries.inc({ operation }),
  };
}
