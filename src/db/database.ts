import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
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
}

export function createPool({ connectionString, max, statementTimeoutMs = 5000 }: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // Set on every connection by the server itself, so a runaway statement or a
    // forgotten transaction can never hold a connection forever.
    options: `-c statement_timeout=${statementTimeoutMs} -c idle_in_transaction_session_timeout=10000`,
    application_name: 'switchboard',
  });
  // An idle client losing its connection (database restart) must not crash the
  // process; the pool discards it and the next checkout reconnects.
  pool.on('error', () => {});
  return pool;
}

export function createDb(pool: pg.Pool): Db {
  return new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log(event) {
      recordStatement(event.query.sql, event.query.parameters, event.queryDurationMillis);
    },
  });
}
