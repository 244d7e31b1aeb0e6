import { Counter, Gauge, type Registry } from 'prom-client';
import type { JwksKeySet } from '../auth/jwks';

/**
 * The JWKS key set for /metrics, read at scrape time. Alert on
 * `switchboard_jwks_keys_usable == 0` (tokens get 503 AUTH_UNAVAILABLE), and
 * earlier on the age of the keys in use approaching JWKS_MAX_STALE_SECONDS.
 */
export function registerJwksMetrics(registry: Registry, keySet: JwksKeySet): void {
  new Counter({
    name: 'switchboard_jwks_refresh_failures_total',
    help: 'JWKS fetches that failed (timeout, HTTP error, malformed or empty set); the last good keys stay in use',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(keySet.status().refreshFailures);
    },
  });
  new Gauge({
    name: 'switchboard_jwks_key_age_seconds',
    help: 'Seconds since the JWKS keys in use were fetched (-1 before any fetch succeeded)',
    registers: [registry],
    collect() {
      this.set(keySet.status().ageSeconds ?? -1);
    },
  });
  new Gauge({
    name: 'switchboard_jwks_keys_usable',
    help: '1 while some JWKS key can verify a token (fetched, and within JWKS_MAX_STALE_SECONDS)',
    registers: [registry],
    collect() {
      this.set(keySet.status().state === 'unavailable' ? 0 : 1);
    },
  });
}
