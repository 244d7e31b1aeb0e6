import { sql, type RawBuilder } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { AgentRow, AgentStatus, PhoneNumberRow } from '../db/schema';
import type { SortValueKind } from '../pagination/cursor';
import { and, finishPage, keysetBounds, scanDirection, type Page, type SortDirection } from '../pagination/keyset';
import { scanLimit, type PageRequest } from '../pagination/pageArgs';

export const AGENT_COLUMNS = ['id', 'org_id', 'name', 'status', 'provider', 'provider_agent_id', 'language', 'created_at', 'updated_at'] as const;
export type AgentColumn = (typeof AGENT_COLUMNS)[number];
export type AgentListRow = Pick<AgentRow, AgentColumn>;
const agentColumns = AGENT_COLUMNS.map((column) => `a.${column}` as const);

export interface AgentFilterSpec {
  statuses?: AgentStatus[];
}

export type AgentSortField = 'name' | 'created_at';

export interface AgentOrderSpec {
  field: AgentSortField;
  direction: SortDirection;
}

export const AGENT_SORT_KINDS: Record<AgentSortField, SortValueKind> = { name: 'text', created_at: 'timestamp' };

/** The ordering cursors are bound to; `agents.name.asc`, the only order before there was a choice, keeps its name. */
export function agentOrdering(order: AgentOrderSpec): string {
  return `agents.${order.field}.${order.direction}`;
}

export function agentConditions(orgId: string, filter: AgentFilterSpec): RawBuilder<unknown>[] {
  const conditions: RawBuilder<unknown>[] = [sql`a.org_id = ${orgId}::int8`];
  if (filter.statuses) conditions.push(sql`a.status = any(${filter.statuses}::text[])`);
  return conditions;
}

export async function findAgentsPage(
  { db, orgId }: TenantScope,
  filter: AgentFilterSpec,
  order: AgentOrderSpec,
  page: PageRequest,
): Promise<Page<AgentListRow>> {
  const scan = scanDirection(page, order.direction);
  const sortColumn = `a.${order.field}` as const;
  const rows = await db
    .selectFrom('agents as a')
    .select(agentColumns)
    .where(and([...agentConditions(orgId, filter), ...keysetBounds(sortColumn, 'a.id', page, order.direction)]))
    .orderBy(sortColumn, scan)
    .orderBy('a.id', scan)
    .limit(scanLimit(page))
    .execute();
  return finishPage(rows, page);
}

export async function countAgents({ db, orgId }: TenantScope, filter: AgentFilterSpec): Promise<number> {
  const { count } = await db
    .selectFrom('agents as a')
    .select(sql<number>`count(*)::int`.as('count'))
    .where(and(agentConditions(orgId, filter)))
    .executeTakeFirstOrThrow();
  return count;
}

export async function findAgentsByIds({ db, orgId }: TenantScope, ids: readonly string[]): Promise<AgentListRow[]> {
  return db
    .selectFrom('agents as a')
    .select(agentColumns)
    .where('a.org_id', '=', orgId)
    .where('a.id', '=', sql<string>`any(${ids}::int8[])`)
    .execute();
}

export type PhoneNumberListRow = Pick<PhoneNumberRow, 'id' | 'org_id' | 'e164' | 'provider' | 'provider_number_id' | 'agent_id'>;
export const PHONE_COLUMNS = ['id', 'org_id', 'e164', 'provider', 'provider_number_id', 'agent_id'] as const;

export async function findPhoneNumbersByAgents({ db, orgId }: TenantScope, agentIds: readonly string[]): Promise<PhoneNumberListRow[]> {
  return db
    .selectFrom('phone_numbers')
    .select(PHONE_COLUMNS)
    .where('org_id', '=', orgId)
    .where('agent_id', '=', sql<string>`any(${agentIds}::int8[])`)
    .orderBy('e164')
    .execute();
}

export async function findPhoneNumbersByIds({ db, orgId }: TenantScope, ids: readonly string[]): Promise<PhoneNumberListRow[]> {
  return db
    .selectFrom('phone_numbers')
    .select(PHONE_COLUMNS)
    .where('org_id', '=', orgId)
    .where('id', '=', sql<string>`any(${ids}::int8[])`)
    .execute();
}
