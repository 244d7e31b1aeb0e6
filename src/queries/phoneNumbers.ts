import type { Db } from '../db/database';
import type { PhoneNumberListRow } from './agents';

/** The organisation's phone number with this E.164 form, if it has one. */
export async function findPhoneNumberByE164(db: Db, orgId: string, e164: string): Promise<PhoneNumberListRow | undefined> {
  return db
    .selectFrom('phone_numbers')
    .select(['id', 'org_id', 'e164', 'provider', 'provider_number_id', 'agent_id'])
    .where('org_id', '=', orgId)
    .where('e164', '=', e164)
    .executeTakeFirst();
}
