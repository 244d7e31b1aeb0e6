import { Kysely, sql } from 'kysely';

/**
 * Daily rollups of calls and appointments, keyed by the organisation's LOCAL
 * day, kept exact by statement-level triggers in the same transaction as every
 * insert, update and delete — statistics never go stale and no scheduled
 * refresh exists. Statement-level triggers with transition tables aggregate a
 * whole statement's rows at once: a million-row bulk insert costs one grouped
 * upsert, not a million.
 *
 * Each upsert groups and orders its keys, so concurrent writers lock rollup
 * rows in one order (no deadlocks between ingesting transactions), and skips
 * keys whose net change is zero (an update of a call's summary touches nothing).
 * A key whose calls all went away keeps a row of zeros: harmless to every sum,
 * and cheaper than a cleanup scan in every writing transaction.
 * Nullable key columns use NULLS NOT DISTINCT (PostgreSQL 15+).
 */

const callRowDelta = (source: 'new_rows' | 'old_rows', sign: 1 | -1) => `
  select c.org_id, (c.started_at at time zone o.timezone)::date as day, c.agent_id, c.direction, c.status,
         c.outcome, c.sentiment, ${sign} as calls, ${sign} * c.duration_seconds::bigint as duration_sum,
         ${sign} * c.cost as cost_sum
  from ${source} c join organisations o on o.id = c.org_id`;

const upsertCallDeltas = (deltas: string) => `
  insert into call_daily_rollups as r
    (org_id, day, agent_id, direction, status, outcome, sentiment, calls, duration_sum, cost_sum)
  select org_id, day, agent_id, direction, status, outcome, sentiment, sum(calls), sum(duration_sum), sum(cost_sum)
  from (${deltas}) d
  group by 1, 2, 3, 4, 5, 6, 7
  having sum(calls) <> 0 or sum(duration_sum) <> 0 or sum(cost_sum) <> 0
  order by 1, 2, 3, 4, 5, 6, 7
  on conflict on constraint call_daily_rollups_key do update
    set calls = r.calls + excluded.calls,
        duration_sum = r.duration_sum + excluded.duration_sum,
        cost_sum = r.cost_sum + excluded.cost_sum;`;

const appointmentRowDelta = (source: 'new_rows' | 'old_rows', sign: 1 | -1) => `
  select a.org_id, (a.created_at at time zone o.timezone)::date as day, a.agent_id, a.status,
         ${sign} as appointments, ${sign} * a.value as value_sum
  from ${source} a join organisations o on o.id = a.org_id`;

const upsertAppointmentDeltas = (deltas: string) => `
  insert into appointment_daily_rollups as r (org_id, day, agent_id, status, appointments, value_sum)
  select org_id, day, agent_id, status, sum(appointments), sum(value_sum)
  from (${deltas}) d
  group by 1, 2, 3, 4
  having sum(appointments) <> 0 or sum(value_sum) <> 0
  order by 1, 2, 3, 4
  on conflict on constraint appointment_daily_rollups_key do update
    set appointments = r.appointments + excluded.appointments,
        value_sum = r.value_sum + excluded.value_sum;`;

function triggerFunction(name: string, body: string): string {
  return `create function ${name}() returns trigger language plpgsql as $$
    begin
      ${body}
      return null;
    end $$`;
}

// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table call_daily_rollups (
      org_id bigint not null references organisations (id) on delete cascade,
      day date not null,
      agent_id bigint not null,
      direction text not null,
      status text not null,
      outcome text,
      sentiment text,
      calls integer not null,
      duration_sum bigint not null,
      cost_sum numeric(14, 4) not null,
      constraint call_daily_rollups_key
        unique nulls not distinct (org_id, day, agent_id, direction, status, outcome, sentiment)
    )`.execute(db);

  await sql`
    create table appointment_daily_rollups (
      org_id bigint not null references organisations (id) on delete cascade,
      day date not null,
      agent_id bigint,
      status text not null,
      appointments integer not null,
      value_sum numeric(14, 2) not null,
      constraint appointment_daily_rollups_key unique nulls not distinct (org_id, day, agent_id, status)
    )`.execute(db);

  const statements = [
    triggerFunction('calls_rollup_on_insert', upsertCallDeltas(callRowDelta('new_rows', 1))),
    triggerFunction('calls_rollup_on_update', upsertCallDeltas(`${callRowDelta('new_rows', 1)} union all ${callRowDelta('old_rows', -1)}`)),
    triggerFunction('calls_rollup_on_delete', upsertCallDeltas(callRowDelta('old_rows', -1))),
    `create trigger calls_rollup_insert after insert on calls referencing new table as new_rows
       for each statement execute function calls_rollup_on_insert()`,
    `create trigger calls_rollup_update after update on calls referencing old table as old_rows new table as new_rows
       for each statement execute function calls_rollup_on_update()`,
    `create trigger calls_rollup_delete after delete on calls referencing old table as old_rows
       for each statement execute function calls_rollup_on_delete()`,

    triggerFunction('appointments_rollup_on_insert', upsertAppointmentDeltas(appointmentRowDelta('new_rows', 1))),
    triggerFunction(
      'appointments_rollup_on_update',
      upsertAppointmentDeltas(`${appointmentRowDelta('new_rows', 1)} union all ${appointmentRowDelta('old_rows', -1)}`),
    ),
    triggerFunction('appointments_rollup_on_delete', upsertAppointmentDeltas(appointmentRowDelta('old_rows', -1))),
    `create trigger appointments_rollup_insert after insert on appointments referencing new table as new_rows
       for each statement execute function appointments_rollup_on_insert()`,
    `create trigger appointments_rollup_update after update on appointments referencing old table as old_rows new table as new_rows
       for each statement execute function appointments_rollup_on_update()`,
    `create trigger appointments_rollup_delete after delete on appointments referencing old table as old_rows
       for each statement execute function appointments_rollup_on_delete()`,

    // Rebuilds one organisation's rollups from raw rows: for `npm run
    // rollups:rebuild`, and when an organisation's time zone (and so every
    // local day) changes.
    `create function rebuild_rollups(target_org bigint) returns void language sql as $$
       delete from call_daily_rollups where org_id = target_org;
       delete from appointment_daily_rollups where org_id = target_org;
       insert into call_daily_rollups
         (org_id, day, agent_id, direction, status, outcome, sentiment, calls, duration_sum, cost_sum)
       select c.org_id, (c.started_at at time zone o.timezone)::date, c.agent_id, c.direction, c.status,
              c.outcome, c.sentiment, count(*), sum(c.duration_seconds), sum(c.cost)
       from calls c join organisations o on o.id = c.org_id
       where c.org_id = target_org
       group by 1, 2, 3, 4, 5, 6, 7;
       insert into appointment_daily_rollups (org_id, day, agent_id, status, appointments, value_sum)
       select a.org_id, (a.created_at at time zone o.timezone)::date, a.agent_id, a.status, count(*), sum(a.value)
       from appointments a join organisations o on o.id = a.org_id
       where a.org_id = target_org
       group by 1, 2, 3, 4;
     $$`,
    `create function organisations_timezone_changed() returns trigger language plpgsql as $$
     begin
       perform rebuild_rollups(new.id);
       return null;
     end $$`,
    `create trigger organisations_timezone_rollups after update of timezone on organisations
       for each row when (old.timezone is distinct from new.timezone)
       execute function organisations_timezone_changed()`,
    `select rebuild_rollups(id) from organisations`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    'drop trigger if exists organisations_timezone_rollups on organisations',
    'drop trigger if exists calls_rollup_insert on calls',
    'drop trigger if exists calls_rollup_update on calls',
    'drop trigger if exists calls_rollup_delete on calls',
    'drop trigger if exists appointments_rollup_insert on appointments',
    'drop trigger if exists appointments_rollup_update on appointments',
    'drop trigger if exists appointments_rollup_delete on appointments',
    'drop function if exists organisations_timezone_changed, rebuild_rollups, calls_rollup_on_insert, calls_rollup_on_update, calls_rollup_on_delete, appointments_rollup_on_insert, appointments_rollup_on_update, appointments_rollup_on_delete',
    'drop table if exists call_daily_rollups, appointment_daily_rollups',
  ]) {
    await sql.raw(statement).execute(db);
  }
}
