import { envReader, type Env } from './env';

/** Subscriptions (src/live): limits and timings, from the environment. */
export interface LiveConfig {
  /** `LIVE_MAX_CONNECTIONS`: open WebSocket and SSE connections per instance; the next one is refused with 503. */
  maxConnections: number;
  /** `LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION`. */
  maxSubscriptionsPerConnection: number;
  /** `LIVE_MAX_SUBSCRIPTIONS_PER_ORG`: per instance, over all of the organisation's connections. */
  maxSubscriptionsPerOrg: number;
  /** `LIVE_KEEPALIVE_MS`: WebSocket ping interval; a socket that has not answered the previous ping by the next is closed. */
  keepAliveMs: number;
  /** `LIVE_MAX_BUFFERED_BYTES`: a socket holding more unsent bytes than this reads too slowly and is closed (4008). */
  maxBufferedBytes: number;
  /** `LIVE_MAX_QUEUED_EVENTS`: events one subscription may have waiting for its socket; past it the connection is closed (4008). */
  maxQueuedEvents: number;
  /** `LIVE_FIGURES_INTERVAL_MS`: at most one dashboardChanged event per organisation per this interval. */
  figuresIntervalMs: number;
}

export function liveFromEnv(env: Env = process.env): LiveConfig {
  const read = envReader(env);
  return {
    maxConnections: read.int('LIVE_MAX_CONNECTIONS', 10_000, { min: 1 }),
    maxSubscriptionsPerConnection: read.int('LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION', 20, { min: 1 }),
    maxSubscriptionsPerOrg: read.int('LIVE_MAX_SUBSCRIPTIONS_PER_ORG', 2000, { min: 1 }),
    keepAliveMs: read.int('LIVE_KEEPALIVE_MS', 12_000, { min: 100 }),
    maxBufferedBytes: read.int('LIVE_MAX_BUFFERED_BYTES', 1024 * 1024, { min: 1024 }),
    maxQueuedEvents: read.int('LIVE_MAX_QUEUED_EVENTS', 10_000, { min: 1 }),
    figuresIntervalMs: read.int('LIVE_FIGURES_INTERVAL_MS', 1000, { min: 1 }),
  };
}
