import { sql, type RawBuilder } from 'kysely';

/**
 * The time arithmetic every statistics statement shares, done by PostgreSQL in
 * the organisation's IANA time zone (so DST is PostgreSQL's problem, and it
 * gets it right): which instants a range covers, which of its local days are
 * whole (read from the daily rollups) and which partial stretches at either
 * end must be read from the calls themselves. Both are exact; the rollups are
 * just faster.
 *
 * The CTEs produced here — `split`, `call_facts`, `appointment_facts` — are
 * prefixed to each panel's statement, so a panel stays ONE statement,
 * time-zone lookup included.
 */

export type Preset = 'today' | 'yesterday' | 'last_7_days' | 'last_30_days' | 'last_90_days' | 'this_month' | 'last_month';

export type RangeSpec = { kind: 'preset'; preset: Preset } | { kind: 'explicit'; from: Date; to: Date };

export interface PeriodOptions {
  orgId: string;
  range: RangeSpec;
  /** The instant "today" is relative to; injectable so tests can stand on a DST boundary. */
  now: Date;
  /** Also compute the previous period of equal length. */
  withPrevious: boolean;
  /** Read every call raw (hourly series need instants the daily rollups do not keep). */
  rawOnly?: boolean;
  /** Restrict facts to these agents (agent stats). */
  agentIds?: readonly string[];
  /**
   * Whether facts need the agent. If so, whole days read the agent rollup, which
   * keys agent and status only: direction, outcome and sentiment are then null
   * for rollup rows, so agent facts may only be split by status. If not, whole
   * days read the organisation rollup (~50× fewer rows for an organisation with
   * 50 agents) and `agent_id` is null.
   */
  byAgent?: boolean;
}

/** Local-day bounds [from, to) of each preset, relative to the local `today`. */
function presetDays(preset: Preset): [RawBuilder<unknown>, RawBuilder<unknown>] {
  switch (preset) {
    case 'today':
      return [sql`today`, sql`today + 1`];
    case 'yesterday':
      return [sql`today - 1`, sql`today`];
    case 'last_7_days':
      return [sql`today - 6`, sql`today + 1`];
    case 'last_30_days':
      return [sql`today - 29`, sql`today + 1`];
    case 'last_90_days':
      return [sql`today - 89`, sql`today + 1`];
    case 'this_month':
      return [sql`date_trunc('month', today)::date`, sql`(date_trunc('month', today) + interval '1 month')::date`];
    case 'last_month':
      return [sql`(date_trunc('month', today) - interval '1 month')::date`, sql`date_trunc('month', today)::date`];
  }
}

