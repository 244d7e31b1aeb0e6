import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { DatabaseHandle } from '../db/database';

/**
 * Prometheus metrics for one app, in a registry of its own (several servers
 * in one test process must not collide in prom-client's global one).
 * Labels never carry tenant ids, and every label's values are bounded:
 * operation names are capped, error codes are ours.
 */
export interface OperationObservation {
  /** The resolved operation's name; undefined for an anonymous one. */
  name: string | undefined;
  /** query / mutation / subscription; undefined when the document never resolved (parse or validation error). */
  type: string | undefined;
  durationMs: number;
  statements: number;
  errorCodes: string[];
}

export interface Metrics {
  registry: Registry;
  observeOperation(observation: OperationObservation): void;
  countErrors(codes: string[]): void;
  requestStarted(): void;
  requestFinished(): void;
  /** Stops watching the database. */
  close(): void;
}

export const ANONYMOUS = 'anonymous';
/** The operation did not parse or validate: its name is whatever a client typed. */
export const UNKNOWN = 'unknown';
/** Past the cap of distinct names. */
export const OTHER = 'other';

const MAX_NAME_LENGTH = 100;

export function createMetrics(database: Pick<DatabaseHandle, 'pool' | 'onQuery'>, options: { maxOperationNames?: number } = {}): Metrics {
  const maxOperationNames = options.maxOperationNames ?? 100;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const requestDuration = new Histogram({
    name: 'switchboard_graphql_request_duration_seconds',
    help: 'GraphQL operation duration, from request to response',
    labelNames: ['operation', 'type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const statementsPerOperation = new Histogram({
    name: 'switchboard_graphql_sql_statements',
    help: 'SQL statements one GraphQL operation ran',
    labelNames: ['operation', 'type'] as const,
    buckets: [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 100],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'switchboard_graphql_errors_total',
    help: 'GraphQL errors returned, by code',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const queryDuration = new Histogram({
    name: 'switchboard_db_query_duration_seconds',
    help: 'Duration of each SQL statement, as the client saw it',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'switchboard_http_requests_in_flight',
    help: 'HTTP requests being served',
    registers: [registry],
  });

  // Pool counters are read at scrape time rather than tracked.
  const { pool } = database;
  const poolGauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  poolGauge('switchboard_db_pool_max', 'Configured pool size', () => pool.options.max);
  poolGauge('switchboard_db_pool_total', 'Open connections in the pool', () => pool.totalCount);
  poolGauge('switchboard_db_pool_idle', 'Open connections not checked out', () => pool.idleCount);
  poolGauge('switchboard_db_pool_waiting', 'Callers queued for a connection', () => pool.waitingCount);

  const unsubscribe = database.onQuery((event) => {
    queryDuration.observe({ outcome: event.failed ? 'error' : 'ok' }, event.durationMs / 1000);
  });

  function countErrors(codes: string[]): void {
    for (const code of codes) errors.inc({ code: /^[A-Z][A-Z_]{0,39}$/.test(code) ? code : 'OTHER' });
  }

  const seenNames = new Set<string>();
  function operationLabel(observation: OperationObservation): string {
    if (observation.type === undefined) return UNKNOWN;
    const name = observation.name;
    if (!name) return ANONYMOUS;
    if (seenNames.has(name)) return name;
    if (seenNames.size >= maxOperationNames || name.length > MAX_NAME_LENGTH) return OTHER;
    seenNames.add(name);
    return name;
  }

  return {
    registry,
    observeOperation(observation) {
      const labels = { operation: operationLabel(observation), type: observation.type ?? UNKNOWN };
      requestDuration.observe(labels, observation.durationMs / 1000);
      statementsPerOperation.observe(labels, observation.statements);
      countErrors(observation.errorCodes);
    },
    countErrors,
    requestStarted: () => inFlight.inc(),
    requestFinished: () => inFlight.dec(),
    close: unsubscribe,
  };
}
