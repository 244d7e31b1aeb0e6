import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Kysely, PostgresDialect, sql, type CompiledQuery, type ConnectionProvider, type DatabaseConnection, type QueryResult } from 'kysely';
import pg from 'pg';
import type { Config } from '../config/config';
import { remainingBudgetMs, type RequestContext } from '../observability/requestContext';
import { RequestTimeoutError, isQueryCanceled } from './failures';
import { TransactionLockAdapter } from './migrationLock';
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
  /**
   * Marked statements (PREPARED) as named prepared statements (true), or as
   * unnamed ones (false, the default): named ones live on one server
   * connection, which a transaction-mode pooler does not keep for us.
   */
  preparedStatements?: boolean;
}

/** The pool settings the configuration asks for (PG_POOL_SIZE, PG_*_TIMEOUT_MS). */
export function poolOptionsFor(
  config: Pick<Config, 'poolSize' | 'pgConnectTimeoutMs' | 'pgIdleTimeoutMs' | 'pgStatementTimeoutMs' | 'pgPreparedStatements'>,
  connectionString: string,
): PoolOptions {
  return {
    connectionString,
    max: config.poolSize,
    connectionTimeoutMs: config.pgConnectTimeoutMs,
    idleTimeoutMs: config.pgIdleTimeoutMs,
    statementTimeoutMs: config.pgStatementTimeoutMs,
    preparedStatements: config.pgPreparedStatements,
  };
}

/** What createPool was asked for, kept for preparingPool: pg.Pool's own options have no place for it. */
interface PoolLimits {
  statementTimeoutMs: number;
  preparedStatements: boolean;
}
const poolLimits = new WeakMap<pg.Pool, PoolLimits>();

/**
 * A pool that is safe behind a transaction-mode pooler (PgBouncer): no
 * startup `options` (PgBouncer refuses them, or drops them with
 * ignore_startup_parameters) and nothing session-scoped. statement_timeout is
 * enforced per statement by preparingPool (see `statementTimeouts`);
 * idle_in_transaction_session_timeout comes from the role's default in the
 * database, which `applyConnectionDefaults` sets on the direct connection.
 */
export function createPool({
  connectionString,
  max,
  statementTimeoutMs = 5000,
  connectionTimeoutMs = 5000,
  idleTimeoutMs = 30_000,
  applicationName = 'switchboard',
  preparedStatements = false,
}: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: connectionTimeoutMs,
    idleTimeoutMillis: idleTimeoutMs,
    application_name: applicationName,
  });
  // An idle client losing its connection (database restart) must not crash the
  // process; the pool discards it and the next checkout reconnects.
  pool.on('error', () => {});
  // The pool only listens while a client is idle. A checked-out client between
  // statements (held across awaits) would otherwise crash the process with an
  // unhandled 'error'; its next query fails instead and release discards it.
  pool.on('connect', (client) => client.on('error', () => {}));
  poolLimits.set(pool, { statementTimeoutMs, preparedStatements });
  return pool;
}

/** idle_in_transaction_session_timeout: a forgotten transaction never holds a connection (and its locks) longer. */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

/**
 * Makes the database's own defaults for our role what the configuration asks
 * (`ALTER ROLE CURRENT_USER IN DATABASE … SET`), so every server connection a
 * pooler hands out starts with them and the normal path costs no statement.
 * Run once at start on the direct connection, as the runtime role itself:
 * any role may set its own defaults, so the owner needs no CREATEROLE and the
 * defaults land on the role request traffic uses (not on the owner, whose
 * migrations and seeding must not be cut off at 5 s). A role default is shared by
 * every instance using that role and database: instances configured with
 * different PG_STATEMENT_TIMEOUT_MS still each get their own limit
 * (`statementTimeouts` sets it LOCAL), only at one statement's cost.
 */
export async function applyConnectionDefaults(connectionString: string, statementTimeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString, application_name: 'switchboard-defaults' });
  await client.connect();
  try {
    // Identifiers cannot be parameters; format('%I') quotes the database name.
    const { rows } = await client.query<{ sql: string }>(
      `select format('alter role current_user in database %I set statement_timeout = %s', current_database(), $1::int) as sql
       union all
       select format('alter role current_user in database %I set idle_in_transaction_session_timeout = %s', current_database(), $2::int)
       union all
       -- UTC sessions send timestamptz in the form src/db/types.ts decodes without a Date (others take the slow path).
       select format('alter role current_user in database %I set timezone = %L', current_database(), 'UTC')`,
      [statementTimeoutMs, IDLE_IN_TRANSACTION_TIMEOUT_MS],
    );
    for (const row of rows) await client.query(row.sql);
  } finally {
    await client.end();
  }
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

