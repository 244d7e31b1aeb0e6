import DataLoader from 'dataloader';
import type { LoaderOptions } from './byKey';

/** A group always has a first member: it exists because an item fell into it. */
export type Group<T> = [T, ...T[]];

/** Items by key, each group in input order. (Map.groupBy needs Node 21.) */
export function groupBy<T>(items: Iterable<T>, keyOf: (item: T) => string): Map<string, Group<T>> {
  const groups = new Map<string, Group<T>>();
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
 * statement and returns how to find each key's value in what it read (an
 * Error fails that key alone, as DataLoader allows).
 */
export function groupedLoader<Key, Value>(
  spec: GroupedLoaderSpec<Key>,
  options: LoaderOptions,
  fetchGroup: (group: Group<Key>) => Promise<(key: Key) => Value | Error>,
): DataLoader<Key, Value, string> {
  return new DataLoader<Key, Value, string>(
    async (keys) => {
      // Answers by position, as DataLoader wants them: every index belongs to exactly one group.
      const values = new Array<Value | Error>(keys.length);
      const positions = keys.map((key, index) => ({ key, index }));
      await Promise.all(
        [...groupBy(positions, ({ key }) => spec.shapeOf(key)).values()].map(async (group) => {
          const valueOf = await fetchGroup(group.map(({ key }) => key) as Group<Key>);
          for (const { key, index } of group) values[index] = valueOf(key);
        }),
      );
      return values;
    },
    { batch: options.batch, cacheKeyFn: spec.cacheKeyOf, maxBatchSize: spec.maxBatchSize },
  );
}
