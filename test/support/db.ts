import type pg from 'pg';
import { createDb, createPool, type Db } from '../../src/db/database';

/** The run's database (see globalSetup) as its owner, for factories and direct checks. */
export function testDatabaseUrl(): string {
  const url = process.env.SWITCHBOARD_TEST_DATABASE_URL;
  if (!url) throw new Error('SWITCHBOARD_TEST_DATABASE_URL is not set: run the tests through jest (globalSetup)');
  return url;
}

/** The same database as the runtime role (PG_APP_ROLE), which test servers connect as: every spec proves the grants suffice. */
export function testAppDatabaseUrl(): string {
  const url = process.env.SWITCHBOARD_TEST_APP_DATABASE_URL;
  if (!url) throw new Error('SWITCHBOARD_TEST_APP_DATABASE_URL is not set: run the tests through jest (globalSetup)');
  return url;
}

export function openTestDb(max = 4): { db: Db; close: () => Promise<void> } {
  const pool = createPool({ connectionString: testDatabaseUrl(), max });
  return { db: createDb(pool), close: () => pool.end() };
}

/** Statements of one application name that PostgreSQL is running right now. */
export async function activeStatements(admin: pg.Client, applicationName: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where application_name = $1 and state = 'active'`,
    [applicationName],
  );
  return rows[0]!.n;
}
