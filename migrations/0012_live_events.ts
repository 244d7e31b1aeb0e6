import { sql, type Kysely } from 'kysely';

/**
 * Live subscriptions (src/live) learn WHICH calls changed from the same
 * `switchboard_invalidate` NOTIFY stream that invalidates caches: the calls
 * and call_transcripts triggers of migration 0008 now append the changed
 * call ids, `<org>:<table>:<transaction id>:<id>,<id>,…`. Cache listeners
 * read only the first three parts, as before.
 *
 * - Statement-level, with transition tables, as in 0008: one statement's rows
 *   become one `array_agg` per organisation, never a notification per row.
 * - NOTIFY payloads must stay under 8000 bytes: ids go out in chunks of 300
 *   (a bigint is at most 19 digits and a comma, so a chunk is ≤ 6 kB with
 *   its prefix). Chunks of one transaction arrive together, in commit order.
 * - A statement changing more than 3000 calls of one organisation (a bulk
 *   import or backfill) sends `:*` instead of ids: "many changed, look
 *   again", so a backfill cannot flood every instance with megabytes of ids.
 * - An INSERT names only calls inserted in a live state (queued, ringing,
 *   in progress): a historical import is news to no live subscriber. An
 *   UPDATE names every updated call (a recording or transcript arriving after
 *   the end is news to a call's own subscribers). A DELETE names none.
 * - A partial index finds an organisation's live calls without reading its
 *   history (a subscription's first state, a resync).
 */

const CHANNEL = 'switchboard_invalidate';
const CHUNK = 300;
const OVERFLOW = 3000;

export async function up(db: Kysely<unknown>): Promise<void> {
  // tg_argv[0]: the column holding the call id; tg_argv[1]: which inserted rows are news ('live' or 'all').
  await sql
    .raw(
      `
    create function switchboard_notify_call_changes() returns trigger language plpgsql as $$
    declare
      generation text := pg_current_xact_id()::text;
      grp record;
      prefix text;
      total int;
      i int;
    begin
      for grp in execute format(
        case tg_op
          when 'INSERT' then
            'select org_id::text as org, array_agg(%1$I::text) filter (where %2$s) as ids from new_rows group by org_id'
          when 'UPDATE' then
            'select org_id::text as org, array_agg(distinct %1$I::text) as ids from new_rows group by org_id
             union all
             select distinct org_id::text, null::text[] from old_rows where org_id not in (select org_id from new_rows)'
          else 'select distinct org_id::text as org, null::text[] as ids from old_rows'
        end,
        tg_argv[0],
        case when tg_argv[1] = 'live' then 'status in (''queued'', ''ringing'', ''in_progress'')' else 'true' end)
      loop
        prefix := grp.org || ':' || tg_table_name || ':' || generation;
        total := coalesce(cardinality(grp.ids), 0);
        if total = 0 then
          perform pg_notify('${CHANNEL}', prefix);
        elsif total > ${OVERFLOW} then
          perform pg_notify('${CHANNEL}', prefix || ':*');
        else
          i := 1;
          while i <= total loop
            perform pg_notify('${CHANNEL}', prefix || ':' || array_to_string(grp.ids[i:i + ${CHUNK - 1}], ','));
            i := i + ${CHUNK};
          end loop;
        end if;
      end loop;
      return null;
    end $$`,
    )
    .execute(db);

  // A live subscription's first state reads the organisation's live calls: a handful among millions.
  await sql`create index calls_live on calls (org_id) where status in ('queued', 'ringing', 'in_progress')`.execute(db);

  for (const [table, idColumn, inserted] of [
    ['calls', 'id', 'live'],
    ['call_transcripts', 'call_id', 'all'],
  ] as const) {
    for (const event of ['insert', 'update', 'delete']) {
      await sql.raw(`drop trigger if exists ${table}_invalidate_${event} on ${table}`).execute(db);
    }
    const trigger = (event: string, referencing: string) =>
      sql.raw(`create trigger ${table}_invalidate_${event} after ${event} on ${table} ${referencing}
        for each statement execute function switchboard_notify_call_changes('${idColumn}', '${inserted}')`);
    await trigger('insert', 'referencing new table as new_rows').execute(db);
    await trigger('update', 'referencing old table as old_rows new table as new_rows').execute(db);
    await trigger('delete', 'referencing old table as old_rows').execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['calls', 'call_transcripts']) {
    for (const event of ['insert', 'update', 'delete']) {
      await sql.raw(`drop trigger if exists ${table}_invalidate_${event} on ${table}`).execute(db);
    }
    const trigger = (event: string, referencing: string) =>
      sql.raw(`create trigger ${table}_invalidate_${event} after ${event} on ${table} ${referencing}
        for each statement execute function switchboard_notify_invalidation('org_id')`);
    await trigger('insert', 'referencing new table as new_rows').execute(db);
    await trigger('update', 'referencing old table as old_rows new table as new_rows').execute(db);
    await trigger('delete', 'referencing old table as old_rows').execute(db);
  }
  await sql`drop function if exists switchboard_notify_call_changes()`.execute(db);
  await sql`drop index if exists calls_live`.execute(db);
}
