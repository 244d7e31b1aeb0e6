import { sql } from 'kysely';
import { migrations } from '../../migrations';
import type { Db } from '../db/database';
import { databaseFailure } from '../db/failures';

/**
 * Readiness: the database answers, its schema is at the latest migration, and
 * the server is not draining. Bounded in time, so a probe never hangs on a
 * stuck pool.
 */
export interface Readiness {
  ready: boolean;
  body: {
    status: 'ready' | 'not ready';
    checks: {
      /** busy: every pooled connection is in use and none freed up in time. */
      database: 'ok' | 'unreachable' | 'busy' | 'skipped';
      migrations: 'current' | 'pending' | 'unknown';
      draining: boolean;
    };
  };
}

const EXPECTED = Object.keys(migrations);

export async function checkReadiness(db: Db, options: { draining: boolean; timeoutMs: number }): Promise<Readiness> {
  if (options.draining) return result('skipped', 'unknown', true);
  let applied: string[];
  try {
    applied = await withTimeout(
      sql<{ name: string }>`select name from kysely_migration`.execute(db).then((r) => r.rows.map((row) => row.name)),
      options.timeoutMs,
    );
  } catch (error) {
    // undefined_table: reachable, never migrated.
    if ((error as { code?: unknown }).code === '42P01') return result('ok', 'pending', false);
    const code = databaseFailure(error)?.code;
    // REQUEST_TIMEOUT: the probe's own request budget ran out waiting, as for a full pool.
    return result(code === 'DATABASE_BUSY' || code === 'REQUEST_TIMEOUT' ? 'busy' : 'unreachable', 'unknown', false);
  }
  const current = EXPECTED.every((name) => applied.includes(name));
  return result('ok', current ? 'current' : 'pending', false);
}

function result(database: Readiness['body']['checks']['database'], migrationState: Readiness['body']['checks']['migrations'], draining: boolean): Readiness {
  const ready = database === 'ok' && migrationState === 'current' && !draining;
  return { ready, body: { status: ready ? 'ready' : 'not ready', checks: { database, migrations: migrationState, draining } } };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  // The losing promise may still settle later; swallow it so it is never an unhandled rejection.
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('readiness check timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