/**
 * Names by statement text. The marked texts are fixed by the code, up to the
 * columns a list selects; past MAX_PREPARED_TEXTS texts (each prepared once
 * per pooled connection) further ones run unnamed, so neither this map nor
 * the server's per-connection statement cache can grow without bound.
 */
const preparedNames = new Map<string, string>();
const MAX_PREPARED_TEXTS = 200;

/**
 * The prepared-statement name of a marked statement (a digest of its text,
 * computed once per text), or undefined for a statement that is not marked.
 */
export function preparedStatementName(text: string): string | undefined {
  if (!MARKED.test(text)) return undefined;
  let name = preparedNames.get(text);
  if (name === undefined) {
    if (preparedNames.size >= MAX_PREPARED_TEXTS) return undefined;
    name = `sb_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    preparedNames.set(text, name);
  }
  return name;
}

/** A pooled client as the connections below use it: every statement runs for a request (or for none). */
interface BoundClient {
  query: Send;
  release(): void;
}

/**
 * The pool as the request-bound connections see it: sends marked statements
 * as named (prepared) ones when the pool allows it, and keeps every pool wait
 * and statement inside the request's deadline (REQUEST_TIMEOUT_MS).
 *
 * - Budget already spent: fail with RequestTimeoutError at once, without
 *   touching the database (except `rollback`, which must always run so a
 *   connection never goes back to the pool inside a transaction).
 * - Pool wait: raced against the remaining budget when that is shorter than
 *   pg-pool's own connect timeout. A connection that arrives after the race
 *   was lost goes straight back to the pool.
 * - Statement: PostgreSQL cancels it at min(PG_STATEMENT_TIMEOUT_MS,
 *   remaining budget). See `statementTimeouts`.
 */
function preparingPool(pool: pg.Pool): { connect(request: RequestContext | undefined): Promise<BoundClient> } {
  const limits = poolLimits.get(pool);
  const connectTimeout = pool.options.connectionTimeoutMillis ?? 0;
  const wrappers = new WeakMap<pg.PoolClient, BoundClient>();
  // The role's statement_timeout in this database, as every server connection starts with it: read once.
  let serverDefault: Promise<number> | undefined;
  const defaultOn = (client: pg.PoolClient) => {
    serverDefault ??= client
      .query<{ ms: number }>(`select setting::int as ms from pg_settings where name = 'statement_timeout'`)
      .then((r) => r.rows[0]?.ms ?? 0);
    // A failed read (connection lost) is tried again on the next checkout.
    serverDefault.catch(() => (serverDefault = undefined));
    return serverDefault;
  };
  const wrap = (client: pg.PoolClient, known: number | undefined): BoundClient => {
    const send: Send = (text, readonlyValues) => {
      // pg reads the values (prepareValue maps them into a new array); it never writes them.
      const values = readonlyValues as unknown[];
      const name = limits?.preparedStatements ? preparedStatementName(text) : undefined;
      return name ? client.query({ name, text, values }) : client.query(text, values);
    };
    // Pools not made by createPool: their limit is unknown, so only the budget checks apply.
    const query =
      limits === undefined || known === undefined ? withBudgetCheck(send) : statementTimeouts(client, limits.statementTimeoutMs, known, send);
    return { query, release: () => client.release() };
  };
  return {
    async connect(request) {
      const remaining = remainingBudgetMs(request?.deadline);
      if (remaining !== undefined && remaining <= 0) throw new RequestTimeoutError('before a statement');
      const pending = pool.connect();
      // pg-pool's connect timeout fires first when it is the shorter bound (DATABASE_BUSY, as without a deadline).
      const raced = remaining !== undefined && (connectTimeout === 0 || remaining < connectTimeout);
      const client = raced ? await withinBudget(pending, remaining) : await pending;
      let wrapper = wrappers.get(client);
      if (!wrapper) {
        let known: number | undefined;
        try {
          known = limits ? await defaultOn(client) : undefined;
        } catch (error) {
          client.release(error instanceof Error ? error : true);
          throw error;
        }
        wrappers.set(client, (wrapper = wrap(client, known)));
      }
      return wrapper;
    },
  };
}

type Send = (text: string, values: readonly unknown[], request?: RequestContext) => Promise<pg.QueryResult>;

const ROLLBACK = /^\s*rollback\b/i;
/** Transaction control: needs no limit of its own, so it never costs a SET (commit keeps the last statement's). */
const TRANSACTION_CONTROL = /^\s*(begin|start\s+transaction|commit|end|rollback|savepoint|release)\b/i;
const ROLLBACK_TO_SAVEPOINT = /^\s*rollback\s+to\b/i;
/** Statements PostgreSQL refuses inside a transaction block: never wrapped in one. */
const NO_TRANSACTION = /^\s*(vacuum|create\s+(unique\s+)?index\s+concurrently|drop\s+index\s+concurrently|reindex\b.*\bconcurrently)\b/i;

/**
 * Whether a statement may start: while budget is left (or outside any
 * request). `rollback` always may, so a connection never goes back to the
 * pool inside a transaction.
 */
function mayStart(remaining: number | undefined, text: string): boolean {
  return remaining === undefined || remaining > 0 || ROLLBACK.test(text);
}

function withBudgetCheck(send: Send): Send {
  return (text, values, request) => {
    if (!mayStart(remainingBudgetMs(request?.deadline), text)) return Promise.reject(new RequestTimeoutError('before a statement'));
    return send(text, values);
  };
}

/**
 * Runs each statement under statement_timeout = min(limit, remaining budget),
 * so PostgreSQL itself cancels it when its time is up — with nothing
 * session-scoped, because behind a transaction-mode pooler the next statement
 * may run on another server connection, and a session SET would leak to
 * whichever client gets this one next.
 *
 * Every server connection starts with the role's default in this database
 * (`serverDefault`, read once; applyConnectionDefaults makes it the limit).
 * When a statement needs that value, nothing is sent: the normal path costs no
 * extra round trip. When it needs another (a budget shorter than the limit, or
 * a limit different from the default):
 *
 * - inside a transaction, `set_config('statement_timeout', …, true)` (LOCAL),
 *   tracked until the transaction ends, so one SET serves every statement
 *   that needs the same value; a pooler keeps a transaction on one server
 *   connection, and commit and rollback both drop the value;
 * - outside one, the statement is wrapped in begin / LOCAL SET / commit, the
 *   only way its limit reaches the same server connection through a pooler.
 *
 * `rollback to savepoint` may revert a LOCAL value to an unknown earlier one,
 * and any statement naming statement_timeout (e.g. the seed's `set local
 * statement_timeout = 0`) makes the value unknown. Outside a request, a
 * transaction that chose its own value keeps it.
 */
function statementTimeouts(client: pg.PoolClient, limit: number, serverDefault: number, send: Send): Send {
  // The LOCAL value of the current transaction; NaN: unknown (set by the statement itself).
  let local: number | undefined;
  const setLocal = async (needed: number, request: RequestContext | undefined) => {
    const started = performance.now();
    local = needed;
    try {
      await client.query(`select set_config('statement_timeout', $1, true)`, [String(needed)]);
    } catch (error) {
      local = Number.NaN;
      throw error;
    }
    if (request?.statements) recordStatement(request.statements, 'set statement_timeout (local)', [needed], performance.now() - started);
  };
  return async (text, values, request) => {
    const remaining = remainingBudgetMs(request?.deadline);
    if (!mayStart(remaining, text)) throw new RequestTimeoutError('before a statement');
    const status = client.getTransactionStatus();
    // Idle: whatever transaction there was has ended, and with it any LOCAL value.
    if (status === 'I' || status === null) local = undefined;

    // Whole milliseconds, at least 1: statement_timeout = 0 would mean no limit at all.
    const budget = remaining === undefined ? undefined : Math.max(1, Math.floor(remaining));
    const byBudget = budget !== undefined && (limit === 0 || budget < limit);
    const needed = byBudget ? budget : limit;
    const own = TRANSACTION_CONTROL.test(text) || text.includes('statement_timeout');
    const mapError = (error: unknown) => (byBudget && isQueryCanceled(error) ? new RequestTimeoutError('in a statement', { cause: error }) : error);

    try {
      if (status === 'T') {
        // Outside a request, only a transaction that has not chosen its own value gets the limit.
        const settable = !own && (remaining !== undefined || local === undefined);
        if ((local ?? serverDefault) !== needed && settable) await setLocal(needed, request);
        return await send(text, values);
      }
      if (status === 'E' || own || needed === serverDefault || NO_TRANSACTION.test(text)) return await send(text, values);
      return await wrapped(needed, request, () => send(text, values));
    } catch (error) {
      throw mapError(error);
    } finally {
      if (ROLLBACK_TO_SAVEPOINT.test(text) || text.includes('statement_timeout')) local = Number.NaN;
    }
  };

  async function wrapped(needed: number, request: RequestContext | undefined, run: () => Promise<pg.QueryResult>): Promise<pg.QueryResult> {
    await client.query('begin');
    try {
      await setLocal(needed, request);
      const result = await run();
      await client.query('commit');
      return result;
    } catch (error) {
      // A rollback that fails too leaves a broken connection, which pg discards on release.
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      local = undefined;
    }
  }
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
  /** The request it ran for (bindRequest), if any. */
  requestId: string | undefined;
}

export type QueryListener = (event: QueryEvent) => void;

/** PostgreSQL, with a migration lock that survives a transaction pooler (src/db/migrationLock.ts). */
class SwitchboardDialect extends PostgresDialect {
  override createAdapter(): TransactionLockAdapter {
    return new TransactionLockAdapter();
  }
}

const AFFECTING = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/**
 * A pooled client lent to Kysely for one request (or none): each statement
 * runs within the request's deadline and is counted in its statement log,
 * then reported to `onEvent`. What Kysely's own PostgresConnection does
 * otherwise: rows as pg decoded them, affected rows for writes.
 */
class RequestConnection implements DatabaseConnection {
  constructor(
    private readonly client: BoundClient,
    private readonly request: RequestContext | undefined,
    private readonly onEvent: QueryListener | undefined,
  ) {}

  async executeQuery<Row>(compiled: CompiledQuery): Promise<QueryResult<Row>> {
    const started = performance.now();
    let failed = true;
    try {
      const result = await this.client.query(compiled.sql, compiled.parameters, this.request);
      failed = false;
      return {
        rows: (result.rows as Row[] | undefined) ?? [],
        numAffectedRows: AFFECTING.has(result.command) ? BigInt(result.rowCount ?? 0) : undefined,
      };
    } finally {
      const durationMs = performance.now() - started;
      if (this.request?.statements) recordStatement(this.request.statements, compiled.sql, compiled.parameters, durationMs);
      this.onEvent?.({ sql: compiled.sql, durationMs, failed, requestId: this.request?.requestId });
    }
  }

  // eslint-disable-next-line require-yield -- no statement streams its rows (exports use COPY, src/db/copyOut.ts)
  async *streamQuery<Row>(): AsyncIterableIterator<QueryResult<Row>> {
    throw new Error('streaming query results is not supported; exports use COPY (src/db/copyOut.ts)');
  }
}

/** Lends each statement (or transaction) a connection from the pool, on behalf of one request or of none. */
class RequestConnectionProvider implements ConnectionProvider {
  constructor(
    private readonly source: ReturnType<typeof preparingPool>,
    private readonly request: RequestContext | undefined,
    private readonly onEvent: QueryListener | undefined,
  ) {}

  async provideConnection<T>(consumer: (connection: DatabaseConnection) => Promise<T>): Promise<T> {
    const client = await this.source.connect(this.request);
    try {
      return await consumer(new RequestConnection(client, this.request, this.onEvent));
    } finally {
      client.release();
    }
  }
}

/** How each Kysely instance made by createDb makes its request-bound siblings. */
const requestBinders = new WeakMap<Db, (request: RequestContext) => Db>();
/** Each request-bound instance's createDb instance: what identifies the database (unboundDb). */
const unbound = new WeakMap<Db, Db>();

/**
 * A Kysely instance over the pool, for work outside any request (caches,
 * readiness, migrations, seeding, subscriptions). `onEvent`, when given, sees
 * every statement it and its request-bound siblings (bindRequest) run.
 */
export function createDb(pool: pg.Pool, onEvent?: QueryListener): Db {
  const source = preparingPool(pool);
  const dialect = new SwitchboardDialect({ pool });
  // Kysely's compiler and adapter, with our connections: the dialect's own driver only opens and closes
  // transactions on them (begin, commit, savepoints); it never takes a connection from the pool itself.
  const base = new Kysely<Database>({ dialect });
  const driver = dialect.createDriver();
  const withRequest = (request: RequestContext | undefined): Db =>
    new Kysely<Database>({
      config: { dialect },
      dialect,
      driver,
      executor: base.getExecutor().withConnectionProvider(new RequestConnectionProvider(source, request, onEvent)),
    });
  const db = withRequest(undefined);
  requestBinders.set(db, (request) => {
    const bound = withRequest(request);
    unbound.set(bound, db);
    return bound;
  });
  return db;
}

/**
 * `db` for one request: its statements wait for a connection and run only
 * within the request's deadline, count in its statement log and carry its id
 * to the slow-statement log. A Db not made by createDb is returned as it is.
 */
export function bindRequest(db: Db, request: RequestContext): Db {
  return requestBinders.get(db)?.(request) ?? db;
}

/** The createDb instance a request-bound one came from (or `db` itself): who watches a database keys by it. */
export function unboundDb(db: Db): Db {
  return unbound.get(db) ?? db;
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
