import DataLoader from 'dataloader';
import type { Db } from '../db/database';
import { agentFigures, type AgentFigures } from '../stats/agents';
import type { RangeSpec } from '../stats/periods';
import type { LoaderOptions } from './byKey';

export interface AgentStatsKey {
  agentId: string;
  range: RangeSpec;
}

/** `Agent.stats(range)` for every agent on the page: one statement per distinct range. */
export function agentStatsLoader(db: Db, orgId: string, now: Date, options: LoaderOptions) {
  return new DataLoader<AgentStatsKey, AgentFigures, string>(
    async (keys) => {
      const byRange = new Map<string, AgentStatsKey[]>();
      for (const key of keys) {
        const rangeKey = JSON.stringify(key.range);
        const group = byRange.get(rangeKey);
        if (group) group.push(key);
        else byRange.set(rangeKey, [key]);
      }
      const figures = new Map<AgentStatsKey, AgentFigures>();
      await Promise.all(
        [...byRange.values()].map(async (group) => {
          const rows = await agentFigures(db, orgId, [...new Set(group.map((k) => k.agentId))], group[0]!.range, now);
          const byAgent = new Map(rows.map((row) => [row.agent_id, row]));
          for (const key of group) figures.set(key, byAgent.get(key.agentId)!);
        }),
      );
      return keys.map((key) => figures.get(key)!);
    },
    { batch: options.batch, cacheKeyFn: (key) => JSON.stringify([key.agentId, key.range]), maxBatchSize: 500 },
  );
}
