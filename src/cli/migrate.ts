import { loadConfig } from '../config/config';
import { locateDatabase } from '../db/connect';
import { createDb, createPool } from '../db/database';
import { migrateToLatest } from '../db/migrate';
import { runCli } from './run';

/** `npm run migrate`: brings the configured database to the latest schema. */
async function main(): Promise<void> {
  const config = loadConfig();
  const location = await locateDatabase(config);
  // Over the session-level connection: DATABASE_DIRECT_URL, never a transaction pooler's.
  const url = location.embedded ? location.url : (config.databaseDirectUrl ?? location.url);
  const pool = createPool({ connectionString: url, max: 1, applicationName: 'switchboard-migrate' });
  try {
    const result = await migrateToLatest(createDb(pool));
    const applied = result.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
  } finally {
    await pool.end();
    await location.release();
  }
}

runCli('migrate', () => main());
