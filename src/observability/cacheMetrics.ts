import { Counter, Gauge, type Registry } from 'prom-client';
import type { CacheRuntime } from '../cache/runtime';
import type { CacheCounters } from '../cache/stats';

/**
 * Cache statistics for /metrics, read from the runtime's counters at scrape
 * time. The only label is the cache's name (response, apq, organisations,
 * members, agents, phone_numbers_by_agent): never a tenant. Hit rate is
 * hits / (hits + misses), e.g.
 * `rate(switchboard_cache_hits_total[5m]) / (rate(…hits…) + rate(…misses…))`.
 */
export function registerCacheMetrics(registry: Registry, runtime: CacheRuntime): void {
  const counter = (field: keyof CacheCounters, help: string) =>
    new Counter({
      name: `switchboard_cache_${field}_total`,
      help,
      labelNames: ['cache'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [cache, counters] of runtime.stats.entries()) this.inc({ cache }, counters[field]);
      },
    });
  counter('hits', 'Lookups answered from the cache (response cache: operations served without executing)');
  counter('misses', 'Lookups the cache could not answer');
  counter('evictions', 'Entries dropped by the size bound or their TTL');
  counter('invalidations', 'Invalidations applied because the database reported a write');
  counter('flushes', 'Whole-cache flushes (the invalidation listener was lost or reconnected, or a table was truncated)');
  counter('errors', 'Shared cache (Redis) operations that failed or timed out and were served as misses');

  new Gauge({
    name: 'switchboard_cache_listener_up',
    help: '1 while the LISTEN connection that invalidates caches is up and hears its own probe NOTIFY (caches are bypassed otherwise)',
    registers: [registry],
    collect() {
      this.set(runtime.trusted() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'switchboard_cache_listener_down',
    help: 'Why caches are bypassed: 1 for the current reason (connecting, unreachable, deaf: its probe NOTIFY never came back, lost); none while the listener hears',
    labelNames: ['reason'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const reason = runtime.listener?.downReason;
      if (reason) this.set({ reason }, 1);
    },
  });
  new Counter({
    name: 'switchboard_cache_listener_connections_total',
    help: 'LISTEN connections established (the first one included; more mean reconnects)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(runtime.listener?.connections ?? 0);
    },
  });
}
