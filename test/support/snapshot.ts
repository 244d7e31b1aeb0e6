import { sql } from 'kysely';
import type { Db } from '../../src/db/database';

/**
 * Everything an organisation owns, rollups included, as one comparable value:
 * equal before and after a refused write means nothing at all was written
 * (not even an updated_at). Whole rows on purpose — this is a check, not a
 * query the server runs.
 */
export async function orgSnapshot(db: Db, orgId: string): Promise<Record<string, unknown>> {
  // Every table with an org_id: new tables (rollups, webhook events) are covered without editing this list.
  const { rows: found } = await sql<{ table_name: string }>`
    select table_name from information_schema.columns
    where table_schema = 'public' and column_name = 'org_id' order by table_name`.execute(db);
  const tables = found.map((r) => r.table_name);
  const snapshot: Record<string, unknown> = {};
  for (const table of tables) {
    const { rows } = await sql<{ rows: unknown }>`
      select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]') as rows
      from ${sql.table(table)} t where t.org_id = ${orgId}::int8`.execute(db);
    snapshot[table] = rows[0]!.rows;
  }
  return snapshot;
}
