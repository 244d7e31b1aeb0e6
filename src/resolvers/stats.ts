import type {
  AnalyticsGroupResolvers,
  DashboardResolvers,
  LeaderboardEntryResolvers,
  QueryResolvers,
  Trend,
  MoneyTrend,
  MetricsResolvers,
  AgentStatsResolvers,
} from '../generated/graphql';
import { badUserInput } from '../graphql/errors';
import { agentLeaderboard, type LeaderboardMetric } from '../stats/agents';
import { analyticsSeries, type AnalyticsBucketModel, type GroupBy } from '../stats/analytics';
import { contactFigures } from '../stats/contacts';
import { dashboardFigures, type PeriodFigures } from '../stats/dashboard';
import { rangeSpec } from './args';
import { rootCallConnection } from './calls';
import { toDbEnum } from './enums';
import { COST_DECIMALS, usd, VALUE_DECIMALS } from './money';

const MAX_LEADERBOARD = 100;

function trend(current: number | null, previous: number | null): Trend {
  const change = current !== null && previous !== null && previous !== 0 ? (current - previous) / previous : null;
  return { current, previous, change: change === null ? null : Math.round(change * 10_000) / 10_000 };
}

function moneyTrend(current: number, previous: number, decimals: number): MoneyTrend {
  return { current: usd(current, decimals), previous: usd(previous, decimals), change: trend(current, previous).change };
}

const ratio = (numerator: number, denominator: number) => (denominator > 0 ? Math.round((numerator / denominator) * 10_000) / 10_000 : null);

/** Headline figures are ratios of sums PostgreSQL computed; nothing is counted here. */
const headline =
  (pick: (figures: PeriodFigures) => number | null): DashboardResolvers['totalCalls'] =>
  (dashboard) =>
    trend(pick(dashboard.current), pick(dashboard.previous));

export const Dashboard: DashboardResolvers = {
  range: (dashboard) => dashboard.range,
  previousRange: (dashboard) => dashboard.previousRange,
  totalCalls: headline((f) => f.total),
  completedCalls: headline((f) => f.completed),
  answeredRate: headline((f) => ratio(f.completed, f.total)),
  inboundCalls: headline((f) => f.inbound),
  outboundCalls: headline((f) => f.outbound),
  averageDurationSeconds: headline((f) => (f.completed > 0 ? Math.round((f.completedDuration / f.completed) * 100) / 100 : null)),
  totalCost: headline((f) => Math.round(f.cost * 10_000) / 10_000),
  appointmentsBooked: headline((f) => f.appointments),
  conversionRate: headline((f) => ratio(f.appointments, f.completed)),
  pipelineValue: headline((f) => Math.round(f.pipelineValue * 100) / 100),
  providerCost: (dashboard) => moneyTrend(dashboard.current.cost, dashboard.previous.cost, COST_DECIMALS),
  pipeline: (dashboard) => moneyTrend(dashboard.current.pipelineValue, dashboard.previous.pipelineValue, VALUE_DECIMALS),
  callsByStatus: (dashboard) => dashboard.byStatus,
  callsByOutcome: (dashboard) => dashboard.byOutcome,
  callsBySentiment: (dashboard) => dashboard.bySentiment,
  recentCalls: (dashboard, { first, after }, ctx, info) =>
    rootCallConnection(
      ctx,
      {
        first,
        after,
        filter: { startedAfter: new Date(dashboard.range.from), startedBefore: new Date(dashboard.range.to) },
      },
      info,
    ),
};

export const statsQueries: Pick<QueryResolvers, 'dashboard' | 'analytics' | 'agentLeaderboard' | 'contactStats'> = {
  dashboard: (_root, { range }, ctx) => dashboardFigures(ctx.scope, rangeSpec(range), ctx.now),

  analytics: async (_root, { range, interval, groupBy }, ctx) => {
    const spec = rangeSpec(range, { hourly: interval === 'HOUR' });
    const dbGroupBy: GroupBy = toDbEnum(groupBy);
    const series = await analyticsSeries(ctx.scope, spec, toDbEnum(interval), dbGroupBy, ctx.now);
    const groupsByBucket = new Map<string, AnalyticsBucketModel['groups']>();
    for (const group of series.groups) {
      const list = groupsByBucket.get(group.bucket) ?? [];
      list.push({ key: group.key, agentId: dbGroupBy === 'agent' ? group.key : null, metrics: group.metrics });
      groupsByBucket.set(group.bucket, list);
    }
    return {
      ...series,
      interval,
      groupBy,
      buckets: series.buckets.map((bucket) => ({ ...bucket, groups: groupsByBucket.get(bucket.bucket) ?? [] })),
    };
  },

  agentLeaderboard: async (_root, { range, metric, first }, ctx) => {
    // `first` has a schema default (10), so it is always given.
    const limit = first;
    if (limit < 1 || limit > MAX_LEADERBOARD) throw badUserInput(`first must be between 1 and ${MAX_LEADERBOARD}`, 'first');
    return agentLeaderboard(ctx.scope, rangeSpec(range), toDbEnum(metric) satisfies LeaderboardMetric, limit, ctx.now);
  },

  contactStats: (_root, { range }, ctx) => contactFigures(ctx.scope, range ? rangeSpec(range) : { kind: 'preset', preset: 'last_30_days' }, ctx.now),
};

export const LeaderboardEntry: LeaderboardEntryResolvers = {
  agent: async (entry, _args, ctx) => {
    const agent = await ctx.loaders.agentById.load(entry.agent_id);
    if (!agent) throw new Error(`leaderboard agent ${entry.agent_id} not found`);
    return agent;
  },
  stats: (entry) => entry,
};

export const AnalyticsGroup: AnalyticsGroupResolvers = {
  agent: (group, _args, ctx) => (group.agentId ? ctx.loaders.agentById.load(group.agentId) : null),
};

export const Metrics: MetricsResolvers = {
  providerCost: (metrics) => usd(metrics.cost, COST_DECIMALS),
};

export const AgentStats: AgentStatsResolvers = {
  providerCost: (stats) => usd(stats.cost, COST_DECIMALS),
};
