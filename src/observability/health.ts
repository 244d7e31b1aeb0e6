import { sql } from 'kysely';
import { migrations } from '../../migrations';
import type { KeySetState } from '../auth/jwks';
import type { Db } from '../db/database';
import { databaseFailure, isUndefinedTable } from '../db/failures';

/**
 * Readiness: the database answers, its schema is at the latest migration, and
 * the server is not draining. Bounded in time, so a probe never hangs on a
 * stuck pool. With JWKS_URL, also that some key can verify a token: `jwks` is
 * unavailable only when none can (never fetched, or stale past its window),
 * which keeps a fresh instance that could only answer 503 out of rotation;
 * `stale` (refreshes failing, last good keys in use) is still ready.
 * With caches on, `caches: bypassed` while the invalidation listener does not
 * hear (src/cache/listener.ts): degraded, slower, but correct — still ready.
 */
export interface Readiness {
  ready: boolean;
  body: {
    status: 'ready' | 'not ready';
    checks: {
      /**
       * busy: every pooled connection is in use and none freed up in time.
       * read-only: DATABASE_URL is a hot standby (pg_is_in_recovery()). Still
       * ready: it serves reads, and answers writes with READ_ONLY (a mutation's
       * extensions.code, a webhook's 503), so the instance stays in rotation
       * for reads and an operator sees why writes are refused.
       */
      database: 'ok' | 'read-only' | 'unreachable' | 'busy' | 'skipped';
      migrations: 'current' | 'pending' | 'unknown';
      draining: boolean;
      /** Present only with JWKS_URL (src/auth/jwks.ts). */
      jwks?: KeySetState;
      /** Present only with a cache on: bypassed while the invalidation listener is down or deaf. */
      caches?: CacheState;
      /**
       * Present with PROVIDER_URL: `degraded` while some account's circuit is
       * open. Non-critical: provider fields degrade (cached or null with a
       * field error), so it never makes the instance unready.
       */
      provider?: 'ok' | 'degraded';
    };
  };
}

export type CacheState = 'ok' | 'bypassed';

const EXPECTED = Object.keys(migrations);

export async function checkReadiness(
  db: Db,
  options: { draining: boolean; timeoutMs: number; jwks?: () => KeySetState; caches?: () => CacheState; provider?: () => 'ok' | 'degraded' },
): Promise<Readiness> {
  const jwks = options.jwks?.();
  const caches = options.caches?.();
  const provider = options.provider?.();
  const result = (database: Checks['database'], migrationState: Checks['migrations'], draining: boolean) =>
    outcome({
      database,
      migrations: migrationState,
      draining,
      ...(jwks ? { jwks } : {}),
      ...(caches ? { caches } : {}),
      ...(provider ? { provider } : {}),
    });
  if (options.draining) return result('skipped', 'unknown', true);
  let applied: string[];
  let standby: boolean;
  try {
    ({ applied, standby } = await withTimeout(
      sql<{ applied: string[]; standby: boolean }>`select array(select name::text from kysely_migration) as applied, pg_is_in_recovery() as standby`
        .execute(db)
        // One row, always: the statement has no FROM.
        .then((r) => r.rows[0] ?? { applied: [], standby: false }),
      options.timeoutMs,
      'readiness check',
    ));
  } catch (error) {
    // Reachable, never migrated.
    if (isUndefinedTable(error)) return result('ok', 'pending', false);
    const code = databaseFailure(error)?.code;
    // REQUEST_TIMEOUT: the probe's own request budget ran out waiting, as for a full pool.
    return result(code === 'DATABASE_BUSY' || code === 'REQUEST_TIMEOUT' ? 'busy' : 'unreachable', 'unknown', false);
  }
  const current = EXPECTED.every((name) => applied.includes(name));
  return result(standby ? 'read-only' : 'ok', current ? 'current' : 'pending', false);
}

type Checks = Readiness['body']['checks'];

function outcome(checks: Checks): Readiness {
  const ready =
    (checks.database === 'ok' || checks.database === 'read-only') &&
    checks.migrations === 'current' &&
    !checks.draining &&
    checks.jwks !== 'unavailable';
  return { ready, body: { status: ready ? 'ready' : 'not ready', checks } };
}

/** `promise`, or a rejection naming `what` after `ms`: for probes that must answer in bounded time (readiness, replica polls). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  // The losing promise may still settle later; swallow it so it is never an unhandled rejection.
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
