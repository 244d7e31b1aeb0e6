import { loadConfig } from '../config/config';
import { locateDatabase } from '../db/connect';
import { createDb, createPool } from '../db/database';
import { migrateToLatest } from '../db/migrate';
import { runCli } from './run';

/** `npm run migrate`: brings the configured database to the latest schema. */
async function main(): Promise<void> {
  const config = loadConfig();
  const location = await locateDatabase(config);
  // As the owner, over its session-level connection: DATABASE_MIGRATION_URL (→ DATABASE_DIRECT_URL → DATABASE_URL).
  const pool = createPool({ connectionString: location.migrationUrl, max: 1, applicationName: 'switchboard-migrate' });
  try {
    const result = await migrateToLatest(createDb(pool), { appRole: config.pgAppRole });
    const applied = result.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
  } finally {
    await pool.end();
    await location.release();
  }
}

runCli('migrate', () => main());
