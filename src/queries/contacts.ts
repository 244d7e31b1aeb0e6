import { sql, type RawBuilder } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { ContactRow, ContactStatus } from '../db/schema';
import { and, finishPage, keysetBounds, scanDirection, type Page, type SortDirection } from '../pagination/keyset';
import { scanLimit, type PageRequest } from '../pagination/pageArgs';
import type { SortValueKind } from '../pagination/cursor';
import type { JsonColumnKind } from './jsonRows';

/** Columns a list of contacts reads: metadata is loaded on demand only. */
export const CONTACT_LIST_COLUMNS = [
  'id',
  'org_id',
  'name',
  'phone',
  'email',
  'lead_score',
  'status',
  'tags',
  'created_at',
  'updated_at',
  'last_contacted_at',
] as const;
export type ContactColumn = (typeof CONTACT_LIST_COLUMNS)[number];
export type ContactListRow = Pick<ContactRow, ContactColumn>;

/** How each list column travels in a JSON-built row (src/queries/jsonRows.ts). */
export const CONTACT_JSON_KINDS: Record<(typeof CONTACT_LIST_COLUMNS)[number], JsonColumnKind> = {
  id: 'int8',
  org_id: 'int8',
  name: 'plain',
  phone: 'plain',
  email: 'plain',
  lead_score: 'plain',
  status: 'plain',
  tags: 'plain',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  last_contacted_at: 'timestamptz',
};
const contactColumns = CONTACT_LIST_COLUMNS.map((column) => `ct.${column}` as const);

export type LeadTier = 'hot' | 'warm' | 'cold';

/** Tier thresholds: HOT ≥ 70, WARM ≥ 40, otherwise COLD. */
export function tierOf(leadScore: number): LeadTier {
  return leadScore >= 70 ? 'hot' : leadScore >= 40 ? 'warm' : 'cold';
}

export interface ContactFilterSpec {
  /** Lower-cased substring, at least 3 characters (validated by the caller). */
  search?: string;
  tier?: LeadTier;
  status?: ContactStatus;
}

export type ContactSortField = 'created_at' | 'lead_score' | 'name';

export interface ContactOrderSpec {
  field: ContactSortField;
  direction: SortDirection;
}

export const CONTACT_SORT_KINDS: Record<ContactSortField, SortValueKind> = {
  created_at: 'timestamp',
  lead_score: 'smallint',
  name: 'text',
};

export function contactOrdering(order: ContactOrderSpec): string {
  return `contacts.${order.field}.${order.direction}`;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

export function contactConditions(orgId: string, filter: ContactFilterSpec): RawBuilder<unknown>[] {
  const conditions: RawBuilder<unknown>[] = [sql`ct.org_id = ${orgId}::int8`];
  if (filter.search) conditions.push(sql`ct.search_text like ${`%${escapeLike(filter.search)}%`}`);
  if (filter.tier === 'hot') conditions.push(sql`ct.lead_score >= 70`);
  if (filter.tier === 'warm') conditions.push(sql`ct.lead_score >= 40 and ct.lead_score < 70`);
  if (filter.tier === 'cold') conditions.push(sql`ct.lead_score < 40`);
  if (filter.status) conditions.push(sql`ct.status = ${filter.status}`);
  return conditions;
}

export async function findContactsPage(
  { db, orgId }: TenantScope,
  filter: ContactFilterSpec,
  order: ContactOrderSpec,
  page: PageRequest,
): Promise<Page<ContactListRow>> {
  const scan = scanDirection(page, order.direction);
  const sortColumn = `ct.${order.field}` as const;
  const rows = await db
    .selectFrom('contacts as ct')
    .select(contactColumns)
    .where(and([...contactConditions(orgId, filter), ...keysetBounds(sortColumn, 'ct.id', page, order.direction)]))
    .orderBy(sortColumn, scan)
    .orderBy('ct.id', scan)
    .limit(scanLimit(page))
    .execute();
  return finishPage(rows, page);
}

export async function countContacts({ db, orgId }: TenantScope, filter: ContactFilterSpec): Promise<number> {
  const { count } = await db
    .selectFrom('contacts as ct')
    .select(sql<number>`count(*)::int`.as('count'))
    .where(and(contactConditions(orgId, filter)))
    .executeTakeFirstOrThrow();
  return count;
}

export async function findContactsByIds({ db, orgId }: TenantScope, ids: readonly string[]): Promise<ContactListRow[]> {
  return db
    .selectFrom('contacts as ct')
    .select(contactColumns)
    .where('ct.org_id', '=', orgId)
    .where('ct.id', '=', sql<string>`any(${ids}::int8[])`)
    .execute();
}

export async function findContactMetadata(
  { db, orgId }: TenantScope,
  ids: readonly string[],
): Promise<{ id: string; metadata: Record<string, unknown> }[]> {
  return db
    .selectFrom('contacts')
    .select(['id', 'metadata'])
    .where('org_id', '=', orgId)
    .where('id', '=', sql<string>`any(${ids}::int8[])`)
    .execute();
}
