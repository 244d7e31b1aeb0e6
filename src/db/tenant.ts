import { unboundDb, type Db } from './database';
import { durableTransaction } from './durable';

/** Declared, never created: no module can write this key, so only tenantScope() makes a TenantScope. */
declare const verifiedTenant: unique symbol;

/**
 * One organisation's view of the database: the handle (the pool, or a
 * transaction inside durableTenantTransaction) together with the organisation
 * every statement made through it filters on.
 *
 * Tenant query functions (src/queries, src/stats, webhook ingestion) take a
 * TenantScope as their first parameter and never an organisation id of their
 * own, so a caller cannot forget the tenant or pass another one; functions
 * that are global by nature (organisations by id or slug, secrets by slug,
 * rollup checks, migrations, seeds) take a raw `Db` instead, which makes the
 * difference visible in every signature. The request context carries a scope
 * and no `Db`, so resolvers and loaders can only reach the tenant queries.
 *
 * TypeScript has no module privacy: `db` is readable, for the query modules.
 * Resolvers and loaders never read it (README, "Layout").
 */
export interface TenantScope {
  readonly db: Db;
  /** The organisation from the verified token or webhook signature. */
  readonly orgId: string;
  readonly [verifiedTenant]: true;
}

/**
 * Call only where the organisation was just proven: the GraphQL context
 * after the token is verified, the webhook route after the signature is, an
 * operator's CLI, and tests. One object per request, no per-statement work.
 */
export function tenantScope(db: Db, orgId: string): TenantScope {
  // The one place the brand is asserted.
  return { db, orgId } as TenantScope;
}

/**
 * durableTransaction (src/db/durable.ts) for one organisation: the work gets
 * the same organisation over the transaction, so a mutation's statements are
 * scoped exactly like its reads.
 */
export async function durableTenantTransaction<T>(scope: TenantScope, work: (tx: TenantScope) => Promise<T>): Promise<T> {
  const result = await durableTransaction(scope.db, (trx) => work(tenantScope(trx, scope.orgId)));
  await commitObservers.get(unboundDb(scope.db))?.(scope.orgId);
  return result;
}

/**
 * Who hears that one organisation's write committed on a database: the read
 * replica router (src/db/replicas.ts) records the primary's WAL position then,
 * so that organisation's reads wait for a replica that has it. Keyed by the
 * Db, so only writes on the primary it watches are heard; an observer must
 * not throw (the write is already acknowledged by the database).
 */
const commitObservers = new WeakMap<Db, (orgId: string) => Promise<void>>();

export function observeTenantCommits(db: Db, observer: (orgId: string) => Promise<void>): () => void {
  commitObservers.set(db, observer);
  return () => commitObservers.delete(db);
}
