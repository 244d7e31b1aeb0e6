import type DataLoader from 'dataloader';
import type { TenantScope } from '../db/tenant';
import { findSearchHighlights } from '../queries/calls';
import type { LoaderOptions } from './byKey';
import { groupedLoader } from './grouped';

export interface HighlightKey {
  callId: string;
  /** The search's tsquery (CallSearch of kind text). */
  tsquery: string;
}

/** `CallEdge.highlight` for a whole page at once: one statement per distinct search. */
export function searchHighlightLoader(scope: TenantScope, options: LoaderOptions): DataLoader<HighlightKey, string | null, string> {
  return groupedLoader<HighlightKey, string | null>(
    { shapeOf: (key) => key.tsquery, cacheKeyOf: (key) => JSON.stringify([key.callId, key.tsquery]), maxBatchSize: 500 },
    options,
    async (group) => {
      const rows = await findSearchHighlights(
        scope,
        group[0].tsquery,
        group.map((key) => key.callId),
      );
      const byId = new Map(rows.map((row) => [row.id, row.highlight]));
      return (key) => byId.get(key.callId) ?? null;
    },
  );
}
