import { sql } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { ProviderAgentListing, ProviderPhoneNumber } from '../provider/api';
import { AGENT_COLUMNS, PHONE_COLUMNS, type AgentListRow, type PhoneNumberListRow } from './agents';

/** The organisation's API key at the voice provider, or undefined when none is set. Read by the provider module only. */
export async function findProviderApiKey({ db, orgId }: TenantScope): Promise<string | undefined> {
  const row = await db.selectFrom('provider_accounts').select('api_key').where('org_id', '=', orgId).executeTakeFirst();
  return row?.api_key;
}

/** Sets (or replaces) the organisation's API key. */
export async function setProviderApiKey({ db, orgId }: TenantScope, apiKey: string): Promise<void> {
  await db
    .insertInto('provider_accounts')
    .values({ org_id: orgId, api_key: apiKey })
    .onConflict((oc) => oc.column('org_id').doUpdateSet({ api_key: apiKey, updated_at: sql`now()` }))
    .execute();
}

export interface SyncedRows<Row> {
  /** Every row the provider listed, as it now is. */
  rows: Row[];
  created: number;
  updated: number;
}

/**
 * Upserts the provider's agents on (org_id, provider, provider_agent_id):
 * new ones are created, a changed name is updated, an unchanged row is not
 * touched (no new updated_at, no cache invalidation), so a second sync
 * writes nothing. Agents the provider no longer lists are left alone:
 * their calls still point at them.
 */
export async function upsertProviderAgents(
  { db, orgId }: TenantScope,
  provider: string,
  agents: ProviderAgentListing[],
): Promise<SyncedRows<AgentListRow>> {
  if (agents.length === 0) return { rows: [], created: 0, updated: 0 };
  const written = await db
    .insertInto('agents')
    .values(agents.map((agent) => ({ org_id: orgId, name: agent.name, provider, provider_agent_id: agent.providerAgentId })))
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'provider', 'provider_agent_id'])
        .doUpdateSet({ name: (eb) => eb.ref('excluded.name'), updated_at: sql`now()` })
        .where(sql<boolean>`agents.name is distinct from excluded.name`),
    )
    .returning(sql<boolean>`xmax = 0`.as('inserted'))
    .execute();
  const rows = await db
    .selectFrom('agents')
    .select(AGENT_COLUMNS)
    .where('org_id', '=', orgId)
    .where('provider', '=', provider)
    .where(
      'provider_agent_id',
      'in',
      agents.map((agent) => agent.providerAgentId),
    )
    .orderBy('name')
    .orderBy('id')
    .execute();
  const created = written.filter((row) => row.inserted).length;
  return { rows, created, updated: written.length - created };
}

/**
 * Upserts the provider's phone numbers on (org_id, e164), routed to the agent
 * the provider assigns them to (by its provider id, in this organisation;
 * unassigned when that agent is unknown or archived, since archived agents
 * hold no numbers). Unchanged rows are not touched.
 */
export async function upsertProviderPhoneNumbers(
  { db, orgId }: TenantScope,
  provider: string,
  numbers: ProviderPhoneNumber[],
): Promise<SyncedRows<PhoneNumberListRow>> {
  if (numbers.length === 0) return { rows: [], created: 0, updated: 0 };
  const agentOf = (providerAgentId: string | null) =>
    providerAgentId === null
      ? null
      : sql<string>`(select a.id from agents a where a.org_id = ${orgId} and a.provider = ${provider} and a.provider_agent_id = ${providerAgentId} and a.status <> 'archived')`;
  const written = await db
    .insertInto('phone_numbers')
    .values(
      numbers.map((number) => ({
        org_id: orgId,
        e164: number.e164,
        provider,
        provider_number_id: number.providerNumberId,
        agent_id: agentOf(number.providerAgentId),
      })),
    )
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'e164'])
        .doUpdateSet({
          provider: (eb) => eb.ref('excluded.provider'),
          provider_number_id: (eb) => eb.ref('excluded.provider_number_id'),
          agent_id: (eb) => eb.ref('excluded.agent_id'),
        })
        .where(
          sql<boolean>`(phone_numbers.provider, phone_numbers.provider_number_id, phone_numbers.agent_id) is distinct from (excluded.provider, excluded.provider_number_id, excluded.agent_id)`,
        ),
    )
    .returning(sql<boolean>`xmax = 0`.as('inserted'))
    .execute();
  const rows = await db
    .selectFrom('phone_numbers')
    .select(PHONE_COLUMNS)
    .where('org_id', '=', orgId)
    .where(
      'e164',
      'in',
      numbers.map((number) => number.e164),
    )
    .orderBy('e164')
    .execute();
  const created = written.filter((row) => row.inserted).length;
  return { rows, created, updated: written.length - created };
}
