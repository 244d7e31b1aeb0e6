import { LRUCache } from 'lru-cache';
import type { CacheClock } from './keyValue';
import type { CacheCounters } from './stats';

interface Entry<V> {
  orgId: string;
  value: V;
}

/**
 * A size-bounded, TTL-bounded in-process cache of rows of one kind, keyed per
 * organisation, and evicted per organisation when the database reports a
 * write to one of `tables` (see runtime.ts).
 *
 * A read that started before an invalidation must not store what it read
 * after it: `stamp()` is taken before the database read and `set()` drops the
 * value if the organisation was invalidated (or the cache cleared) meanwhile.
 */
export class EntityCache<V> {
  private readonly lru: LRUCache<string, Entry<V>>;
  private readonly keysByOrg = new Map<string, Set<string>>();
  private readonly versions = new Map<string, number>();
  private epoch = 0;

  constructor(
    readonly name: string,
    /** Tables whose writes invalidate this cache. */
    readonly tables: readonly string[],
    options: { maxEntries: number; ttlMs: number; clock?: CacheClock },
    private readonly counters: CacheCounters,
    /** False while invalidations cannot be trusted (LISTEN connection down): the cache is bypassed. */
    private readonly usable: () => boolean,
  ) {
    this.lru = new LRUCache<string, Entry<V>>({
      max: options.maxEntries,
      ttl: options.ttlMs,
      ...(options.clock ? { perf: options.clock, ttlResolution: 0 } : {}),
      dispose: (entry, key, reason) => {
        const keys = this.keysByOrg.get(entry.orgId);
        keys?.delete(key);
        if (keys?.size === 0) this.keysByOrg.delete(entry.orgId);
        if (reason === 'evict' || reason === 'expire') this.counters.evictions += 1;
      },
    });
  }

  enabled(): boolean {
    return this.usable();
  }

  /** The value, or undefined on a miss (and always when the cache is not usable). */
  get(orgId: string, id: string): V | undefined {
    if (!this.usable()) return undefined;
    const entry = this.lru.get(`${orgId}:${id}`);
    if (entry === undefined) {
      this.counters.misses += 1;
      return undefined;
    }
    this.counters.hits += 1;
    return entry.value;
  }

  stamp(orgId: string): string {
    return `${this.epoch}:${this.versions.get(orgId) ?? 0}`;
  }

  set(orgId: string, id: string, value: V, stamp: string): void {
    if (!this.usable() || stamp !== this.stamp(orgId)) return;
    const key = `${orgId}:${id}`;
    this.lru.set(key, { orgId, value });
    let keys = this.keysByOrg.get(orgId);
    if (!keys) this.keysByOrg.set(orgId, (keys = new Set()));
    keys.add(key);
  }

  invalidateOrg(orgId: string): void {
    this.versions.set(orgId, (this.versions.get(orgId) ?? 0) + 1);
    const keys = this.keysByOrg.get(orgId);
    if (!keys) return;
    for (const key of [...keys]) this.lru.delete(key);
    this.counters.invalidations += 1;
  }

  clear(): void {
    this.epoch += 1;
    this.versions.clear();
    this.lru.clear();
    this.keysByOrg.clear();
    this.counters.flushes += 1;
  }

  get size(): number {
    return this.lru.size;
  }
}
