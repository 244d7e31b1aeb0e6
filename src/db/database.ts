import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Config } from '../config/config';
import { remainingBudgetMs } from '../observability/requestContext';
import { RequestTimeoutError, isQueryCanceled } from './failures';
import type { Database } from './schema';
// Registers the timestamptz parser (ISO strings, no Date): for every pg client in the process.
import './types';
import { recordStatement } from './statementLog';

// numeric (cost, appointment value) as JS numbers: amounts here stay far below
// 2^53 and the API exposes them as Float. int8 ids stay strings (pg default).
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number.parseFloat(value));

export type Db = Kysely<Database>;

export interface PoolOptions {
  connectionString: string;
  max: number;
  statementTimeoutMs?: number;
  /** Bounds both opening a connection and waiting for a free one when the pool is full. */
  connectionTimeoutMs?: number;
  /** How long an unused connection stays open in the pool. */
  idleTimeoutMs?: number;
  /** Shows in pg_stat_activity; tests set their own to find their connections. */
  applicationName?: string;
}

/** The pool settings the configuration asks for (PG_POOL_SIZE, PG_*_TIMEOUT_MS). */
export function poolOptionsFor(
  config: Pick<Config, 'poolSize' | 'pgConnectTimeoutMs' | 'pgIdleTimeoutMs' | 'pgStatementTimeoutMs'>,
  connectionString: string,
): PoolOptions {
  return {
    connectionString,
    max: config.poolSize,
    connectionTimeoutMs: config.pgConnectTimeoutMs,
    idleTimeoutMs: config.pgIdleTimeoutMs,
    statementTimeoutMs: config.pgStatementTimeoutMs,
  };
}

/** The statement_timeout every connection of a pool made by createPool starts with. */
const startupStatementTimeouts = new WeakMap<pg.Pool, number>();

export function createPool({
  connectionString,
  max,
  statementTimeoutMs = 5000,
  connectionTimeoutMs = 5000,
  idleTimeoutMs = 30_000,
  applicationName = 'switchboard',
}: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: connectionTimeoutMs,
    idleTimeoutMillis: idleTimeoutMs,
    // Set on every connection by the server itself, so a runaway statement or a
    // forgotten transaction can never hold a connection forever.
    // TimeZone=UTC: timestamptz arrives in the form src/db/types.ts decodes without a Date.
    options: `-c statement_timeout=${statementTimeoutMs} -c idle_in_transaction_session_timeout=10000 -c TimeZone=UTC`,
    application_name: applicationName,
  });
  // An idle client losing its connection (database restart) must not crash the
  // process; the pool discards it and the next checkout reconnects.
  pool.on('error', () => {});
  // The pool only listens while a client is idle. A checked-out client between
  // statements (held across awaits) would otherwise crash the process with an
  // unhandled 'error'; its next query fails instead and release discards it.
  pool.on('connect', (client) => client.on('error', () => {}));
  startupStatementTimeouts.set(pool, statementTimeoutMs);
  return pool;
}

const PREPARED_MARK = '/* prepared */';
const MARKED = /^\s*\/\* prepared \*\//;

/**
 * Starts a statement that runs as a named prepared statement: each connection
 * parses and plans it once and PostgreSQL may then reuse a generic plan. For
 * the statistics panels, whose CTE statements took 4–7 ms to PLAN against
 * 7–20 ms to execute (EXPLAIN ANALYZE on the bench dataset). The set of such
 * statement texts is fixed by the code, so the per-connection cache stays small.
 * Use it as the first fragment: sql`${PREPARED} with ...`.
 */
export const PREPARED = sql.raw(PREPARED_MARK);

/** Names by statement text: the set of marked texts is fixed by the code, so this never grows past it. */
const preparedNames = new Map<string, string>();

/**
 * The prepared-statement name of a marked statement (a digest of its text,
 * computed once per text), or undefined for a statement that is not marked.
 */
