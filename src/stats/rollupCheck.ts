import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database';

export interface RollupDifference {
  table: 'call_daily_agent_rollups' | 'call_daily_org_rollups' | 'appointment_daily_rollups' | 'appointment_daily_org_rollups';
  org_id: string;
  day: string;
  rollup: string | null;
  raw: string | null;
}

interface RollupShape {
  table: RollupDifference['table'];
  /** The raw aggregation it must equal (a CTE below), at a finer grain. */
  source: 'call_rows' | 'appointment_rows';
  keys: string[];
  /** Figure columns and the type both sides are compared as. */
  figures: [name: string, type: 'bigint' | 'numeric'][];
}

const CALL_FIGURES: RollupShape['figures'] = [
  ['calls', 'bigint'],
  ['duration_sum', 'bigint'],
  ['cost_sum', 'numeric'],
];
const APPOINTMENT_FIGURES: RollupShape['figures'] = [
  ['appointments', 'bigint'],
  ['value_sum', 'numeric'],
];

const ROLLUPS: RollupShape[] = [
  { table: 'call_daily_agent_rollups', source: 'call_rows', keys: ['agent_id', 'status'], figures: CALL_FIGURES },
  { table: 'call_daily_org_rollups', source: 'call_rows', keys: ['direction', 'status', 'outcome', 'sentiment'], figures: CALL_FIGURES },
  { table: 'appointment_daily_rollups', source: 'appointment_rows', keys: ['agent_id', 'status'], figures: APPOINTMENT_FIGURES },
  { table: 'appointment_daily_org_rollups', source: 'appointment_rows', keys: ['status'], figures: APPOINTMENT_FIGURES },
];

/**
 * One rollup against its raw aggregation: the keys present on either side
 * only, or on both with different figures. Nullable keys compare through
 * coalesce(…::text, ''), not IS NOT DISTINCT FROM: a FULL JOIN needs hashable
 * conditions. Identifiers come from ROLLUPS above, never from input.
 */
function differencesOf(rollup: RollupShape, org: RawBuilder<unknown>): RawBuilder<unknown> {
  const keys = rollup.keys.join(', ');
  const typed = (alias: string) => rollup.figures.map(([name, type]) => `${alias}${name}::${type} as ${name}`).join(', ');
  const summed = rollup.figures.map(([name, type]) => `sum(${name})::${type} as ${name}`).join(', ');
  const figures = (alias: string) => rollup.figures.map(([name]) => `${alias}.${name}`).join(', ');
  const row = (alias: string) => `row(${[...rollup.keys.map((k) => `${alias}.${k}`), figures(alias)].join(', ')})::text`;
  const joinKeys = rollup.keys.map((k) => `coalesce(r.${k}::text, '') = coalesce(w.${k}::text, '')`).join(' and ');
  const nonZero = rollup.figures.map(([name]) => `${name} <> 0`).join(' or ');
  return sql`
    select ${sql.lit(rollup.table)} as "table", coalesce(r.org_id, w.org_id) as org_id, coalesce(r.day, w.day)::text as day,
           ${sql.raw(row('r'))} as rollup, ${sql.raw(row('w'))} as raw
    from (select org_id, day, ${sql.raw(keys)}, ${sql.raw(typed(''))}
          from ${sql.table(rollup.table)} where ${org} and (${sql.raw(nonZero)})) r
    full join (select org_id, day, ${sql.raw(keys)}, ${sql.raw(summed)}
               from ${sql.table(rollup.source)} group by org_id, day, ${sql.raw(keys)}) w
      on (r.org_id, r.day) = (w.org_id, w.day) and ${sql.raw(joinKeys)}
    where r.org_id is null or w.org_id is null
       or (${sql.raw(figures('r'))}) is distinct from (${sql.raw(figures('w'))})`;
}

/**
 * Every rollup key whose figures differ from a fresh aggregation of the raw
 * rows (zero rows, left behind when a key's last call moves away, count as
 * absent). Should always be empty; `npm run rollups:check` prints it.
 */
export async function rollupDifferences(db: Db, orgId?: string): Promise<RollupDifference[]> {
  const org = orgId === undefined ? sql`true` : sql`org_id = ${orgId}::int8`;
  const { rows } = await sql<RollupDifference>`
    with call_rows as (
      select c.org_id, (c.started_at at time zone o.timezone)::date as day, c.agent_id, c.direction, c.status,
             c.outcome, c.sentiment, count(*) as calls, sum(c.duration_seconds) as duration_sum, sum(c.cost) as cost_sum
      from calls c join organisations o on o.id = c.org_id
      where ${orgId === undefined ? sql`true` : sql`c.org_id = ${orgId}::int8`}
      group by 1, 2, 3, 4, 5, 6, 7
    ),
    appointment_rows as (
      select a.org_id, (a.created_at at time zone o.timezone)::date as day, a.agent_id, a.status,
             count(*) as appointments, sum(a.value) as value_sum
      from appointments a join organisations o on o.id = a.org_id
      where ${orgId === undefined ? sql`true` : sql`a.org_id = ${orgId}::int8`}
      group by 1, 2, 3, 4
    )
    ${sql.join(
      ROLLUPS.map((rollup) => differencesOf(rollup, org)),
      sql`\n    union all\n`,
    )}
    order by 1, 2, 3
  `.execute(db);
  return rows;
}
