import type { TenantScope } from '../db/tenant';
import { agentFigures, type AgentFigures } from '../stats/agents';
import type { RangeSpec } from '../stats/periods';
import type { LoaderOptions } from './byKey';
import { groupedLoader } from './grouped';

export interface AgentStatsKey {
  agentId: string;
  range: RangeSpec;
}

/** `Agent.stats(range)` for every agent on the page: one statement per distinct range; null for an agent not in the organisation. */
export function agentStatsLoader(scope: TenantScope, now: Date, options: LoaderOptions) {
  return groupedLoader<AgentStatsKey, AgentFigures | null>(
    {
      shapeOf: (key) => JSON.stringify(key.range),
      cacheKeyOf: (key) => JSON.stringify([key.agentId, key.range]),
      maxBatchSize: 500,
    },
    options,
    async (group) => {
      const rows = await agentFigures(scope, [...new Set(group.map((k) => k.agentId))], group[0].range, now);
      const byAgent = new Map(rows.map((row) => [row.agent_id, row]));
      return (key) => byAgent.get(key.agentId) ?? null;
    },
  );
}
