import { sql, type RawBuilder } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { AgentRow, AgentStatus, PhoneNumberRow } from '../db/schema';
import { and, finishPage, keysetBounds, scanDirection, type Page } from '../pagination/keyset';
import type { PageRequest } from '../pagination/pageArgs';

export const AGENT_COLUMNS = ['id', 'org_id', 'name', 'status', 'provider', 'provider_agent_id', 'language', 'created_at', 'updated_at'] as const;
export type AgentListRow = Pick<AgentRow, (typeof AGENT_COLUMNS)[number]>;
const agentColumns = AGENT_COLUMNS.map((column) => `a.${column}` as const);

export interface AgentFilterSpec {
  statuses?: AgentStatus[];
}

/** Agents are listed by name; cursors are bound to this ordering. */
export const AGENT_ORDERING = 'agents.name.asc';

export function agentConditions(orgId: string, filter: AgentFilterSpec): RawBuilder<unknown>[] {
  const conditions: RawBuilder<unknown>[] = [sql`a.org_id = ${orgId}::int8`];
  if (filter.statuses) conditions.push(sql`a.status = any(${filter.statuses}::text[])`);
  return conditions;
}

export async function findAgentsPage({ db, orgId }: TenantScope, filter: AgentFilterSpec, page: PageRequest): Promise<Page<AgentListRow>> {
  const scan = scanDirection(page, 'asc');
  const rows = await db
    .selectFrom('agents as a')
    .select(agentColumns)
    .where(and([...agentConditions(orgId, filter), ...keysetBounds('a.name', 'a.id', page, 'asc')]))
    .orderBy('a.name', scan)
    .orderBy('a.id', scan)
    .limit(page.limit + 1)
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
