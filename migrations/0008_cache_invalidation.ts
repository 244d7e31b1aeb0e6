import { Kysely, sql } from 'kysely';

/**
 * Cache invalidation from the database itself: every write to a table whose
 * data reaches a response publishes `NOTIFY switchboard_invalidate` with
 * `<org id>:<table>:<transaction id>`, however the write arrived (API,
 * webhook, psql, another service). Server instances LISTEN and evict.
 *
 * - Statement-level triggers with transition tables: a bulk insert of a
 *   million rows costs one `select distinct org_id` over its transition table,
 *   not a million notifications.
 * - The payload carries the writing transaction's id, so every statement of a
 *   transaction sends the same payload per organisation and table, and
 *   PostgreSQL delivers identical payloads of one transaction once.
 * - The transaction id doubles as the organisation's cache generation. It is
 *   unique per transaction and notifications arrive in commit order, so "the
 *   id in the last notification for this organisation" names the newest
 *   committed state, identically on every instance. Nothing is written and
 *   nothing is locked: a generation counter row would serialise every writer of
 *   an organisation until commit and add a deadlock cycle to any two
 *   multi-statement transactions touching the same rows in different orders.
 * - TRUNCATE notifies `*` (every organisation).
 */

const CHANNEL = 'switchboard_invalidate';

// Tables with an org_id column whose rows appear in responses (rollups feed the statistics panels).
const TENANT_TABLES = [
  'memberships',
  'agents',
  'phone_numbers',
  'contacts',
  'calls',
  'call_transcripts',
  'appointments',
  'call_daily_agent_rollups',
  'call_daily_org_rollups',
  'appointment_daily_rollups',
  'appointment_daily_org_rollups',
];

// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  // tg_argv[0]: the column holding the organisation id ('org_id', or 'id' on organisations).
  await sql
    .raw(
      `
    create function switchboard_notify_invalidation() returns trigger language plpgsql as $$
    declare
      generation text := pg_current_xact_id()::text;
      org text;
    begin
      if tg_op = 'TRUNCATE' then
        perform pg_notify('${CHANNEL}', '*:' || tg_table_name || ':' || generation);
        return null;
      end if;
      for org in execute format(
        case tg_op
          when 'INSERT' then 'select distinct %1$I::text from new_rows'
          when 'DELETE' then 'select distinct %1$I::text from old_rows'
          else 'select %1$I::text from new_rows union select %1$I::text from old_rows'
        end, tg_argv[0])
      loop
        perform pg_notify('${CHANNEL}', org || ':' || tg_table_name || ':' || generation);
      end loop;
      return null;
    end $$`,
    )
    .execute(db);

  // Users have no organisation: a renamed user is news to every organisation they belong to.
  await sql
    .raw(
      `
    create function switchboard_notify_user_invalidation() returns trigger language plpgsql as $$
    declare
      generation text := pg_current_xact_id()::text;
      org text;
    begin
      for org in select distinct m.org_id::text from new_rows u join memberships m on m.user_id = u.id loop
        perform pg_notify('${CHANNEL}', org || ':users:' || generation);
      end loop;
      return null;
    end $$`,
    )
    .execute(db);

  for (const [table, column] of [['organisations', 'id'], ...TENANT_TABLES.map((t) => [t, 'org_id'])] as const) {
    const trigger = (event: string, referencing: string) =>
      sql.raw(`create trigger ${table}_invalidate_${event} after ${event} on ${table} ${referencing}
        for each statement execute function switchboard_notify_invalidation('${column}')`);
    await trigger('insert', 'referencing new table as new_rows').execute(db);
    await trigger('update', 'referencing old table as old_rows new table as new_rows').execute(db);
    await trigger('delete', 'referencing old table as old_rows').execute(db);
    await trigger('truncate', '').execute(db);
  }
  await sql`create trigger users_invalidate_update after update on users referencing new table as new_rows
    for each statement execute function switchboard_notify_user_invalidation()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['organisations', ...TENANT_TABLES]) {
    for (const event of ['insert', 'update', 'delete', 'truncate']) {
      await sql.raw(`drop trigger if exists ${table}_invalidate_${event} on ${table}`).execute(db);
    }
  }
  await sql`drop trigger if exists users_invalidate_update on users`.execute(db);
  await sql`drop function if exists switchboard_notify_user_invalidation()`.execute(db);
  await sql`drop function if exists switchboard_notify_invalidation()`.execute(db);
}
