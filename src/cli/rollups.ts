import { sql } from 'kysely';
import { loadConfig } from '../config/config';
import { locateDatabase } from '../db/connect';
import { createDb, createPool } from '../db/database';
import { migrateToLatest } from '../db/migrate';
import { rollupDifferences } from '../stats/rollupCheck';
import { runCli } from './run';

/**
 * `npm run rollups:rebuild` recomputes every organisation's rollups from raw rows.
 * `npm run rollups:check` reports any difference between rollups and raw
 * aggregation (there should never be one) and exits 1 if it finds any.
 */
async function main(command: string | undefined): Promise<number> {
  if (command !== 'rebuild' && command !== 'check') throw new Error('usage: rollups.ts rebuild|check');
  const config = loadConfig();
  const location = await locateDatabase(config);
  const pool = createPool({ connectionString: location.migrationUrl, max: 1, statementTimeoutMs: 0 });
  const db = createDb(pool);
  try {
    await migrateToLatest(db, { appRole: config.pgAppRole });
    const started = Date.now();
    if (command === 'rebuild') {
      const { rows } = await sql<{ organisations: number }>`
        select count(*)::int as organisations from (select rebuild_rollups(id) from organisations) rebuilt`.execute(db);
      console.log(`rebuilt rollups of ${rows[0]?.organisations ?? 0} organisations in ${Date.now() - started} ms`);
      return 0;
    }
    const differences = await rollupDifferences(db);
    for (const difference of differences) console.log(JSON.stringify(difference));
    console.log(`${differences.length} difference(s) between rollups and raw rows (${Date.now() - started} ms)`);
    return differences.length === 0 ? 0 : 1;
  } finally {
    await pool.end();
    await location.release();
  }
}

// A difference exits 1 and a failure to check 2, except a wrong setting, which every command exits 1 with.
runCli('rollups', () => main(process.argv[2]), 2);
