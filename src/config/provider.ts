import { envReader, type Env } from './env';

/**
 * The voice provider's API (src/provider), read from the environment by
 * `providerFromEnv` and kept in `Config.provider`. Every bound is here, so
 * one request's provider work is bounded by `budgetMs` whatever the provider
 * does: each attempt by `timeoutMs`, retries by `maxAttempts`, queueing by
 * `concurrency`, and a dead provider by the breaker.
 */
export interface ProviderConfig {
  /**
   * `PROVIDER_URL`: the ElevenLabs-style API's base URL. Unset: provider
   * fields resolve to null (and `npm start` in development starts the local
   * provider and sets this to it).
   */
  url: string | undefined;
  /** `PROVIDER_NAME`: what synced agents and phone numbers record as their `provider`. */
  name: string;
  /**
   * `PROVIDER_LOCAL_PORT`: where `npm start` runs the local provider when PROVIDER_URL is unset. Default 0, any
   * free port: the server reaches it in-process by the URL it gets back, so a fixed port would only make a second
   * `npm start` on the machine fail with EADDRINUSE.
   */
  localPort: number;
  /** `PROVIDER_BUDGET_MS`: all provider work of one GraphQL request, retries and waits included. */
  budgetMs: number;
  /** `PROVIDER_TIMEOUT_MS`: one HTTP attempt, inside the budget. */
  timeoutMs: number;
  /** `PROVIDER_MAX_ATTEMPTS`: attempts per call, the first included (1: no retries). */
  maxAttempts: number;
  /** `PROVIDER_RETRY_BASE_MS`, `PROVIDER_RETRY_MAX_MS`: exponential backoff with full jitter, unless Retry-After says otherwise. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** `PROVIDER_CONCURRENCY`: provider requests in flight per organisation; more wait in line. */
  concurrency: number;
  /** `PROVIDER_BREAKER_THRESHOLD`: consecutive failed calls that open an account's circuit. */
  breakerThreshold: number;
  /** `PROVIDER_BREAKER_HALF_OPEN_MS`: how long an open circuit refuses before letting one probe through. */
  breakerHalfOpenMs: number;
  /** `PROVIDER_CACHE_TTL_SECONDS`: how long a fetched value is served as fresh. */
  cacheTtlMs: number;
  /** `PROVIDER_CACHE_MAX_STALE_SECONDS`: how long past that it is still served (stale: true) while refreshed; 0 turns the cache off. */
  cacheMaxStaleMs: number;
  /** `PROVIDER_CACHE_MAX_ENTRIES`: bound of the cache, all organisations together. */
  cacheMaxEntries: number;
}

export function providerFromEnv(env: Env = process.env): ProviderConfig {
  const read = envReader(env);
  const positive = { min: 1 };
  return {
    url: read.string('PROVIDER_URL'),
    name: read.string('PROVIDER_NAME') ?? 'elevenlabs',
    localPort: read.int('PROVIDER_LOCAL_PORT', 0),
    budgetMs: read.int('PROVIDER_BUDGET_MS', 1500, positive),
    timeoutMs: read.int('PROVIDER_TIMEOUT_MS', 800, positive),
    maxAttempts: read.int('PROVIDER_MAX_ATTEMPTS', 3, positive),
    retryBaseMs: read.int('PROVIDER_RETRY_BASE_MS', 100),
    retryMaxMs: read.int('PROVIDER_RETRY_MAX_MS', 1000),
    // 20: a default page of agents (20) is one wave of parallel requests, not several.
    concurrency: read.int('PROVIDER_CONCURRENCY', 20, positive),
    breakerThreshold: read.int('PROVIDER_BREAKER_THRESHOLD', 5, positive),
    breakerHalfOpenMs: read.int('PROVIDER_BREAKER_HALF_OPEN_MS', 10_000, positive),
    cacheTtlMs: read.int('PROVIDER_CACHE_TTL_SECONDS', 60) * 1000,
    cacheMaxStaleMs: read.int('PROVIDER_CACHE_MAX_STALE_SECONDS', 3600) * 1000,
    cacheMaxEntries: read.int('PROVIDER_CACHE_MAX_ENTRIES', 10_000, positive),
  };
}
