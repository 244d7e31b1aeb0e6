import { sql } from 'kysely';
import type { Db } from '../db/database';

export interface RollupDifference {
  table: 'call_daily_agent_rollups' | 'call_daily_org_rollups' | 'appointment_daily_rollups' | 'appointment_daily_org_rollups';
  org_id: string;
  day: string;
  rollup: string | null;
  raw: string | null;
}

/**
 * Every rollup key whose figures differ from a fresh aggregation of the raw
 * rows (zero rows, left behind when a key's last call moves away, count as
 * absent). Should always be empty; `npm run rollups:check` prints it.
 */
export async function rollupDifferences(db: Db, orgId?: string): Promise<RollupDifference[]> {
  const org = orgId === undefined ? sql`true` : sql`org_id = ${orgId}::int8`;
  const { rows } = await sql<RollupDifference>`
    with raw as (
      select c.org_id, (c.started_at at time zone o.timezone)::date as day, c.agent_id, c.direction, c.status,
             c.outcome, c.sentiment, count(*)::bigint as calls, sum(c.duration_seconds)::bigint as duration_sum,
             sum(c.cost)::numeric as cost_sum
      from calls c join organisations o on o.id = c.org_id
      where ${orgId === undefined ? sql`true` : sql`c.org_id = ${orgId}::int8`}
      group by 1, 2, 3, 4, 5, 6, 7
    ),
    agent_rolled as (
      select org_id, day, agent_id, status, calls::bigint as calls, duration_sum::bigint as duration_sum,
             cost_sum::numeric as cost_sum
      from call_daily_agent_rollups where ${org} and (calls <> 0 or duration_sum <> 0 or cost_sum <> 0)
    ),
    agent_raw as (
      select org_id, day, agent_id, status, sum(calls)::bigint as calls, sum(duration_sum)::bigint as duration_sum,
             sum(cost_sum)::numeric as cost_sum
      from raw group by 1, 2, 3, 4
    ),
    agent_diff as (
      select 'call_daily_agent_rollups' as "table", coalesce(r.org_id, w.org_id) as org_id, coalesce(r.day, w.day)::text as day,
             row(r.agent_id, r.status, r.calls, r.duration_sum, r.cost_sum)::text as rollup,
             row(w.agent_id, w.status, w.calls, w.duration_sum, w.cost_sum)::text as raw
      from agent_rolled r
      full join agent_raw w on (r.org_id, r.day, r.agent_id, r.status) = (w.org_id, w.day, w.agent_id, w.status)
      where r.org_id is null or w.org_id is null
         or (r.calls, r.duration_sum, r.cost_sum) is distinct from (w.calls, w.duration_sum, w.cost_sum)
    ),
    org_rolled as (
      select org_id, day, direction, status, outcome, sentiment, calls::bigint as calls,
             duration_sum::bigint as duration_sum, cost_sum::numeric as cost_sum
      from call_daily_org_rollups where ${org} and (calls <> 0 or duration_sum <> 0 or cost_sum <> 0)
    ),
    org_raw as (
      select org_id, day, direction, status, outcome, sentiment, sum(calls)::bigint as calls,
             sum(duration_sum)::bigint as duration_sum, sum(cost_sum)::numeric as cost_sum
      from raw group by 1, 2, 3, 4, 5, 6
    ),
    org_diff as (
      select 'call_daily_org_rollups' as "table", coalesce(r.org_id, w.org_id) as org_id, coalesce(r.day, w.day)::text as day,
             row(r.direction, r.status, r.outcome, r.sentiment, r.calls, r.duration_sum, r.cost_sum)::text as rollup,
             row(w.direction, w.status, w.outcome, w.sentiment, w.calls, w.duration_sum, w.cost_sum)::text as raw
      from org_rolled r
      full join org_raw w on (r.org_id, r.day, r.direction, r.status) = (w.org_id, w.day, w.direction, w.status)
        and coalesce(r.outcome, '') = coalesce(w.outcome, '') and coalesce(r.sentiment, '') = coalesce(w.sentiment, '')
      where r.org_id is null or w.org_id is null
         or (r.calls, r.duration_sum, r.cost_sum) is distinct from (w.calls, w.duration_sum, w.cost_sum)
    ),
    appointments_rolled as (
      select org_id, day, agent_id, status, appointments::bigint as appointments, value_sum::numeric as value_sum
      from appointment_daily_rollups where ${org} and (appointments <> 0 or value_sum <> 0)
    ),
    appointments_raw as (
      select a.org_id, (a.created_at at time zone o.timezone)::date as day, a.agent_id, a.status,
             count(*)::bigint as appointments, sum(a.value)::numeric as value_sum
      from appointments a join organisations o on o.id = a.org_id
      where ${orgId === undefined ? sql`true` : sql`a.org_id = ${orgId}::int8`}
      group by 1, 2, 3, 4
    ),
    appointment_diff as (
      select 'appointment_daily_rollups' as "table", coalesce(r.org_id, w.org_id) as org_id,
             coalesce(r.day, w.day)::text as day,
             row(r.agent_id, r.status, r.appointments, r.value_sum)::text as rollup,
             row(w.agent_id, w.status, w.appointments, w.value_sum)::text as raw
      from appointments_rolled r
      full join appointments_raw w on (r.org_id, r.day, r.status) = (w.org_id, w.day, w.status)
        and coalesce(r.agent_id, 0) = coalesce(w.agent_id, 0)
      where r.org_id is null or w.org_id is null
         or (r.appointments, r.value_sum) is distinct from (w.appointments, w.value_sum)
    ),
    appointments_org_rolled as (
      select org_id, day, status, appointments::bigint as appointments, value_sum::numeric as value_sum
      from appointment_daily_org_rollups where ${org} and (appointments <> 0 or value_sum <> 0)
    ),
    appointments_org_raw as (
      select org_id, day, status, sum(appointments)::bigint as appointments, sum(value_sum)::numeric as value_sum
      from appointments_raw group by 1, 2, 3
    ),
    appointment_org_diff as (
      select 'appointment_daily_org_rollups' as "table", coalesce(r.org_id, w.org_id) as org_id,
             coalesce(r.day, w.day)::text as day,
             row(r.status, r.appointments, r.value_sum)::text as rollup,
             row(w.status, w.appointments, w.value_sum)::text as raw
      from appointments_org_rolled r
      full join appointments_org_raw w on (r.org_id, r.day, r.status) = (w.org_id, w.day, w.status)
      where r.org_id is null or w.org_id is null
         or (r.appointments, r.value_sum) is distinct from (w.appointments, w.value_sum)
    )
    select "table", org_id, day, rollup, raw from agent_diff
    union all
    select "table", org_id, day, rollup, raw from org_diff
    union all
    select "table", org_id, day, rollup, raw from appointment_diff
    union all
    select "table", org_id, day, rollup, raw from appointment_org_diff
    order by 1, 2, 3
  `.execute(db);
  return rows;
}
