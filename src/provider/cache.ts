import { LRUCache } from 'lru-cache';
import type { CacheClock } from '../cache/keyValue';

/** A provider value as a field serves it: when it was fetched, and whether that is past the TTL. */
export interface Fetched<T> {
  value: T;
  fetchedAt: Date;
  stale: boolean;
}

interface Entry {
  value: unknown;
  /** Wall-clock time of the fetch, for `fetchedAt`. */
  fetchedAt: Date;
  /** The cache clock's time of the fetch, for ages (tests advance that clock instead of sleeping). */
  fetchedAtMs: number;
}

const monotonic: CacheClock = { now: () => performance.now() };

/**
 * The last good provider values, keyed by organisation, kind and id (an
 * organisation only ever reads its own keys: the key starts with its id).
 * Younger than the TTL: fresh, served without a provider call. Older, up to
 * TTL + max stale: served with `stale: true` while the caller refreshes it in
 * the background. Older still: gone. Bounded by entry count (lru).
 */
export class ProviderCache {
  private readonly lru: LRUCache<string, Entry>;
  private readonly refreshing = new Set<string>();

  constructor(
    private readonly options: { ttlMs: number; maxStaleMs: number; maxEntries: number },
    private readonly clock: CacheClock = monotonic,
  ) {
    this.lru = new LRUCache({ max: options.maxEntries });
  }

  get enabled(): boolean {
    return this.options.maxStaleMs > 0;
  }

  get<T>(orgId: string, kind: string, id: string): Fetched<T> | undefined {
    if (!this.enabled) return undefined;
    const key = cacheKey(orgId, kind, id);
    const entry = this.lru.get(key);
    if (!entry) return undefined;
    const age = this.clock.now() - entry.fetchedAtMs;
    if (age > this.options.ttlMs + this.options.maxStaleMs) {
      this.lru.delete(key);
      return undefined;
    }
    // Entries are written by `set` with the T of the same kind; the key's kind names it.
    return { value: entry.value as T, fetchedAt: entry.fetchedAt, stale: age > this.options.ttlMs };
  }

  set<T>(orgId: string, kind: string, id: string, value: T): Fetched<T> {
    const fetched = { value, fetchedAt: new Date(), stale: false };
    if (this.enabled) this.lru.set(cacheKey(orgId, kind, id), { value, fetchedAt: fetched.fetchedAt, fetchedAtMs: this.clock.now() });
    return fetched;
  }

  /** Runs `refresh` unless one for the same key is already running: one background refresh per key at a time. */
  refreshOnce(orgId: string, kind: string, id: string, refresh: () => Promise<unknown>): void {
    const key = cacheKey(orgId, kind, id);
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    // Failures are counted by the gateway's metrics; the stale value stays until it expires.
    void refresh()
      .catch(() => {})
      .finally(() => this.refreshing.delete(key));
  }
}

function cacheKey(orgId: string, kind: string, id: string): string {
  return `${orgId}\u0000${kind}\u0000${id}`;
}
