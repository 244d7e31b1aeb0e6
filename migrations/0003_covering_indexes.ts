import { Kysely, sql } from 'kysely';

/**
 * Indexes shaped by what the statistics read (see docs/indexes.md):
 * - calls by started_at now also carries the columns a partial-day statistic
 *   reads, so today's figures come from an index-only scan, and it still
 *   serves every calls page;
 * - appointments get a created_at path for partial-day booking figures;
 * - contacts by lead score carries created_at and last_contacted_at, so the
 *   contact panel counts tiers and coverage without touching the heap.
 */
// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `drop index calls_by_started`,
    `create index calls_by_started on calls (org_id, started_at desc, id desc)
       include (agent_id, direction, status, outcome, sentiment, duration_seconds, cost)`,
    `create index appointments_by_created on appointments (org_id, created_at) include (agent_id, status, value)`,
    `drop index contacts_by_score`,
    `create index contacts_by_score on contacts (org_id, lead_score desc, id desc) include (created_at, last_contacted_at)`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `drop index calls_by_started`,
    `create index calls_by_started on calls (org_id, started_at desc, id desc)`,
    `drop index appointments_by_created`,
    `drop index contacts_by_score`,
    `create index contacts_by_score on contacts (org_id, lead_score desc, id desc)`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}