export function periodCtes(options: PeriodOptions): RawBuilder<unknown> {
  const { orgId, range, now } = options;
  const org = sql`${orgId}::int8`;
  const [dayFrom, dayTo] = range.kind === 'preset' ? presetDays(range.preset) : [sql`null`, sql`null`];
  const atFrom = range.kind === 'explicit' ? sql`${range.from}::timestamptz` : sql`null::timestamptz`;
  const atTo = range.kind === 'explicit' ? sql`${range.to}::timestamptz` : sql`null::timestamptz`;
  const previous = options.withPrevious
    ? sql`union all
        select 'previous',
               coalesce(at_from - (at_to - at_from), (day_from - (day_to - day_from))::timestamp at time zone tz),
               coalesce(at_from, day_from::timestamp at time zone tz),
               tz
        from requested`
    : sql``;
  const wholeDays = options.rawOnly
    ? sql`null::date as whole_from, null::date as whole_to`
    : sql`case when (p.from_at at time zone p.tz)::time = time '00:00' then (p.from_at at time zone p.tz)::date
                else (p.from_at at time zone p.tz)::date + 1 end as whole_from,
           (p.to_at at time zone p.tz)::date as whole_to`;
  const byAgent = options.byAgent !== false || options.agentIds !== undefined;
  const rollupAgents = options.agentIds ? sql`and r.agent_id = any(${options.agentIds}::int8[])` : sql``;
  const callAgents = options.agentIds ? sql`and c.agent_id = any(${options.agentIds}::int8[])` : sql``;
  const appointmentAgents = options.agentIds ? sql`and a.agent_id = any(${options.agentIds}::int8[])` : sql``;

  // Raw stretches are two disjoint index range scans (head and tail), never one
  // scan over the whole period filtered afterwards. Every read below is a
  // LATERAL subquery fenced with OFFSET 0, so PostgreSQL cannot pull it up into
  // a join with `split`: it must run it per period with that period's bounds as
  // an index range on (org_id, started_at | day). Unfenced, a generic plan
  // (named prepared statements) in a database of few large organisations
  // estimated org_id = $n at (calls / organisations) rows and joined `split`
  // against ALL the organisation's calls instead (issue 12: 200,000 rows read
  // for a 30-day dashboard of a 100k-call organisation, 380 ms).
  const rawCalls = (lower: string, upper: string) => sql`
    select s.period, (c.started_at at time zone s.tz)::date as day, c.agent_id, c.direction, c.status, c.outcome,
           c.sentiment, 1 as calls, c.duration_seconds::bigint as duration_sum, c.cost as cost_sum, c.started_at
    from split s
    cross join lateral (
      select c.started_at, c.agent_id, c.direction, c.status, c.outcome, c.sentiment, c.duration_seconds, c.cost
      from calls c
      where c.org_id = ${org} and c.started_at >= ${sql.raw(`s.${lower}`)} and c.started_at < ${sql.raw(`s.${upper}`)}
        ${callAgents}
      offset 0
    ) c`;
  const rawAppointments = (lower: string, upper: string) => sql`
    select s.period, (a.created_at at time zone s.tz)::date as day, a.agent_id, a.status, 1 as appointments,
           a.value as value_sum, a.created_at
    from split s
    cross join lateral (
      select a.created_at, a.agent_id, a.status, a.value
      from appointments a
      where a.org_id = ${org} and a.created_at >= ${sql.raw(`s.${lower}`)} and a.created_at < ${sql.raw(`s.${upper}`)}
        ${appointmentAgents}
      offset 0
    ) a`;

  return sql`
    org_tz as (
      select o.timezone as tz, (${now}::timestamptz at time zone o.timezone)::date as today
      from organisations o where o.id = ${org}
    ),
    requested as (
      select tz, (${dayFrom})::date as day_from, (${dayTo})::date as day_to, ${atFrom} as at_from, ${atTo} as at_to
      from org_tz
    ),
    periods as (
      select 'current'::text as period,
             coalesce(at_from, day_from::timestamp at time zone tz) as from_at,
             coalesce(at_to, day_to::timestamp at time zone tz) as to_at,
             tz
      from requested
      ${previous}
    ),
    split as (
      select p.period, p.from_at, p.to_at, p.tz, w.whole_from, w.whole_to,
             case when w.whole_from < w.whole_to then w.whole_from::timestamp at time zone p.tz else p.to_at end as head_to,
             case when w.whole_from < w.whole_to then w.whole_to::timestamp at time zone p.tz else p.to_at end as tail_from
      from periods p
      cross join lateral (select ${wholeDays}) w
    ),
    call_facts as (
      ${
        byAgent
          ? sql`
      select s.period, r.day, r.agent_id, null::text as direction, r.status, null::text as outcome,
             null::text as sentiment, r.calls::bigint as calls, r.duration_sum, r.cost_sum, null::timestamptz as started_at
      from split s
      cross join lateral (
        select r.day, r.agent_id, r.status, r.calls, r.duration_sum, r.cost_sum
        from call_daily_agent_rollups r
        where r.org_id = ${org} and r.day >= s.whole_from and r.day < s.whole_to ${rollupAgents}
        offset 0
      ) r`
          : sql`
      select s.period, r.day, null::int8 as agent_id, r.direction, r.status, r.outcome,
             r.sentiment, r.calls::bigint as calls, r.duration_sum, r.cost_sum, null::timestamptz as started_at
      from split s
      cross join lateral (
        select r.day, r.direction, r.status, r.outcome, r.sentiment, r.calls, r.duration_sum, r.cost_sum
        from call_daily_org_rollups r
        where r.org_id = ${org} and r.day >= s.whole_from and r.day < s.whole_to
        offset 0
      ) r`
      }
      union all ${rawCalls('from_at', 'head_to')}
      union all ${rawCalls('tail_from', 'to_at')}
    ),
    appointment_facts as (
      select s.period, r.day, r.agent_id, r.status,
             r.appointments::bigint as appointments, r.value_sum, null::timestamptz as created_at
      from split s
      cross join lateral (
        select r.day, ${byAgent ? sql`r.agent_id` : sql`null::int8 as agent_id`}, r.status, r.appointments, r.value_sum
        from ${byAgent ? sql`appointment_daily_rollups` : sql`appointment_daily_org_rollups`} r
        where r.org_id = ${org} and r.day >= s.whole_from and r.day < s.whole_to ${byAgent ? rollupAgents : sql``}
        offset 0
      ) r
      union all ${rawAppointments('from_at', 'head_to')}
      union all ${rawAppointments('tail_from', 'to_at')}
    )`;
}
