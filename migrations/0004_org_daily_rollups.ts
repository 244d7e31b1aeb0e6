import { Kysely, sql } from 'kysely';

/**
 * Organisation-level daily call rollups: the agent rollup without the agent
 * dimension. A 500k-call organisation with 50 agents has ~88k agent-rollup
 * rows in 90 days; panels that do not split by agent (dashboard, ungrouped or
 * non-agent analytics) read ~50× fewer rows here. Maintained by the same
 * statement-level triggers, in the same transaction, so it is exactly as fresh.
 */
const delta = (source: 'new_rows' | 'old_rows', sign: 1 | -1) => `
  select c.org_id, (c.started_at at time zone o.timezone)::date as day, c.direction, c.status, c.outcome, c.sentiment,
         ${sign} as calls, ${sign} * c.duration_seconds::bigint as duration_sum, ${sign} * c.cost as cost_sum
  from ${source} c join organisations o on o.id = c.org_id`;

const upsert = (deltas: string) => `
  insert into call_daily_org_rollups as r (org_id, day, direction, status, outcome, sentiment, calls, duration_sum, cost_sum)
  select org_id, day, direction, status, outcome, sentiment, sum(calls), sum(duration_sum), sum(cost_sum)
  from (${deltas}) d
  group by 1, 2, 3, 4, 5, 6
  having sum(calls) <> 0 or sum(duration_sum) <> 0 or sum(cost_sum) <> 0
  order by 1, 2, 3, 4, 5, 6
  on conflict on constraint call_daily_org_rollups_key do update
    set calls = r.calls + excluded.calls,
        duration_sum = r.duration_sum + excluded.duration_sum,
        cost_sum = r.cost_sum + excluded.cost_sum;`;

const fn = (name: string, body: string) => `create function ${name}() returns trigger language plpgsql as $$
  begin
    ${body}
    return null;
  end $$`;

// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `create table call_daily_org_rollups (
       org_id bigint not null references organisations (id) on delete cascade,
       day date not null,
       direction text not null,
       status text not null,
       outcome text,
       sentiment text,
       calls integer not null,
       duration_sum bigint not null,
       cost_sum numeric(14, 4) not null,
       constraint call_daily_org_rollups_key
         unique nulls not distinct (org_id, day, direction, status, outcome, sentiment)
     )`,
    fn('calls_org_rollup_on_insert', upsert(delta('new_rows', 1))),
    fn('calls_org_rollup_on_update', upsert(`${delta('new_rows', 1)} union all ${delta('old_rows', -1)}`)),
    fn('calls_org_rollup_on_delete', upsert(delta('old_rows', -1))),
    `create trigger calls_org_rollup_insert after insert on calls referencing new table as new_rows
       for each statement execute function calls_org_rollup_on_insert()`,
    `create trigger calls_org_rollup_update after update on calls referencing old table as old_rows new table as new_rows
       for each statement execute function calls_org_rollup_on_update()`,
    `create trigger calls_org_rollup_delete after delete on calls referencing old table as old_rows
       for each statement execute function calls_org_rollup_on_delete()`,
    // rebuild_rollups (0002) now also rebuilds this table, so rollups:rebuild
    // and time-zone changes cover it.
    `create or replace function rebuild_rollups(target_org bigint) returns void language sql as $$
       delete from call_daily_rollups where org_id = target_org;
       delete from call_daily_org_rollups where org_id = target_org;
       delete from appointment_daily_rollups where org_id = target_org;
       insert into call_daily_rollups
         (org_id, day, agent_id, direction, status, outcome, sentiment, calls, duration_sum, cost_sum)
       select c.org_id, (c.started_at at time zone o.timezone)::date, c.agent_id, c.direction, c.status,
              c.outcome, c.sentiment, count(*), sum(c.duration_seconds), sum(c.cost)
       from calls c join organisations o on o.id = c.org_id
       where c.org_id = target_org
       group by 1, 2, 3, 4, 5, 6, 7;
       insert into call_daily_org_rollups (org_id, day, direction, status, outcome, sentiment, calls, duration_sum, cost_sum)
       select org_id, day, direction, status, outcome, sentiment, sum(calls), sum(duration_sum), sum(cost_sum)
       from call_daily_rollups where org_id = target_org
       group by 1, 2, 3, 4, 5, 6;
       insert into appointment_daily_rollups (org_id, day, agent_id, status, appointments, value_sum)
       select a.org_id, (a.created_at at time zone o.timezone)::date, a.agent_id, a.status, count(*), sum(a.value)
       from appointments a join organisations o on o.id = a.org_id
       where a.org_id = target_org
       group by 1, 2, 3, 4;
     $$`,
    `insert into call_daily_org_rollups (org_id, day, direction, status, outcome, sentiment, calls, duration_sum, cost_sum)
     select org_id, day, direction, status, outcome, sentiment, sum(calls), sum(duration_sum), sum(cost_sum)
     from call_daily_rollups group by 1, 2, 3, 4, 5, 6`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    'drop trigger if exists calls_org_rollup_insert on calls',
    'drop trigger if exists calls_org_rollup_update on calls',
    'drop trigger if exists calls_org_rollup_delete on calls',
    'drop function if exists calls_org_rollup_on_insert, calls_org_rollup_on_update, calls_org_rollup_on_delete',
    'drop table if exists call_daily_org_rollups',
  ]) {
    await sql.raw(statement).execute(db);
  }
}
