import { configProblem } from './problems';

/**
 * Cache settings (src/cache), read from the environment by `cachesFromEnv`
 * and kept in `Config.caches`. Every cache is bounded and has a TTL; all of
 * them are invalidated by the database (migration 0008), so TTLs are a
 * backstop, not the freshness mechanism.
 */
export interface CacheConfig {
  /** `RESPONSE_CACHE=off` turns the whole-response cache off (the benchmark's uncached baseline). */
  responseCache: boolean;
  /** In-process response cache bound, bytes of serialized responses (`RESPONSE_CACHE_MAX_BYTES`). */
  responseCacheMaxBytes: number;
  /** `ENTITY_CACHE=off` turns the organisation / member / agent / phone-number caches off. */
  entityCache: boolean;
  /** Entries per entity cache (`ENTITY_CACHE_MAX_ENTRIES`). */
  entityCacheMaxEntries: number;
  /** Entity cache TTL (`ENTITY_CACHE_TTL_MS`). */
  entityCacheTtlMs: number;
  /** In-process APQ cache bound, bytes of query text (`APQ_CACHE_MAX_BYTES`). */
  apqCacheMaxBytes: number;
  /** With `REDIS_URL`, the response and APQ caches live in Redis, shared by every instance. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key (`REDIS_KEY_PREFIX`), so several deployments can share one Redis. */
  redisKeyPrefix: string;
  /** LISTEN reconnect backoff: first delay, doubled up to the max (`CACHE_LISTENER_BACKOFF_MS`, `CACHE_LISTENER_BACKOFF_MAX_MS`). */
  listenerBackoffMs: number;
  listenerBackoffMaxMs: number;
  /** How often the LISTEN connection is pinged, to notice a silently dead socket (`CACHE_LISTENER_PING_MS`). */
  listenerPingMs: number;
}

function intFromEnv(name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    configProblem(`${name} must be an integer of at least ${min}, got "${raw}"`);
    return fallback;
  }
  return value;
}

function switchFromEnv(name: string, fallback: boolean): boolean {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'on') return true;
  if (raw === 'off') return false;
  configProblem(`${name} must be "on" or "off", got "${raw}"`);
  return fallback;
}

export function cachesFromEnv(): CacheConfig {
  return {
    responseCache: switchFromEnv('RESPONSE_CACHE', true),
    responseCacheMaxBytes: intFromEnv('RESPONSE_CACHE_MAX_BYTES', 64 * 1024 * 1024, 1024),
    entityCache: switchFromEnv('ENTITY_CACHE', true),
    entityCacheMaxEntries: intFromEnv('ENTITY_CACHE_MAX_ENTRIES', 10_000, 1),
    entityCacheTtlMs: intFromEnv('ENTITY_CACHE_TTL_MS', 300_000, 1),
    apqCacheMaxBytes: intFromEnv('APQ_CACHE_MAX_BYTES', 8 * 1024 * 1024, 1024),
    redisUrl: process.env.REDIS_URL || undefined,
    redisKeyPrefix: process.env.REDIS_KEY_PREFIX || 'switchboard',
    listenerBackoffMs: intFromEnv('CACHE_LISTENER_BACKOFF_MS', 100, 1),
    listenerBackoffMaxMs: intFromEnv('CACHE_LISTENER_BACKOFF_MAX_MS', 5000, 1),
    listenerPingMs: intFromEnv('CACHE_LISTENER_PING_MS', 10_000, 100),
  };
}

/** Every cache off and nothing shared: what tests that count statements run with. */
export function cachesOff(config: CacheConfig): CacheConfig {
  return { ...config, responseCache: false, entityCache: false, redisUrl: undefined };
}
