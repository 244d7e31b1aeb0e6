import { durableTenantTransaction, type TenantScope } from '../../db/tenant';
import type { Context } from '../../graphql/context';
import { forgetLoadedRows } from '../../loaders';

/**
 * Runs one mutation's statements in one transaction: an error thrown anywhere
 * inside (NOT_FOUND, a rule checked against a locked row, a database failure)
 * rolls all of it back. `tx` is the caller's organisation over that
 * transaction. The commit is durable (on disk) before the payload is built,
 * so a successful payload never reports a write a crash can undo. After the
 * commit, the request forgets what it had loaded, so the payload and anything
 * after it read the new state.
 */
export async function write<T>(ctx: Context, work: (tx: TenantScope) => Promise<T>): Promise<T> {
  const result = await durableTenantTransaction(ctx.scope, work);
  forgetLoadedRows(ctx.loaders);
  return result;
}
