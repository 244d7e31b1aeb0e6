import { sql, type Kysely } from 'kysely';

/**
 * Every rollup table gets a primary key: logical replication, and with it a
 * sharded deployment's shard moves (docs/scaling.md), needs one on every table.
 *
 * - Natural keys whose columns are all NOT NULL become the primary key, under
 *   the same constraint name (the rollup triggers upsert `on conflict on
 *   constraint <name>`) and with the same INCLUDE columns, so statistics reads
 *   stay index-only.
 * - Keys over nullable dimensions (`unique nulls not distinct`: outcome,
 *   sentiment, agent) cannot be a primary key: those tables get an identity
 *   column and `primary key (org_id, id)`, the organisation first as a
 *   distributed table requires, and keep their unique constraint for upserts.
 */
const NATURAL = [
  [
    'call_daily_agent_rollups',
    '(org_id, day, agent_id, status) include (calls, duration_sum, cost_sum)',
    'unique (org_id, day, agent_id, status) include (calls, duration_sum, cost_sum)',
  ],
  [
    'appointment_daily_org_rollups',
    '(org_id, day, status) include (appointments, value_sum)',
    'unique (org_id, day, status) include (appointments, value_sum)',
  ],
] as const;
const SURROGATE = ['call_daily_org_rollups', 'appointment_daily_rollups'] as const;

// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [table, key] of NATURAL) {
    await sql.raw(`alter table ${table} drop constraint ${table}_key, add constraint ${table}_key primary key ${key}`).execute(db);
  }
  for (const table of SURROGATE) {
    await sql
      .raw(`alter table ${table} add column id bigint generated always as identity, add constraint ${table}_pkey primary key (org_id, id)`)
      .execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of SURROGATE) await sql.raw(`alter table ${table} drop constraint ${table}_pkey, drop column id`).execute(db);
  for (const [table, , unique] of NATURAL) {
    await sql.raw(`alter table ${table} drop constraint ${table}_key, add constraint ${table}_key ${unique}`).execute(db);
  }
}
