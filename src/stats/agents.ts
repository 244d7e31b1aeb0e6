import { sql, type RawBuilder } from 'kysely';
import { PREPARED } from '../db/database';
import type { TenantScope } from '../db/tenant';
import { periodCtes, type RangeSpec } from './periods';

export interface AgentFigures {
  agent_id: string;
  calls: number;
  completed: number;
  answeredRate: number | null;
  averageDurationSeconds: number | null;
  cost: number;
  appointments: number;
  conversionRate: number | null;
}

export interface LeaderboardRow extends AgentFigures {
  rank: number;
}

export type LeaderboardMetric = 'calls' | 'completed' | 'conversion_rate' | 'average_duration' | 'appointments';

const METRIC_ORDER: Record<LeaderboardMetric, string> = {
  calls: '"calls"',
  completed: '"completed"',
  conversion_rate: '"conversionRate"',
  average_duration: '"averageDurationSeconds"',
  appointments: '"appointments"',
};

/** Per-agent figures from the shared facts, for the agents `agents` yields. */
function perAgentSelect(agents: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    select ag.id as agent_id, ag.name,
           coalesce(c.calls, 0)::int as calls,
           coalesce(c.completed, 0)::int as completed,
           case when c.calls > 0 then round(c.completed::numeric / c.calls, 4)::float8 end as "answeredRate",
           case when c.completed > 0 then round(c.completed_duration::numeric / c.completed, 2)::float8 end
             as "averageDurationSeconds",
           coalesce(c.cost, 0)::float8 as cost,
           coalesce(a.appointments, 0)::int as appointments,
           case when c.completed > 0 then round(coalesce(a.appointments, 0)::numeric / c.completed, 4)::float8 end
             as "conversionRate"
    from (${agents}) ag
    left join (
      select agent_id, sum(calls) as calls, sum(calls) filter (where status = 'completed') as completed,
             sum(duration_sum) filter (where status = 'completed') as completed_duration, sum(cost_sum) as cost
      from call_facts group by agent_id
    ) c on c.agent_id = ag.id
    left join (select agent_id, sum(appointments) as appointments from appointment_facts group by agent_id) a
      on a.agent_id = ag.id`;
}

/** `Agent.stats` for a page of agents: ONE statement for all of them. */
export async function agentFigures({ db, orgId }: TenantScope, agentIds: readonly string[], range: RangeSpec, now: Date): Promise<AgentFigures[]> {
  const { rows } = await sql<AgentFigures>`
    ${PREPARED} with ${periodCtes({ orgId, range, now, withPrevious: false, agentIds })}
    ${perAgentSelect(sql`select a.id, a.name from agents a where a.org_id = ${orgId}::int8 and a.id = any(${agentIds}::int8[])`)}
  `.execute(db);
  return rows;
}

/** Agents ranked by a metric; ties broken by name, then id. Archived agents are left out. */
export async function agentLeaderboard(
  { db, orgId }: TenantScope,
  range: RangeSpec,
  metric: LeaderboardMetric,
  limit: number,
  now: Date,
): Promise<LeaderboardRow[]> {
  const order = sql.raw(`${METRIC_ORDER[metric]} desc nulls last, name, agent_id`);
  const { rows } = await sql<LeaderboardRow>`
    ${PREPARED} with ${periodCtes({ orgId, range, now, withPrevious: false })}
    select (row_number() over (order by ${order}))::int as rank, agent_id, calls, completed, "answeredRate", "averageDurationSeconds", cost, appointments, "conversionRate"
    from (
      ${perAgentSelect(sql`select a.id, a.name from agents a where a.org_id = ${orgId}::int8 and a.status <> 'archived'`)}
    ) ranked
    order by ${order}
    limit ${limit}
  `.execute(db);
  return rows;
}
