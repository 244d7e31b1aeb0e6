/**
 * Which database failures a client should hear about by name. Everything
 * else stays an internal error. Matching is on pg's SQLSTATE codes, Node's
 * socket error codes, and the few fixed messages pg and pg-pool throw
 * without a code.
 */
export type DatabaseFailureCode = 'DATABASE_UNAVAILABLE' | 'DATABASE_BUSY' | 'STATEMENT_TIMEOUT' | 'REQUEST_TIMEOUT' | 'READ_ONLY';

export interface DatabaseFailure {
  code: DatabaseFailureCode;
  message: string;
}

const MESSAGES: Record<DatabaseFailureCode, string> = {
  DATABASE_UNAVAILABLE: 'The database is unavailable; try again shortly',
  DATABASE_BUSY: 'The database is busy; try again shortly',
  STATEMENT_TIMEOUT: 'The query took too long and was cancelled',
  REQUEST_TIMEOUT: 'The request ran out of time waiting for the database; try again shortly',
  READ_ONLY: 'The database is a read-only standby and cannot take writes now; try again later',
};

/**
 * The request's overall budget (REQUEST_TIMEOUT_MS) ran out: before a
 * statement or a pool wait could start, during a pool wait, or because
 * PostgreSQL cancelled a statement at the remaining budget (then `cause` is
 * its 57014 error). Thrown by the pool adapter in src/db/database.ts.
 */
export class RequestTimeoutError extends Error {
  readonly code = 'REQUEST_TIMEOUT';
  constructor(during: 'before a statement' | 'waiting for a connection' | 'in a statement', options?: { cause: unknown }) {
    super(`request deadline reached ${during}`, options);
    this.name = 'RequestTimeoutError';
  }
}

const BY_CODE: Record<string, DatabaseFailureCode> = {
  // query_canceled: statement_timeout is the only thing that cancels our
  // statements. One cancelled at the request's remaining budget rather than at
  // PG_STATEMENT_TIMEOUT_MS arrives wrapped in a RequestTimeoutError, whose own
  // code is matched first.
  '57014': 'STATEMENT_TIMEOUT',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  // admin_shutdown, crash_shutdown, cannot_connect_now (starting up / shutting down)
  '57P01': 'DATABASE_UNAVAILABLE',
  '57P02': 'DATABASE_UNAVAILABLE',
  '57P03': 'DATABASE_UNAVAILABLE',
  // connection_exception class
  '08000': 'DATABASE_UNAVAILABLE',
  '08001': 'DATABASE_UNAVAILABLE',
  '08003': 'DATABASE_UNAVAILABLE',
  '08006': 'DATABASE_UNAVAILABLE',
  // read_only_sql_transaction: DATABASE_URL names a hot standby (or one not yet
  // promoted). Named, so a write is refused as such (webhooks 503, providers
  // retry) and never masked as an internal error.
  '25006': 'READ_ONLY',
  // too_many_connections: the server is full, not gone
  '53300': 'DATABASE_BUSY',
  ECONNREFUSED: 'DATABASE_UNAVAILABLE',
  ECONNRESET: 'DATABASE_UNAVAILABLE',
  EPIPE: 'DATABASE_UNAVAILABLE',
  ETIMEDOUT: 'DATABASE_UNAVAILABLE',
  EHOSTUNREACH: 'DATABASE_UNAVAILABLE',
  ENOTFOUND: 'DATABASE_UNAVAILABLE',
  EAI_AGAIN: 'DATABASE_UNAVAILABLE',
};

const BY_MESSAGE: [RegExp, DatabaseFailureCode][] = [
  // pg-pool: every connection is checked out and none came back within connectionTimeoutMillis.
  [/^timeout exceeded when trying to connect$/, 'DATABASE_BUSY'],
  // pg: the socket closed under a query, or opening one timed out.
  [/^Connection terminated/, 'DATABASE_UNAVAILABLE'],
  [/^Client has encountered a connection error and is not queryable$/, 'DATABASE_UNAVAILABLE'],
  [/^Cannot use a pool after calling end on the pool$/, 'DATABASE_UNAVAILABLE'],
];

export interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  /** AggregateError: Node's happy-eyeballs connect reports one failure per address. */
  errors?: unknown;
  /** graphql-js wraps anything that is not `instanceof Error` (so, under jest, Node's own errors) as NonErrorThrown. */
  thrownValue?: unknown;
}

export function databaseFailure(error: unknown): DatabaseFailure | undefined {
  return findInError(error, ({ code, message }) => {
    let kind = typeof code === 'string' ? BY_CODE[code] : undefined;
    if (typeof message === 'string') kind ??= BY_MESSAGE.find(([pattern]) => pattern.test(message))?.[1];
    return kind ? { code: kind, message: MESSAGES[kind] } : undefined;
  });
}

/**
 * The first thing `match` finds in an error or in what it wraps: an
 * AggregateError's errors, graphql-js's thrownValue, the cause (three levels
 * deep at most). Duck-typed, not instanceof: socket errors come from Node's
 * own realm, which is not the caller's under jest's module sandbox.
 */
export function findInError<T>(error: unknown, match: (candidate: ErrorLike) => T | undefined, depth = 0): T | undefined {
  if (typeof error !== 'object' || error === null || depth > 3) return undefined;
  const candidate = error as ErrorLike;
  const found = match(candidate);
  if (found !== undefined) return found;
  for (const inner of [...(Array.isArray(candidate.errors) ? (candidate.errors as unknown[]) : []), candidate.thrownValue, candidate.cause]) {
    const deeper = findInError(inner, match, depth + 1);
    if (deeper !== undefined) return deeper;
  }
  return undefined;
}

const sqlState = (error: unknown): unknown => (typeof error === 'object' && error !== null ? (error as ErrorLike).code : undefined);

/** query_canceled (57014): PostgreSQL cancelled the statement at its statement_timeout. */
export function isQueryCanceled(error: unknown): boolean {
  return sqlState(error) === '57014';
}

/** undefined_table (42P01): the database answers but a table is missing (e.g. never migrated). */
export function isUndefinedTable(error: unknown): boolean {
  return sqlState(error) === '42P01';
}

/**
 * deadlock_detected (40P01) or serialization_failure (40001): the transaction
 * lost a race with a concurrent one and was rolled back whole; running it
 * again is safe.
 */
export function isRetryableConflict(error: unknown): boolean {
  const code = sqlState(error);
  return code === '40P01' || code === '40001';
}
