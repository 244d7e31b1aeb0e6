import { Migrator, type MigrationResultSet } from 'kysely';
import { migrations } from '../../migrations';
import type { Db } from './database';

/** Takes the transaction-scoped lock of src/db/migrationLock.ts: createDb's dialect carries it. */
export function createMigrator(db: Db): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

/** Brings the schema to the latest migration; throws with the failing migration's name. */
export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const result = await createMigrator(db).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    // No migration ran at all (the database is unreachable, say): that error is the whole story.
    const error = result.error instanceof Error ? result.error : new Error(JSON.stringify(result.error));
    if (!failed) throw error;
    throw new Error(`migration ${failed} failed: ${error.message}`, { cause: error });
  }
  return result;
}
