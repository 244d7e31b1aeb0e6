import { sql } from 'kysely';
import { PREPARED } from '../db/database';
import type { TenantScope } from '../db/tenant';
import { periodCtes, type RangeSpec } from './periods';

export interface ContactFigures {
  total: number;
  hot: number;
  warm: number;
  cold: number;
  newContacts: number;
  contacted: number;
  neverContacted: number;
}

/** Lead tiers and coverage in one pass over the organisation's contacts index. */
export async function contactFigures({ db, orgId }: TenantScope, range: RangeSpec, now: Date): Promise<ContactFigures> {
  const { rows } = await sql<ContactFigures>`
    ${PREPARED} with ${periodCtes({ orgId, range, now, withPrevious: false, rawOnly: true })}
    select count(*)::int as total,
           (count(*) filter (where ct.lead_score >= 70))::int as hot,
           (count(*) filter (where ct.lead_score >= 40 and ct.lead_score < 70))::int as warm,
           (count(*) filter (where ct.lead_score < 40))::int as cold,
           (count(*) filter (where ct.created_at >= s.from_at and ct.created_at < s.to_at))::int as "newContacts",
           (count(*) filter (where ct.last_contacted_at is not null))::int as contacted,
           (count(*) filter (where ct.last_contacted_at is null))::int as "neverContacted"
    from split s
    left join contacts ct on ct.org_id = ${orgId}::int8
  `.execute(db);
  const [row] = rows;
  if (!row) throw new Error('the statistics statement returned no row');
  return row;
}
