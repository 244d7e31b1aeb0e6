import { sql, type RawBuilder } from 'kysely';
import { PREPARED } from '../db/database';
import type { TenantScope } from '../db/tenant';
import { periodCtes, type RangeSpec } from './periods';

export type Interval = 'hour' | 'day' | 'week' | 'month';
export type GroupBy = 'none' | 'agent' | 'direction' | 'outcome' | 'status';

export interface BucketMetrics {
  calls: number;
  completed: number;
  averageDurationSeconds: number | null;
  cost: number;
  /** null where appointments cannot be split by the grouping (direction, outcome, status). */
  appointments: number | null;
}

/** What an `AnalyticsBucket` resolves from: the bucket with its groups attached. */
export interface AnalyticsBucketModel {
  start: string;
  end: string;
  label: string;
  metrics: BucketMetrics;
  groups: AnalyticsGroupModel[];
}

export interface AnalyticsGroupModel {
  key: string | null;
  /** Set when grouping by agent: the group's agent, loaded only if selected. */
  agentId: string | null;
  metrics: BucketMetrics;
}

export interface AnalyticsSeries {
  range: { from: string; to: string };
  buckets: { bucket: string; start: string; end: string; label: string; metrics: BucketMetrics }[];
  /** Per bucket and group, zero-filled over every group seen in the range. */
  groups: { bucket: string; key: string | null; metrics: BucketMetrics }[];
}

const GROUP_COLUMN: Record<Exclude<GroupBy, 'none'>, string> = {
  agent: 'agent_id::text',
  direction: 'direction',
  outcome: 'outcome',
  status: 'status',
};

/**
 * Local-time buckets: days, weeks (Monday) and months are local dates, so a
 * 23- or 25-hour DST day is one bucket; hours are real hours stepped from the
 * first local hour, so the repeated autumn hour is two buckets and the skipped
 * spring hour is none.
 */
function buckets(interval: Interval): { list: RawBuilder<unknown>; callBucket: RawBuilder<unknown>; appointmentBucket: RawBuilder<unknown> } {
  if (interval === 'hour') {
    return {
      list: sql`
        select b::text as bucket, b as start_at, b + interval '1 hour' as end_at,
               to_char(b at time zone s.tz, 'YYYY-MM-DD"T"HH24:MI') as label
        from split s, generate_series(date_trunc('hour', s.from_at, s.tz), s.to_at - interval '1 microsecond', interval '1 hour') b`,
      callBucket: sql`date_trunc('hour', f.started_at, s.tz)::text`,
      appointmentBucket: sql`date_trunc('hour', f.created_at, s.tz)::text`,
    };
  }
  const unit = sql.lit(interval);
  const step = sql.lit(`1 ${interval}`);
  return {
    list: sql`
      select b::date::text as bucket, b::date::timestamp at time zone s.tz as start_at,
             (b::date + interval ${step})::timestamp at time zone s.tz as end_at, b::date::text as label
      from split s,
           generate_series(date_trunc(${unit}, (s.from_at at time zone s.tz)::date::timestamp),
                           ((s.to_at - interval '1 microsecond') at time zone s.tz)::date,
                           interval ${step}) b`,
    callBucket: sql`date_trunc(${unit}, f.day::timestamp)::date::text`,
    appointmentBucket: sql`date_trunc(${unit}, f.day::timestamp)::date::text`,
  };
}

const metricsSql = (alias: string, appointments: RawBuilder<unknown>) => sql`
  json_build_object(
    'calls', coalesce(${sql.ref(`${alias}.calls`)}, 0),
    'completed', coalesce(${sql.ref(`${alias}.completed`)}, 0),
    'averageDurationSeconds', case when ${sql.ref(`${alias}.completed`)} > 0
      then round(${sql.ref(`${alias}.completed_duration`)}::numeric / ${sql.ref(`${alias}.completed`)}, 2)::float8 end,
    'cost', coalesce(${sql.ref(`${alias}.cost`)}, 0),
    'appointments', ${appointments})`;

