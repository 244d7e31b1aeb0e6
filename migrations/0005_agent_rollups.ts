import { Kysely, sql } from 'kysely';

/**
 * Rollups shaped by what reads them, measured on a 500k-call organisation
 * with 50 agents (bench dataset):
 *
 * - Agent figures (Agent.stats, agentLeaderboard, analytics grouped by agent)
 *   only ever need calls, duration and cost by agent and status. The 0002
 *   rollup also keyed direction, outcome and sentiment: 30,971 rows for 30
 *   days where (day, agent, status) has 6,030. It is replaced by
 *   `call_daily_agent_rollups`; the organisation rollup (0004) keeps the
 *   other dimensions for the dashboard and non-agent analytics.
 * - Bookings get the same split: the dashboard read 5,615 agent-level
 *   appointment rollup rows for 60 days where (day, status) has 190, so an
 *   organisation-level `appointment_daily_org_rollups` serves it.
 * - Rollup rows of one organisation are scattered over the heap (every
 *   organisation's day is written at the same time): 3,214 rows of a 60-day
 *   dashboard sat on 817 pages. Every rollup key index now INCLUDEs the
 *   figures, so whole days are read by index-only scans. The price: a figure
 *   change can no longer be a HOT update, so each rollup upsert also writes
 *   an index entry — one per touched key per statement, not per call.
 */

const agentDelta = (source: 'new_rows' | 'old_rows', sign: 1 | -1) => `
  select c.org_id, (c.started_at at time zone o.timezone)::date as day, c.agent_id, c.status,
         ${sign} as calls, ${sign} * c.duration_seconds::bigint as duration_sum, ${sign} * c.cost as cost_sum
  from ${source} c join organisations o on o.id = c.org_id`;

// Same discipline as 0002: grouped, ordered keys (one lock order for concurrent
// writers), and keys whose net change is zero are skipped.
const upsertAgentDeltas = (deltas: string) => `
  insert into call_daily_agent_rollups as r (org_id, day, agent_id, status, calls, duration_sum, cost_sum)
  select org_id, day, agent_id, status, sum(calls), sum(duration_sum), sum(cost_sum)
  from (${deltas}) d
  group by 1, 2, 3, 4
  having sum(calls) <> 0 or sum(duration_sum) <> 0 or sum(cost_sum) <> 0
  order by 1, 2, 3, 4
  on conflict on constraint call_daily_agent_rollups_key do update
    set calls = r.calls + excluded.calls,
        duration_sum = r.duration_sum + excluded.duration_sum,
        cost_sum = r.cost_sum + excluded.cost_sum;`;

const appointmentDelta = (source: 'new_rows' | 'old_rows', sign: 1 | -1) => `
  select a.org_id, (a.created_at at time zone o.timezone)::date as day, a.status,
         ${sign} as appointments, ${sign} * a.value as value_sum
  from ${source} a join organisations o on o.id = a.org_id`;

const upsertAppointmentDeltas = (deltas: string) => `
  insert into appointment_daily_org_rollups as r (org_id, day, status, appointments, value_sum)
  select org_id, day, status, sum(appointments), sum(value_sum)
  from (${deltas}) d
  group by 1, 2, 3
  having sum(appointments) <> 0 or sum(value_sum) <> 0
  order by 1, 2, 3
  on conflict on constraint appointment_daily_org_rollups_key do update
    set appointments = r.appointments + excluded.appointments,
        value_sum = r.value_sum + excluded.value_sum;`;

const fn = (name: string, body: string) => `create function ${name}() returns trigger language plpgsql as $$
  begin
    ${body}
    return null;
  end $$`;

// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `create table call_daily_agent_rollups (
       org_id bigint not null references organisations (id) on delete cascade,
       day date not null,
       agent_id bigint not null,
       status text not null,
       calls integer not null,
       duration_sum bigint not null,
       cost_sum numeric(14, 4) not null,
       constraint call_daily_agent_rollups_key unique (org_id, day, agent_id, status)
         include (calls, duration_sum, cost_sum)
     )`,
    fn('calls_agent_rollup_on_insert', upsertAgentDeltas(agentDelta('new_rows', 1))),
    fn('calls_agent_rollup_on_update', upsertAgentDeltas(`${agentDelta('new_rows', 1)} union all ${agentDelta('old_rows', -1)}`)),
    fn('calls_agent_rollup_on_delete', upsertAgentDeltas(agentDelta('old_rows', -1))),
    `create trigger calls_agent_rollup_insert after insert on calls referencing new table as new_rows
       for each statement execute function calls_agent_rollup_on_insert()`,
    `create trigger calls_agent_rollup_update after update on calls referencing old table as old_rows new table as new_rows
       for each statement execute function calls_agent_rollup_on_update()`,
    `create trigger calls_agent_rollup_delete after delete on calls referencing old table as old_rows
       for each statement execute function calls_agent_rollup_on_delete()`,
    `insert into call_daily_agent_rollups (org_id, day, agent_id, status, calls, duration_sum, cost_sum)
     select org_id, day, agent_id, status, sum(calls), sum(duration_sum), sum(cost_sum)
     from call_daily_rollups group by 1, 2, 3, 4`,

    `create table appointment_daily_org_rollups (
       org_id bigint not null references organisations (id) on delete cascade,
       day date not null,
       status text not null,
       appointments integer not null,
       value_sum numeric(14, 2) not null,
       constraint appointment_daily_org_rollups_key unique (org_id, day, status) include (appointments, value_sum)
     )`,
    fn('appointments_org_rollup_on_insert', upsertAppointmentDeltas(appointmentDelta('new_rows', 1))),
    fn(
      'appointments_org_rollup_on_update',
      upsertAppointmentDeltas(`${appointmentDelta('new_rows', 1)} union all ${appointmentDelta('old_rows', -1)}`),
    ),
    fn('appointments_org_rollup_on_delete', upsertAppointmentDeltas(appointmentDelta('old_rows', -1))),
    `create trigger appointments_org_rollup_insert after insert on appointments referencing new table as new_rows
       for each statement execute function appointments_org_rollup_on_insert()`,
    `create trigger appointments_org_rollup_update after update on appointments
       referencing old table as old_rows new table as new_rows
       for each statement execute function appointments_org_rollup_on_update()`,
    `create trigger appointments_org_rollup_delete after delete on appointments referencing old table as old_rows
       for each statement execute function appointments_org_rollup_on_delete()`,
    `insert into appointment_daily_org_rollups (org_id, day, status, appointments, value_sum)
     select org_id, day, status, sum(appointments), sum(value_sum) from appointment_daily_rollups group by 1, 2, 3`,

    'drop trigger calls_rollup_insert on calls',
    'drop trigger calls_rollup_update on calls',
    'drop trigger calls_rollup_delete on calls',
    'drop function calls_rollup_on_insert, calls_rollup_on_update, calls_rollup_on_delete',

    `alter table call_daily_org_rollups drop constraint call_daily_org_rollups_key,
       add constraint call_daily_org_rollups_key
         unique nulls not distinct (org_id, day, direction, status, outcome, sentiment) include (calls, duration_sum, cost_sum)`,
    `alter table appointment_daily_rollups drop constraint appointment_daily_rollups_key,
       add constraint appointment_daily_rollups_key
         unique nulls not distinct (org_id, day, agent_id, status) include (appointments, value_sum)`,

    // rollups:rebuild and time-zone changes rebuild the current set of rollups.
    `create or replace function rebuild_rollups(target_org bigint) returns void language sql as $$
       delete from call_daily_agent_rollups where org_id = target_org;
       delete from call_daily_org_rollups where org_id = target_org;
       delete from appointment_daily_rollups where org_id = target_org;
       delete from appointment_daily_org_rollups where org_id = target_org;
       insert into call_daily_org_rollups (org_id, day, direction, status, outcome, sentiment, calls, duration_sum, cost_sum)
       select c.org_id, (c.started_at at time zone o.timezone)::date, c.direction, c.status, c.outcome, c.sentiment,
              count(*), sum(c.duration_seconds), sum(c.cost)
       from calls c join organisations o on o.id = c.org_id
       where c.org_id = target_org
       group by 1, 2, 3, 4, 5, 6;
       insert into call_daily_agent_rollups (org_id, day, agent_id, status, calls, duration_sum, cost_sum)
       select c.org_id, (c.started_at at time zone o.timezone)::date, c.agent_id, c.status,
              count(*), sum(c.duration_seconds), sum(c.cost)
       from calls c join organisations o on o.id = c.org_id
       where c.org_id = target_org
       group by 1, 2, 3, 4;
       insert into appointment_daily_rollups (org_id, day, agent_id, status, appointments, value_sum)
       select a.org_id, (a.created_at at time zone o.timezone)::date, a.agent_id, a.status, count(*), sum(a.value)
       from appointments a join organisations o on o.id = a.org_id
       where a.org_id = target_org
       group by 1, 2, 3, 4;
       insert into appointment_daily_org_rollups (org_id, day, status, appointments, value_sum)
       select org_id, day, status, sum(appointments), sum(value_sum)
       from appointment_daily_rollups where org_id = target_org
       group by 1, 2, 3;
     $$`,
    'drop table call_daily_rollups',
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(): Promise<void> {
  // Forward-only: restoring the dropped five-dimension rollup would mean
  // re-running 0002's rebuild over every call; restore from a backup instead.
  throw new Error('0005_agent_rollups cannot be reverted');
}
