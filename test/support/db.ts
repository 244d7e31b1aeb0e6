import { createDb, createPool, type Db } from '../../src/db/database';

/** The run's database (see globalSetup), for factories and direct checks. */
export function testDatabaseUrl(): string {
  const url = process.env.SWITCHBOARD_TEST_DATABASE_URL;
  if (!url) throw new Error('SWITCHBOARD_TEST_DATABASE_URL is not set: run the tests through jest (globalSetup)');
  return url;
}

export function openTestDb(max = 4): { db: Db; close: () => Promise<void> } {
  const pool = createPool({ connectionString: testDatabaseUrl(), max });
  return { db: createDb(pool), close: () => pool.end() };
}
