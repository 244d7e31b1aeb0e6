import { sql } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { CallOutcome, Sentiment } from '../db/schema';
import { CALL_LIST_COLUMNS, type CallListRow } from './calls';

export interface CallPatch {
  outcome?: CallOutcome | null;
  sentiment?: Sentiment | null;
  summary?: string | null;
  notes?: string | null;
}

/**
 * Applies the given fields; undefined when the call is not in the
 * organisation. The rollup triggers (0002, 0004) move the call between outcome
 * and sentiment buckets in this same statement's transaction.
 */
export async function updateCall({ db, orgId }: TenantScope, id: string, patch: CallPatch): Promise<CallListRow | undefined> {
  return db
    .updateTable('calls')
    .set({
      ...(patch.outcome !== undefined ? { outcome: patch.outcome } : {}),
      ...(patch.sentiment !== undefined ? { sentiment: patch.sentiment } : {}),
      ...(patch.summary !== undefined ? { summary: patch.summary } : {}),
      ...(patch.notes !== undefined ? { notes: patch.notes } : {}),
      updated_at: sql`now()`,
    })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returning(CALL_LIST_COLUMNS)
    .executeTakeFirst();
}
