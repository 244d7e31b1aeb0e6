import { PostgresAdapter, sql, type Kysely, type MigrationLockOptions } from 'kysely';

/** Kysely's own lock id (postgres-adapter.js), so an older instance and a newer one still exclude each other's runs. */
const MIGRATION_LOCK_ID = 3853314791062309107n;

/**
 * Kysely's PostgreSQL lock is a session-level advisory lock taken and released
 * by two separate statements: through a transaction-mode pooler they land on
 * different server connections, the unlock fails to find the lock, and it
 * stays held by an idle server connection until someone kills it (every later
 * migration then hangs). This one is transaction-scoped: it opens the
 * transaction the migrations run in and takes `pg_advisory_xact_lock`, so
 * commit or rollback releases it wherever the pooler put us, and a lost
 * connection releases it with the backend.
 *
 * Kysely then opens its own migration transaction on the same connection: its
 * `begin` only warns (one is in progress) and its commit or rollback ends
 * ours, lock included. `release` is the commit for the paths that never get
 * that far (an error before Kysely's transaction); with nothing left open it
 * only warns.
 */
export class TransactionLockAdapter extends PostgresAdapter {
  override async acquireMigrationLock(db: Kysely<unknown>, _options: MigrationLockOptions): Promise<void> {
    await sql`begin`.execute(db);
    // Another instance migrating holds the lock: wait for it (bounded), not for PG_STATEMENT_TIMEOUT_MS.
    await sql`select set_config('statement_timeout', '600000', true), set_config('lock_timeout', '120000', true)`.execute(db);
    await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_ID)})`.execute(db);
  }

  override async releaseMigrationLock(db: Kysely<unknown>, _options: MigrationLockOptions): Promise<void> {
    await sql`commit`.execute(db);
  }
}
