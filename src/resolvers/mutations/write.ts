import type { Db } from '../../db/database';
import type { Context } from '../../graphql/context';
import { forgetLoadedRows } from '../../loaders';

/**
 * Runs one mutation's statements in one transaction: an error thrown anywhere
 * inside (NOT_FOUND, a rule checked against a locked row, a database failure)
 * rolls all of it back. After the commit, the request forgets what it had
 * loaded, so the payload and anything after it read the new state.
 */
export async function write<T>(ctx: Context, work: (db: Db) => Promise<T>): Promise<T> {
  const result = await ctx.db.transaction().execute(work);
  forgetLoadedRows(ctx.loaders);
  return result;
}
