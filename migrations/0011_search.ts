import { Kysely, sql } from 'kysely';

/**
 * Call search and sorting (issue 16; docs/indexes.md says what each serves):
 * - an index per call order, at the root and within an agent's calls, so a
 *   page by duration, cost or end time is one range scan at any depth
 *   (started_at already has its three). A contact's calls are few: they come
 *   through calls_by_contact and are sorted in memory, which saves three
 *   indexes on the hottest write table;
 * - agents by creation time, with created_at cut to milliseconds like every
 *   other keyset timestamp, so a cursor round-trips exactly through JSON;
 * - full-text search: a generated tsvector on transcripts (long texts: parsed
 *   once, on write) and an expression index on call summaries (short: a stored
 *   vector would widen every call row that lists scan); both `simple` (no
 *   stemming: transcripts come in every language an agent speaks), both
 *   leading with org_id through btree_gin, so one tenant's common word never
 *   costs another tenant a thing;
 * - phone-number search: trigrams of the from/to numbers' digits.
 */
// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `create extension if not exists btree_gin`,
    `create index calls_by_duration on calls (org_id, duration_seconds, id)`,
    `create index calls_by_cost on calls (org_id, cost, id)`,
    `create index calls_by_ended on calls (org_id, ended_at, id)`,
    `create index calls_by_agent_duration on calls (org_id, agent_id, duration_seconds, id)`,
    `create index calls_by_agent_cost on calls (org_id, agent_id, cost, id)`,
    `create index calls_by_agent_ended on calls (org_id, agent_id, ended_at, id)`,
    `alter table agents alter column created_at type timestamptz(3)`,
    `create index agents_by_created on agents (org_id, created_at, id)`,
    `alter table call_transcripts add column search_vector tsvector generated always as (to_tsvector('simple'::regconfig, text)) stored`,
    `create index call_transcripts_search on call_transcripts using gin (org_id, search_vector)`,
    `create index calls_summary_search on calls using gin (org_id, to_tsvector('simple'::regconfig, coalesce(summary, '')))`,
    `create index calls_number_search on calls using gin
       (org_id, (regexp_replace(from_number, '\\D', '', 'g') || ' ' || regexp_replace(to_number, '\\D', '', 'g')) gin_trgm_ops)`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `drop index calls_number_search`,
    `drop index calls_summary_search`,
    `drop index call_transcripts_search`,
    `alter table call_transcripts drop column search_vector`,
    `drop index agents_by_created`,
    `alter table agents alter column created_at type timestamptz`,
    `drop index calls_by_agent_ended`,
    `drop index calls_by_agent_cost`,
    `drop index calls_by_agent_duration`,
    `drop index calls_by_ended`,
    `drop index calls_by_cost`,
    `drop index calls_by_duration`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}