export function preparedStatementName(text: string): string | undefined {
  if (!MARKED.test(text)) return undefined;
  let name = preparedNames.get(text);
  if (name === undefined) {
    name = `sb_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    preparedNames.set(text, name);
  }
  return name;
}

/**
 * The pool as Kysely sees it: sends marked statements as named (prepared)
 * ones, and keeps every pool wait and statement inside the current request's
 * deadline (REQUEST_TIMEOUT_MS; src/observability/requestContext.ts).
 *
 * - Budget already spent: fail with RequestTimeoutError at once, without
 *   touching the database (except `rollback`, which must always run so a
 *   connection never goes back to the pool inside a transaction).
 * - Pool wait: raced against the remaining budget when that is shorter than
 *   pg-pool's own connect timeout. A connection that arrives after the race
 *   was lost goes straight back to the pool.
 * - Statement: PostgreSQL cancels it at min(startup statement_timeout,
 *   remaining budget). See `statementTimeouts`.
 */
function preparingPool(pool: pg.Pool): PostgresPool {
  const startupTimeout = startupStatementTimeouts.get(pool);
  const connectTimeout = pool.options.connectionTimeoutMillis ?? 0;
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    const send = (text: string, values: unknown[]) => {
      const name = preparedStatementName(text);
      return name ? client.query({ name, text, values }) : client.query(text, values);
    };
    // Pools not made by createPool: their startup statement_timeout is unknown,
    // so only the budget checks apply, never a SET we could not undo.
    const query = startupTimeout === undefined ? withBudgetCheck(send) : statementTimeouts(client, startupTimeout, send);
    // The cast drops the cursor overload: Kysely only uses it when a cursor is configured, and none is.
    return { query: query as unknown as PostgresPoolClient['query'], release: () => client.release() };
  };
  return {
    async connect() {
      const remaining = remainingBudgetMs();
      if (remaining !== undefined && remaining <= 0) throw new RequestTimeoutError('before a statement');
      const pending = pool.connect();
      // pg-pool's connect timeout fires first when it is the shorter bound (DATABASE_BUSY, as without a deadline).
      const raced = remaining !== undefined && (connectTimeout === 0 || remaining < connectTimeout);
      const client = raced ? await withinBudget(pending, remaining) : await pending;
      let wrapper = wrappers.get(client);
      if (!wrapper) wrappers.set(client, (wrapper = wrap(client)));
      return wrapper;
    },
    end: () => pool.end(),
  };
}

type Send = (text: string, values: unknown[]) => Promise<pg.QueryResult>;

const ROLLBACK = /^\s*rollback\b/i;
/** Transaction control: needs no limit of its own, so it never costs a SET (commit keeps the last statement's). */
const TRANSACTION_CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|savepoint|release)\b/i;
const ROLLBACK_TO_SAVEPOINT = /^\s*rollback\s+to\b/i;

/**
 * Whether a statement may start: while budget is left (or outside any
 * request). `rollback` always may, so a connection never goes back to the
 * pool inside a transaction.
 */
function mayStart(remaining: number | undefined, text: string): boolean {
  return remaining === undefined || remaining > 0 || ROLLBACK.test(text);
}

function withBudgetCheck(send: Send): Send {
  return (text, values) => {
    if (!mayStart(remainingBudgetMs(), text)) return Promise.reject(new RequestTimeoutError('before a statement'));
    return send(text, values);
  };
}

/**
 * Runs each statement under statement_timeout = min(startup value, remaining
 * budget), so PostgreSQL itself cancels it when the request's time is up.
 *
 * Zero extra round trips in the normal case: the connection's current value is
 * tracked, and `set_config('statement_timeout', …)` is sent only when the
 * needed value differs — when the budget is shorter than the startup value,
 * and once more, lazily, to restore the startup value for the next statement
 * that has the time (or that runs outside any request).
 *
 * Transactions: inside one (ReadyForQuery status T) the value is set LOCAL, so
 * commit and rollback both drop it and the tracked session value stays true;
 * the session value is only ever set outside a transaction, where no rollback
 * can revert it. `rollback to savepoint` may revert a LOCAL value to an
 * unknown earlier one, and any other statement naming statement_timeout (e.g.
 * the seed's `set local statement_timeout = 0`) makes the value unknown, so the
 * next statement that cares sets it again. Outside a request nothing is set
 * inside a transaction: a transaction that chose its own LOCAL value keeps it.
 */
function statementTimeouts(client: pg.PoolClient, startupTimeout: number, send: Send): Send {
  // NaN: unknown, never equal to a needed value.
  let session = startupTimeout;
  let local: number | undefined;
  return async (text, values) => {
    const remaining = remainingBudgetMs();
    if (!mayStart(remaining, text)) throw new RequestTimeoutError('before a statement');
    const status = client.getTransactionStatus();
    const inTransaction = status === 'T';
    // Idle: whatever transaction there was has ended, and with it any LOCAL value.
    if (status === 'I' || status === null) local = undefined;

    // Whole milliseconds, at least 1: statement_timeout = 0 would mean no limit at all.
    const budget = remaining === undefined ? undefined : Math.max(1, Math.floor(remaining));
    const byBudget = budget !== undefined && (startupTimeout === 0 || budget < startupTimeout);
    const needed = byBudget ? budget : startupTimeout;
    const current = inTransaction ? (local ?? session) : session;
    // In an aborted transaction (E) every statement but rollback fails anyway. Outside a
    // request, a transaction's own LOCAL value (the seed sets 0) is left alone.
    const settable = () => status !== 'E' && (!inTransaction || remaining !== undefined) && !TRANSACTION_CONTROL.test(text);
    if (current !== needed && settable()) {
      if (inTransaction) local = needed;
      else session = needed;
      const started = performance.now();
      try {
        await client.query(`select set_config('statement_timeout', $1, $2)`, [String(needed), inTransaction]);
      } catch (error) {
        if (inTransaction) local = Number.NaN;
        else session = Number.NaN;
        throw error;
      }
      recordStatement(`set statement_timeout (${inTransaction ? 'local' : 'session'})`, [needed], performance.now() - started);
    }

    try {
      return await send(text, values);
    } catch (error) {
      if (byBudget && isQueryCanceled(error)) throw new RequestTimeoutError('in a statement', { cause: error });
      throw error;
    } finally {
      if (ROLLBACK_TO_SAVEPOINT.test(text)) local = Number.NaN;
      else if (text.includes('statement_timeout')) {
        local = Number.NaN;
        session = Number.NaN;
      }
    }
  };
}

/**
 * The pool's connect, bounded by the remaining budget. The losing connect is
 * not abandoned: a connection it yields later is released at once, and a
 * failure it reports later is swallowed (the request was already answered).
 */
function withinBudget(pending: Promise<pg.PoolClient>, remainingMs: number): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new RequestTimeoutError('waiting for a connection'));
    }, remainingMs);
    pending.then(
      (client) => {
        if (late) return client.release();
        clearTimeout(timer);
        resolve(client);
      },
      (error: unknown) => {
        if (late) return;
        clearTimeout(timer);
        // pg-pool rejects only with Errors (a timeout, a refused connection).
        reject(error instanceof Error ? error : new Error('could not get a database connection', { cause: error }));
      },
    );
  });
}

/** One statement as the Kysely instance saw it; what metrics and the slow-statement log watch. */
export interface QueryEvent {
  sql: string;
  durationMs: number;
  failed: boolean;
}

export type QueryListener = (event: QueryEvent) => void;

/**
 * A Kysely instance over the pool. `onEvent`, when given, sees every
 * statement it runs (after the per-request statement log has counted it).
 */
export function createDb(pool: pg.Pool, onEvent?: QueryListener): Db {
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool: preparingPool(pool) }),
    log(event) {
      recordStatement(event.query.sql, event.query.parameters, event.queryDurationMillis);
      onEvent?.({ sql: event.query.sql, durationMs: event.queryDurationMillis, failed: event.level === 'error' });
    },
  });
}

/**
 * The server's database: the pool, the Kysely instance over it, and the
 * statement hook observers subscribe to (metrics, slow-statement log). Built
 * once at start and handed to whoever needs it, rather than looked up by handle.
 */
export interface DatabaseHandle {
  db: Db;
  pool: pg.Pool;
  /** Subscribes to every statement `db` runs; returns the unsubscribe. */
  onQuery(listener: QueryListener): () => void;
  /** Ends the pool. */
  close(): Promise<void>;
}

export function openDatabase(options: PoolOptions): DatabaseHandle {
  const pool = createPool(options);
  const listeners = new Set<QueryListener>();
  const db = createDb(pool, (event) => {
    for (const listener of listeners) {
      // An observer must never fail the statement it watches.
      try {
        listener(event);
      } catch {
        /* ignored */
      }
    }
  });
  return {
    db,
    pool,
    onQuery(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (!pool.ended && !pool.ending) await pool.end();
    },
  };
}
