import { envReader, type Env } from './env';

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
  /** How often the LISTEN connection proves it hears (a probe NOTIFY), which also notices a silently dead socket (`CACHE_LISTENER_PING_MS`). */
  listenerPingMs: number;
  /** How long the listener's probe NOTIFY may take to come back before caches are bypassed as deaf (`CACHE_LISTENER_PROBE_TIMEOUT_MS`). */
  listenerProbeTimeoutMs: number;
}

export function cachesFromEnv(env: Env = process.env): CacheConfig {
  const read = envReader(env);
  return {
    responseCache: read.onOff('RESPONSE_CACHE', true),
    responseCacheMaxBytes: read.int('RESPONSE_CACHE_MAX_BYTES', 64 * 1024 * 1024, { min: 1024 }),
    entityCache: read.onOff('ENTITY_CACHE', true),
    entityCacheMaxEntries: read.int('ENTITY_CACHE_MAX_ENTRIES', 10_000, { min: 1 }),
    entityCacheTtlMs: read.int('ENTITY_CACHE_TTL_MS', 300_000, { min: 1 }),
    apqCacheMaxBytes: read.int('APQ_CACHE_MAX_BYTES', 8 * 1024 * 1024, { min: 1024 }),
    redisUrl: read.string('REDIS_URL'),
    redisKeyPrefix: read.string('REDIS_KEY_PREFIX') ?? 'switchboard',
    listenerBackoffMs: read.int('CACHE_LISTENER_BACKOFF_MS', 100, { min: 1 }),
    listenerBackoffMaxMs: read.int('CACHE_LISTENER_BACKOFF_MAX_MS', 5000, { min: 1 }),
    listenerPingMs: read.int('CACHE_LISTENER_PING_MS', 10_000, { min: 100 }),
    listenerProbeTimeoutMs: read.int('CACHE_LISTENER_PROBE_TIMEOUT_MS', 2000, { min: 10 }),
  };
}

/** Every cache off and nothing shared: what tests that count statements run with. */
export function cachesOff(config: CacheConfig): CacheConfig {
  return { ...config, responseCache: false, entityCache: false, redisUrl: undefined };
}
