import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import { KeyvAdapter } from '@apollo/utils.keyvadapter';
import KeyvRedis, { Keyv, createClient } from '@keyv/redis';
import { LRUCache } from 'lru-cache';
import type { CacheCounters } from './stats';

/** A monotonic millisecond clock; tests inject one to expire entries without sleeping. */
export interface CacheClock {
  now(): number;
}

/**
 * Apollo's KeyValueCache over lru-cache, bounded by the byte length of the
 * stored strings, with TTLs in seconds as Apollo passes them. Ours rather than
 * Apollo's InMemoryLRUCache so evictions are counted, the clock is injectable
 * and a lost LISTEN connection can clear it.
 */
export class LruKeyValueCache implements KeyValueCache {
  private readonly lru: LRUCache<string, string>;

  constructor(options: { maxBytes: number; counters: CacheCounters; clock?: CacheClock }) {
    this.lru = new LRUCache<string, string>({
      maxSize: options.maxBytes,
      sizeCalculation: (value, key) => value.length + key.length,
      ...(options.clock ? { perf: options.clock, ttlResolution: 0 } : {}),
      dispose: (_value, _key, reason) => {
        if (reason === 'evict' || reason === 'expire') options.counters.evictions += 1;
      },
    });
  }

  async get(key: string): Promise<string | undefined> {
    return this.lru.get(key);
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    // Apollo's ttl is seconds; 0 or absent means "no TTL" (the size bound still applies).
    this.lru.set(key, value, options?.ttl ? { ttl: options.ttl * 1000 } : {});
  }

  async delete(key: string): Promise<boolean> {
    return this.lru.delete(key);
  }

  clear(): void {
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}

/**
 * A shared cache is an optimisation, never a dependency: a failing or slow
 * backend (Redis down, restarting, unreachable) answers as a miss within
 * `timeoutMs`, and a failed write is dropped. Errors are counted, not thrown.
 * With `countLookups`, every get counts as a hit or a miss (the APQ cache; the
 * response cache counts per operation instead, see responseCache.ts).
 */
export class TolerantKeyValueCache implements KeyValueCache {
  constructor(
    private readonly inner: KeyValueCache,
    private readonly options: { counters: CacheCounters; timeoutMs: number; countLookups: boolean; onError?: (error: unknown) => void },
  ) {}

  async get(key: string): Promise<string | undefined> {
    const value = await this.guard(() => this.inner.get(key), undefined);
    if (this.options.countLookups) {
      if (value === undefined) this.options.counters.misses += 1;
      else this.options.counters.hits += 1;
    }
    return value;
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    await this.guard(() => this.inner.set(key, value, options), undefined);
  }

  async delete(key: string): Promise<boolean> {
    return this.guard(async () => (await this.inner.delete(key)) === true, false);
  }

  private async guard<T>(operation: () => Promise<T>, fallback: T): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`cache backend did not answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      });
      return await Promise.race([operation(), timeout]);
    } catch (error) {
      this.options.counters.errors += 1;
      this.options.onError?.(error);
      return fallback;
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface RedisStore {
  /** Keys are namespaced: `<prefix>:<name>:…`. */
  cache(name: string): KeyValueCache;
  close(): Promise<void>;
}

/**
 * Redis through Keyv and Apollo's Keyv adapter. The client never queues
 * commands while disconnected (they fail at once and TolerantKeyValueCache
 * turns that into a miss) and reconnects by itself with a capped backoff.
 */
export function createRedisStore(url: string, prefix: string, onError: (error: unknown) => void): RedisStore {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2000) },
  });
  client.on('error', onError);
  // Connecting in the background: until it succeeds, every lookup is a miss.
  client.connect().catch(onError);
  return {
    cache(name) {
      const store = new KeyvRedis(client, { throwOnConnectError: false, throwOnErrors: true });
      const keyv = new Keyv({ store, namespace: `${prefix}:${name}`, throwOnErrors: true });
      keyv.on('error', onError);
      return new KeyvAdapter<string>(keyv);
    },
    async close() {
      // A graceful close waits for a server that may be gone; a client still reconnecting is just dropped.
      if (!client.isReady) {
        client.destroy();
        return;
      }
      const timer = setTimeout(() => client.destroy(), 1000);
      await client.close().catch(() => client.destroy());
      clearTimeout(timer);
    },
  };
}
