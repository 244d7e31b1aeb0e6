import type { EntityCache } from './entityCache';

type Fetch<Row> = (ids: readonly string[]) => Promise<Row[]>;

/**
 * Puts an entity cache in front of a loader's batch fetch: cached ids are
 * answered from memory, the rest are fetched in one statement as before, so
 * a batch whose ids are all cached runs no statement at all. `orgOf` names the
 * organisation an id belongs to (the loader's own, or the id itself for
 * organisations): invalidation is per organisation.
 */
export function cachedRows<Row>(
  cache: EntityCache<Row> | undefined,
  orgOf: (id: string) => string,
  fetch: Fetch<Row>,
  keyOf: (row: Row) => string,
): Fetch<Row> {
  if (!cache) return fetch;
  return async (ids) => {
    if (!cache.enabled()) return fetch(ids);
    const found: Row[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const hit = cache.get(orgOf(id), id);
      if (hit === undefined) missing.push(id);
      else found.push(hit);
    }
    if (missing.length === 0) return found;
    const stamps = new Map(missing.map((id) => [id, cache.stamp(orgOf(id))]));
    const rows = await fetch(missing);
    for (const row of rows) {
      const id = keyOf(row);
      const stamp = stamps.get(id);
      if (stamp !== undefined) cache.set(orgOf(id), id, row, stamp);
    }
    return found.concat(rows);
  };
}

/** The one-to-many form: each id's whole list is cached, an empty list included. */
export function cachedRowLists<Row>(
  cache: EntityCache<Row[]> | undefined,
  orgId: string,
  fetch: Fetch<Row>,
  keyOf: (row: Row) => string,
): Fetch<Row> {
  if (!cache) return fetch;
  return async (ids) => {
    if (!cache.enabled()) return fetch(ids);
    const found: Row[] = [];
    const missing: string[] = [];
    for (const id of ids) {
      const hit = cache.get(orgId, id);
      if (hit === undefined) missing.push(id);
      else found.push(...hit);
    }
    if (missing.length === 0) return found;
    const stamp = cache.stamp(orgId);
    const rows = await fetch(missing);
    const byId = new Map<string, Row[]>(missing.map((id) => [id, []]));
    for (const row of rows) byId.get(keyOf(row))?.push(row);
    for (const [id, list] of byId) cache.set(orgId, id, list, stamp);
    return found.concat(rows);
  };
}
