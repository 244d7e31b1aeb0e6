/**
 * Plain counters per named cache, read by /metrics at scrape time
 * (src/observability/cacheMetrics.ts). Names are ours and few; no tenant ever
 * appears in one.
 */
export interface CacheCounters {
  hits: number;
  misses: number;
  /** Entries dropped by the size bound or their TTL. */
  evictions: number;
  /** Entries (or, for the response cache, organisation generations) dropped because the database said they changed. */
  invalidations: number;
  /** Whole-cache flushes: the LISTEN connection was lost, so nothing cached could be trusted. */
  flushes: number;
  /** Reads or writes the cache backend failed (Redis down): served as misses. */
  errors: number;
}

export class CacheStats {
  private readonly counters = new Map<string, CacheCounters>();

  for(name: string): CacheCounters {
    let counters = this.counters.get(name);
    if (!counters) {
      counters = { hits: 0, misses: 0, evictions: 0, invalidations: 0, flushes: 0, errors: 0 };
      this.counters.set(name, counters);
    }
    return counters;
  }

  entries(): [string, CacheCounters][] {
    return [...this.counters.entries()];
  }
}
