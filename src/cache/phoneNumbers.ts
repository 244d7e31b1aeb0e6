import type { Db } from '../db/database';
import type { PhoneNumberListRow } from '../queries/agents';
import { findPhoneNumberByE164 } from '../queries/phoneNumbers';
import type { EntityCache } from './entityCache';

/**
 * Phone number → agent, for call ingestion: which of the organisation's
 * numbers a call reached, and the agent it is assigned to (`agent_id`, null
 * when unassigned). Served from the given entity cache (the server's
 * `caches.entities.phoneNumbersByE164`) while it is enabled; a write to phone_numbers or agents, from
 * anywhere, evicts it. Unknown numbers are not cached (a flood of them must
 * not push real ones out).
 */
export async function lookupPhoneNumber(
  db: Db,
  orgId: string,
  e164: string,
  cache?: EntityCache<PhoneNumberListRow>,
): Promise<PhoneNumberListRow | undefined> {
  if (!cache?.enabled()) return findPhoneNumberByE164(db, orgId, e164);
  const cached = cache.get(orgId, e164);
  if (cached) return cached;
  const stamp = cache.stamp(orgId);
  const row = await findPhoneNumberByE164(db, orgId, e164);
  if (row) cache.set(orgId, e164, row, stamp);
  return row;
}
