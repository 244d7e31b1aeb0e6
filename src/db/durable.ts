import { sql, type Transaction } from 'kysely';
import type { Db } from './database';
import type { Database } from './schema';

/**
 * The statement that makes the surrounding transaction's commit wait for its
 * WAL flush. `synchronous_commit = off` (server, database or role setting) is
 * the only value under which a commit returns before its record is on disk;
 * `local`, `remote_write`, `on` and `remote_apply` all flush locally first.
 * So it only raises `off` to `on`, and never weakens an operator's stronger
 * choice (`remote_apply` waits for a standby too). Transaction-scoped
 * (set_config(..., true) is SET LOCAL): it holds through a transaction-pooling
 * proxy and leaves the session as it found it.
 */
export const DURABLE_COMMIT_STATEMENT = "select set_config('synchronous_commit', 'on', true) where current_setting('synchronous_commit') = 'off'";

/**
 * One transaction whose commit is on disk before this resolves: use it for
 * every write whose success is told to a client (a mutation's payload, a
 * webhook's 2xx, a rotated secret printed to an operator), so an
 * acknowledged write survives a PostgreSQL crash whatever the server's
 * `synchronous_commit` default. Costs one extra round trip per transaction
 * (README, "Durability").
 */
export async function durableTransaction<T>(db: Db, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql.raw(DURABLE_COMMIT_STATEMENT).execute(trx);
    return work(trx);
  });
}
