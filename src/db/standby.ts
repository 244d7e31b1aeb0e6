import { sql } from 'kysely';
import type { Db } from './database';

/**
 * Whether the database is a hot standby (`pg_is_in_recovery()`): it serves
 * reads and refuses every write with SQLSTATE 25006, which src/db/failures.ts
 * names READ_ONLY. `npm start` asks once, to skip what would write
 * (migrations, demo seeding) instead of failing on it; readiness asks on
 * every probe, so a promotion shows without a restart.
 */
export async function isStandby(db: Db): Promise<boolean> {
  const { rows } = await sql<{ standby: boolean }>`select pg_is_in_recovery() as standby`.execute(db);
  return rows[0]?.standby === true;
}
