import DataLoader from 'dataloader';
import type { LoaderOptions } from './byKey';

/** Items by key, each group in input order. (Map.groupBy needs Node 21.) */
export function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

export interface GroupedLoaderSpec<Key> {
  /** Keys with the same shape can be answered by one statement together. */
  shapeOf: (key: Key) => string;
  /** Identifies a key within a request (DataLoader's memo and de-duplication). */
  cacheKeyOf: (key: Key) => string;
  maxBatchSize: number;
}

/**
 * A loader for keys that carry arguments besides an id (a page request, a
 * filter, a range): a batch is split by shape and each group is fetched by
 * ONE statement, so the statement count follows the number of distinct
 * argument shapes, not the number of parents. `fetchGroup` runs a group's
 * statement and returns how to find each key's value in what it read.
 */
export function groupedLoader<Key, Value>(
  spec: GroupedLoaderSpec<Key>,
  options: LoaderOptions,
  fetchGroup: (group: Key[]) => Promise<(key: Key) => Value>,
): DataLoader<Key, Value, string> {
  return new DataLoader<Key, Value, string>(
    async (keys) => {
      const values = new Map<Key, Value>();
      await Promise.all(
        [...groupBy(keys, spec.shapeOf).values()].map(async (group) => {
          const valueOf = await fetchGroup(group);
          for (const key of group) values.set(key, valueOf(key));
        }),
      );
      return keys.map((key) => values.get(key)!);
    },
    { batch: options.batch, cacheKeyFn: spec.cacheKeyOf, maxBatchSize: spec.maxBatchSize },
  );
}
