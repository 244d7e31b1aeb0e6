import type { Db } from '../db/database';
import type { PhoneNumberListRow } from '../queries/agents';
import { findPhoneNumberByE164 } from '../queries/phoneNumbers';
import { cachesFor } from './runtime';

/**
 * Phone number → agent, for call ingestion: which of the organisation's
 * numbers a call reached, and the agent it is assigned to (`agent_id`, null
 * when unassigned). Served from the app's entity cache when `db` belongs to a
 * running app with caches on; a write to phone_numbers or agents, from
 * anywhere, evicts it. Unknown numbers are not cached (a flood of them must
 * not push real ones out).
 */
export async function lookupPhoneNumber(db: Db, orgId: string, e164: string): Promise<PhoneNumberListRow | undefined> {
  const cache = cachesFor(db)?.entities.phoneNumbersByE164;
  if (!cache?.enabled()) return findPhoneNumberByE164(db, orgId, e164);
  const cached = cache.get(orgId, e164);
  if (cached) return cached;
  const stamp = cache.stamp(orgId);
  const row = await findPhoneNumberByE164(db, orgId, e164);
  if (row) cache.set(orgId, e164, row, stamp);
  return row;
}
