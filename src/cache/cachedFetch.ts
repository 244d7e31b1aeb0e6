import type { EntityCache } from './entityCache';

type Fetch<Row> = (ids: readonly string[]) => Promise<Row[]>;

/**
 * Puts an entity cache in front of a loader's batch fetch (cache-aside):
 * cached ids are answered from memory, the rest are fetched in one statement
 * as before, so a batch whose ids are all cached runs no statement at all.
 * `orgOf` names the organisation an id belongs to (the loader's own, or the id
 * itself for organisations): invalidation is per organisation.
 *
 * The two forms below differ only in what one id's cached value is: `answer`
 * adds a hit's rows to the result, `store` hands each fetched id's value to
 * `put`. Each id's stamp is taken before the fetch, so a write to its
 * organisation that lands while the statement runs keeps the (possibly
 * stale) rows out of the cache (EntityCache.set drops them).
 */
function cacheAside<Row, Value>(
  cache: EntityCache<Value> | undefined,
  orgOf: (id: string) => string,
  fetch: Fetch<Row>,
  answer: (result: Row[], hit: Value) => void,
  store: (missing: readonly string[], fetched: Row[], put: (id: string, value: Value) => void) => void,
): Fetch<Row> {
  if (!cache) return fetch;
  return async (ids) => {
    if (!cache.enabled()) return fetch(ids);
    const found: Row[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const hit = cache.get(orgOf(id), id);
      if (hit === undefined) missing.push(id);
      else answer(found, hit);
    }
    if (missing.length === 0) return found;
    const stamps = new Map(missing.map((id) => [id, cache.stamp(orgOf(id))]));
    const rows = await fetch(missing);
    store(missing, rows, (id, value) => {
      // Only ids this batch asked for (and stamped) are stored.
      const stamp = stamps.get(id);
      if (stamp !== undefined) cache.set(orgOf(id), id, value, stamp);
    });
    return found.concat(rows);
  };
}

/** One row per id; nothing is stored for an id that finds no row. */
export function cachedRows<Row>(
  cache: EntityCache<Row> | undefined,
  orgOf: (id: string) => string,
  fetch: Fetch<Row>,
  keyOf: (row: Row) => string,
): Fetch<Row> {
  return cacheAside(
    cache,
    orgOf,
    fetch,
    (result, hit) => result.push(hit),
    (_missing, fetched, put) => {
      for (const row of fetched) put(keyOf(row), row);
    },
  );
}

/** The one-to-many form: each id's whole list is cached, an empty list included. */
export function cachedRowLists<Row>(
  cache: EntityCache<Row[]> | undefined,
  orgOf: (id: string) => string,
  fetch: Fetch<Row>,
  keyOf: (row: Row) => string,
): Fetch<Row> {
  return cacheAside(
    cache,
    orgOf,
    fetch,
    (result, hit) => result.push(...hit),
    (missing, fetched, put) => {
      const byId = new Map<string, Row[]>(missing.map((id) => [id, []]));
      for (const row of fetched) byId.get(keyOf(row))?.push(row);
      for (const [id, list] of byId) put(id, list);
    },
  );
}
