import { Migrator, type MigrationResultSet } from 'kysely';
import { migrationsFor } from '../../migrations';
import { DEFAULT_APP_ROLE } from '../../migrations/0010_app_role';
import type { Db } from './database';

export interface MigrateOptions {
  /** The runtime role the grants go to (PG_APP_ROLE; migrations/0010_app_role.ts). */
  appRole?: string;
}

/** Takes the transaction-scoped lock of src/db/migrationLock.ts: createDb's dialect carries it. */
export function createMigrator(db: Db, { appRole = DEFAULT_APP_ROLE }: MigrateOptions = {}): Migrator {
  const migrations = migrationsFor({ appRole });
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

/**
 * Brings the schema to the latest migration; throws with the failing
 * migration's name. Run it as the owner (DATABASE_MIGRATION_URL), never as the
 * runtime role, which may not create or alter anything.
 */
export async function migrateToLatest(db: Db, options: MigrateOptions = {}): Promise<MigrationResultSet> {
  const result = await createMigrator(db, options).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    // No migration ran at all (the database is unreachable, say): that error is the whole story.
    const error = result.error instanceof Error ? result.error : new Error(JSON.stringify(result.error));
    if (!failed) throw error;
    throw new Error(`migration ${failed} failed: ${error.message}`, { cause: error });
  }
  return result;
}
