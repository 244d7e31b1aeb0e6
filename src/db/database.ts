import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import pg from 'pg';
import type { Config } from '../config/config';
import { registerDb, type QueryEvent } from './observe';
import type { Database } from './schema';
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
    options: `-c statement_timeout=${statementTimeoutMs} -c idle_in_transaction_session_timeout=10000`,
    application_name: applicationName,
  });
  // An idle client losing its connection (database restart) must not crash the
  // process; the pool discards it and the next checkout reconnects.
  pool.on('error', () => {});
  // The pool only listens while a client is idle. A checked-out client between
  // statements (held across awaits) would otherwise crash the process with an
  // unhandled 'error'; its next query fails instead and release discards it.
  pool.on('connect', (client) => client.on('error', () => {}));
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

/** The pool as Kysely sees it, sending marked statements as named (prepared) ones. */
function preparingPool(pool: pg.Pool): PostgresPool {
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    const query = (text: string, values: unknown[]) => {
      const name = preparedStatementName(text);
      return name ? client.query({ name, text, values }) : client.query(text, values);
    };
    // The cast drops the cursor overload: Kysely only uses it when a cursor is configured, and none is.
    return { query: query as unknown as PostgresPoolClient['query'], release: () => client.release() };
  };
  return {
    async connect() {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (!wrapper) wrappers.set(client, (wrapper = wrap(client)));
      return wrapper;
    },
    end: () => pool.end(),
  };
}

export function createDb(pool: pg.Pool): Db {
  // Assigned once the instance exists; no statement runs before that.
  let notify: (event: QueryEvent) => void = () => {};
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: preparingPool(pool) }),
    log(event) {
      recordStatement(event.query.sql, event.query.parameters, event.queryDurationMillis);
      notify({ sql: event.query.sql, durationMs: event.queryDurationMillis, failed: event.level === 'error' });
    },
  });
  notify = registerDb(db, pool);
  return db;
}