/** A zero-filled local-time series, totals and groups, in ONE statement. */
export async function analyticsSeries(
  { db, orgId }: TenantScope,
  range: RangeSpec,
  interval: Interval,
  groupBy: GroupBy,
  now: Date,
  /** 'raw' ignores the rollups: the reference the property tests compare against. */
  source: 'rollups' | 'raw' = 'rollups',
): Promise<AnalyticsSeries> {
  const b = buckets(interval);
  const group = groupBy === 'none' ? sql`null::text` : sql.raw(`f.${GROUP_COLUMN[groupBy]}`);
  const appointmentGroup = groupBy === 'agent' ? sql`f.agent_id::text` : sql`null::text`;
  const groupAppointments = groupBy === 'agent' ? sql`coalesce(a.appointments, 0)` : sql`null`;

  const { rows } = await sql<{
    range: AnalyticsSeries['range'] | null;
    buckets: AnalyticsSeries['buckets'] | null;
    groups: AnalyticsSeries['groups'] | null;
  }>`
    ${PREPARED} with ${periodCtes({ orgId, range, now, withPrevious: false, rawOnly: interval === 'hour' || source === 'raw', byAgent: groupBy === 'agent' })},
    bucket_list as (${b.list}),
    call_buckets as (${
      interval === 'hour'
        ? sql`
      select ${b.callBucket} as bucket, ${group} as grp,
             sum(f.calls) as calls,
             sum(f.calls) filter (where f.status = 'completed') as completed,
             sum(f.duration_sum) filter (where f.status = 'completed') as completed_duration,
             sum(f.cost_sum)::float8 as cost
      from call_facts f cross join split s
      group by 1, 2`
        : // Folded per day first (sums of integers and numerics, so still exact): the bucket's text key is then
          // computed for ~90 day rows instead of every rollup row (~5,000 for 90 days of a large organisation).
          sql`
      select ${b.callBucket} as bucket, f.grp, sum(f.calls) as calls, sum(f.completed) as completed,
             sum(f.completed_duration) as completed_duration, sum(f.cost_sum)::float8 as cost
      from (
        select f.day, ${group} as grp,
               sum(f.calls) as calls,
               sum(f.calls) filter (where f.status = 'completed') as completed,
               sum(f.duration_sum) filter (where f.status = 'completed') as completed_duration,
               sum(f.cost_sum) as cost_sum
        from call_facts f
        group by 1, 2
      ) f
      group by 1, 2`
    }
    ),
    appointment_buckets as (
      select ${b.appointmentBucket} as bucket, ${appointmentGroup} as grp, sum(f.appointments) as appointments
      from appointment_facts f cross join split s
      group by 1, 2
    ),
    totals as (
      select bucket, sum(calls) as calls, sum(completed) as completed, sum(completed_duration) as completed_duration,
             sum(cost) as cost
      from call_buckets group by bucket
    ),
    appointment_totals as (select bucket, sum(appointments) as appointments from appointment_buckets group by bucket),
    -- rollup rows of zeros (a key whose calls all moved away) do not make a group
    group_keys as (select distinct grp from call_buckets where calls <> 0)
    select
      (select json_build_object('from', from_at, 'to', to_at) from split) as range,
      (select json_agg(json_build_object('bucket', l.bucket, 'start', l.start_at, 'end', l.end_at, 'label', l.label,
                                         'metrics', ${metricsSql('t', sql`coalesce(a.appointments, 0)`)})
                       order by l.start_at)
       from bucket_list l
       left join totals t on t.bucket = l.bucket
       left join appointment_totals a on a.bucket = l.bucket) as buckets,
      ${
        groupBy === 'none'
          ? // No groups: not even planned (its hash joins sized for a guessed row count cost ~3 ms to set up).
            sql`null::json as groups`
          : sql`(select json_agg(json_build_object('bucket', l.bucket, 'key', k.grp, 'metrics', ${metricsSql('c', groupAppointments)})
                       order by l.start_at, k.grp)
       from bucket_list l
       cross join group_keys k
       left join call_buckets c on c.bucket = l.bucket and coalesce(c.grp, '') = coalesce(k.grp, '')
       left join appointment_buckets a on a.bucket = l.bucket and coalesce(a.grp, '') = coalesce(k.grp, '')) as groups`
      }
  `.execute(db);
  const [row] = rows;
  if (!row?.range) throw new Error('organisation not found for statistics');
  return { range: row.range, buckets: row.buckets ?? [], groups: row.groups ?? [] };
}
