import { sql } from 'kysely';
import type { TenantScope } from '../db/tenant';
import type { AgentStatus } from '../db/schema';
import { AGENT_COLUMNS, PHONE_COLUMNS, type AgentListRow, type PhoneNumberListRow } from './agents';

/**
 * Agent and phone-number writes, each scoped by org_id in the statement.
 *
 * Lock order is always agent, then phone numbers — archiving (update agent,
 * then release its numbers) and assigning (share-lock the agent, then lock the
 * number) take them in the same order, so they can wait for each other but
 * never deadlock.
 */

export interface AgentPatch {
  name?: string;
  status?: AgentStatus;
}

export async function updateAgent({ db, orgId }: TenantScope, id: string, patch: AgentPatch): Promise<AgentListRow | undefined> {
  return db
    .updateTable('agents')
    .set({
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.status !== undefined ? { status: patch.status } : {}),
      updated_at: sql`now()`,
    })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returning(AGENT_COLUMNS)
    .executeTakeFirst();
}

/** Unassigns every number of an agent; returns them, ordered by number like `Agent.phoneNumbers`. */
export async function releasePhoneNumbers({ db, orgId }: TenantScope, agentId: string): Promise<PhoneNumberListRow[]> {
  const rows = await db
    .updateTable('phone_numbers')
    .set({ agent_id: null })
    .where('org_id', '=', orgId)
    .where('agent_id', '=', agentId)
    .returning(PHONE_COLUMNS)
    .execute();
  return rows.sort((a, b) => (a.e164 < b.e164 ? -1 : a.e164 > b.e164 ? 1 : 0));
}

/**
 * The agent's status, share-locked until the transaction ends: an archive
 * running concurrently waits for this assignment (and then releases the
 * number), or this assignment waits for it and sees the agent archived.
 */
export async function lockAgentForAssignment({ db, orgId }: TenantScope, id: string): Promise<{ id: string; status: AgentStatus } | undefined> {
  return db.selectFrom('agents').select(['id', 'status']).where('org_id', '=', orgId).where('id', '=', id).forShare().executeTakeFirst();
}

/** The number and its current agent, locked so concurrent reassignments of it queue up. */
export async function lockPhoneNumber({ db, orgId }: TenantScope, id: string): Promise<{ id: string; agent_id: string | null } | undefined> {
  return db
    .selectFrom('phone_numbers')
    .select(['id', 'agent_id'])
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .forNoKeyUpdate()
    .executeTakeFirst();
}

export async function setPhoneNumberAgent({ db, orgId }: TenantScope, id: string, agentId: string | null): Promise<PhoneNumberListRow> {
  return db
    .updateTable('phone_numbers')
    .set({ agent_id: agentId })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returning(PHONE_COLUMNS)
    .executeTakeFirstOrThrow();
}
