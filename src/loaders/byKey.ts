import DataLoader from 'dataloader';
import { groupBy } from './grouped';

export interface LoaderOptions {
  /**
   * false turns batching off: every key becomes its own statement. Only the
   * benchmark's naive baseline uses it, to show what batching buys.
   */
  batch: boolean;
}

/**
 * A loader that fetches rows by key in one statement and hands each key its
 * row (or null), in key order, as DataLoader requires.
 */
export function rowByKeyLoader<Row>(
  fetch: (keys: readonly string[]) => Promise<Row[]>,
  keyOf: (row: Row) => string,
  options: LoaderOptions,
): DataLoader<string, Row | null> {
  return new DataLoader<string, Row | null>(
    async (keys) => {
      const rows = await fetch(keys);
      const byKey = new Map(rows.map((row) => [keyOf(row), row]));
      return keys.map((key) => byKey.get(key) ?? null);
    },
    { batch: options.batch, maxBatchSize: 1000 },
  );
}

/** Like rowByKeyLoader, for one-to-many relations: each key gets all its rows. */
export function rowsByKeyLoader<Row>(
  fetch: (keys: readonly string[]) => Promise<Row[]>,
  keyOf: (row: Row) => string,
  options: LoaderOptions,
): DataLoader<string, Row[]> {
  return new DataLoader<string, Row[]>(
    async (keys) => {
      const byKey = groupBy(await fetch(keys), keyOf);
      return keys.map((key) => byKey.get(key) ?? []);
    },
    { batch: options.batch, maxBatchSize: 1000 },
  );
}
