import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { JwksKeySet } from '../auth/jwks';
import { createTokenVerifier, type TokenVerifier } from '../auth/tokens';
import type { CacheClock } from '../cache/keyValue';
import { CACHE_ERROR_LOG_INTERVAL_MS, CacheRuntime } from '../cache/runtime';
import { InvalidationListener } from '../cache/listener';
import { DEFAULT_JWKS_TIMING, type Config } from '../config/config';
import { openDatabase, poolOptionsFor, type DatabaseHandle } from '../db/database';
import { ReplicaRouter } from '../db/replicas';
import { observeTenantCommits } from '../db/tenant';
import { registerReplicaMetrics } from '../observability/replicaMetrics';
import type { OperationStatements } from '../db/statementLog';
import type { Logger } from '../logger';
import { registerCacheMetrics } from '../observability/cacheMetrics';
import { registerJwksMetrics } from '../observability/jwksMetrics';
import { createMetrics, type Metrics } from '../observability/metrics';
import { logSlowStatements } from '../observability/slowStatements';
import { loadPersistedSettings } from '../persisted/settings';
import type { PersistedSettings } from '../persisted/resolve';
import { createRecordingSigner, type RecordingSigner } from '../recordings/signer';
import { createWebhookMetrics, type WebhookMetrics } from '../webhooks/metrics';
import { ProviderService } from '../provider/service';
import { LiveHub } from '../live/hub';

export interface OperationReport {
  orgId: string | undefined;
  statements: OperationStatements;
}

export interface ServiceOptions {
  /** An open database (start opens it first to migrate and seed); otherwise opened from config.databaseUrl. Owned by the services from here on. */
  database?: DatabaseHandle;
  /** Defaults to the signer the configuration selects. */
  signer?: RecordingSigner;
  /** Prefilled into GraphiQL's headers for loopback peers only (src/server/loopback.ts); development only. */
  devToken?: string;
  /** Called after every GraphQL operation with the SQL it ran (tests use it to assert the shape of the work). */
  onOperation?: (report: OperationReport) => void;
  /** The clock statistics take "today" from; tests pin it to stand on DST boundaries. */
  clock?: () => Date;
  /** The clock cache TTLs run on (monotonic ms); tests advance one instead of sleeping. */
  cacheClock?: CacheClock;
}

/**
 * Everything the server is built from, made once at start and passed down
 * explicitly: nothing is looked up by handle. The HTTP front
 * (src/server/server.ts) reads it; `close` releases what it holds, after the
 * front has drained.
 */
export interface Services {
  config: Config;
  logger: Logger;
  /** The pool, the Kysely instance over it, and its statement hook. */
  database: DatabaseHandle;
  /** DATABASE_READ_URL's replicas and which one a query of an organisation may read; `configured` false without any. */
  replicas: ReplicaRouter;
  /** Response, entity and APQ caches; `caches.listener` is the instance's one LISTEN connection when a cache needs it. */
  caches: CacheRuntime;
  metrics: Metrics;
  webhookMetrics: WebhookMetrics;
  signer: RecordingSigner;
  verifier: TokenVerifier;
  /** With JWKS_URL: the identity provider's keys, held in memory. */
  keySet: JwksKeySet | undefined;
  persisted: PersistedSettings;
  /** The voice provider's API (src/provider): gateway, cache, metrics; fields resolve to null without PROVIDER_URL. */
  provider: ProviderService;
  /** Subscriptions and their subscribers (src/live), fed by the same LISTEN connection as the caches. */
  live: LiveHub;
  /** Test and development hooks (see ServiceOptions). */
  hooks: Pick<ServiceOptions, 'devToken' | 'onOperation' | 'clock'>;
  /** Stops the caches' listener, the key set's refresh and the observers, then ends the pool. */
  close(): Promise<void>;
}

export async function createServices(config: Config, logger: Logger, options: ServiceOptions = {}): Promise<Services> {
  const database = options.database ?? openDatabase(poolOptionsFor(config, requireUrl(config)));
  const persisted = await loadPersistedSettings(config.trustedDocuments);
  const keySet = config.auth.kind === 'jwks' ? jwksKeySet(config.auth, logger) : undefined;
  // Bounded by JWKS_TIMEOUT_MS: an unreachable endpoint delays the start that long, never more,
  // and leaves the key set retrying in the background.
  await keySet?.start();
  const verifier = createTokenVerifier(config.auth, keySet);
  const metrics = createMetrics(database);
  if (keySet) registerJwksMetrics(metrics.registry, keySet);
  const webhookMetrics = createWebhookMetrics(metrics.registry);
  const provider = new ProviderService(config.provider, metrics.registry, options.cacheClock);
  const replicas = new ReplicaRouter(
    database.db,
    config.replicas.urls.map((url, index) => ({
      name: String(index),
      handle: openDatabase({ ...poolOptionsFor(config, url), applicationName: 'switchboard-replica' }),
    })),
    config.replicas,
  );
  const stopObservingCommits = replicas.configured ? observeTenantCommits(database.db, (orgId) => replicas.recordWrite(orgId)) : () => {};
  if (replicas.configured) registerReplicaMetrics(metrics.registry, replicas);
  // Bounded: each poll waits at most max(REPLICA_POLL_MS, 1 s); a dead replica starts out left out.
  await replicas.start();
  // LISTEN needs a session: DATABASE_DIRECT_URL when it differs from the (possibly pooled) DATABASE_URL.
  const listenUrl = config.databaseDirectUrl !== config.databaseUrl ? config.databaseDirectUrl : undefined;
  // ONE LISTEN connection per instance, heard by the caches and live subscriptions alike: opened at start
  // when a cache needs it, else by the first subscription (an instance with neither holds none).
  const listener = new InvalidationListener(
    {
      ...(database.pool.options as pg.ClientConfig),
      ...(listenUrl ? { connectionString: listenUrl } : {}),
      // The pool's name first, so an instance's listener is found next to its pool in pg_stat_activity.
      application_name: `${database.pool.options.application_name ?? 'switchboard'}-listener-${randomUUID().slice(0, 8)}`,
    },
    {
      backoffMs: config.caches.listenerBackoffMs,
      backoffMaxMs: config.caches.listenerBackoffMaxMs,
      pingMs: config.caches.listenerPingMs,
      probeTimeoutMs: config.caches.listenerProbeTimeoutMs,
      // Another session than the listener's own: see ListenerOptions.sendProbe.
      sendProbe: (channel, payload) => database.pool.query('select pg_notify($1, $2)', [channel, payload]),
      logger,
      logIntervalMs: CACHE_ERROR_LOG_INTERVAL_MS,
      ...(options.cacheClock ? { clock: options.cacheClock } : {}),
    },
  );
  const caches = new CacheRuntime(config.caches, listener, logger, options.cacheClock);
  registerCacheMetrics(metrics.registry, caches);
  await caches.start();
  const live = new LiveHub({
    db: database.db,
    listener,
    entities: caches.entities,
    batching: config.batching,
    maxSubscriptionsPerOrg: config.live.maxSubscriptionsPerOrg,
    figuresIntervalMs: config.live.figuresIntervalMs,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const stopSlowLog = logSlowStatements(database, logger, config.slowStatementMs);
  // createPool already keeps an idle connection's death (database restart) from
  // crashing the process; this makes it visible.
  const onPoolError = (error: Error) => logger.warn({ err: error }, 'idle database connection lost');
  database.pool.on('error', onPoolError);

  let closed: Promise<void> | undefined;
  return {
    config,
    logger,
    database,
    replicas,
    caches,
    metrics,
    webhookMetrics,
    signer: options.signer ?? createRecordingSigner(config.recordings),
    verifier,
    keySet,
    persisted,
    provider,
    live,
    hooks: {
      ...(options.devToken !== undefined ? { devToken: options.devToken } : {}),
      ...(options.onOperation ? { onOperation: options.onOperation } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
    },
    close() {
      closed ??= (async () => {
        await live.close();
        await caches.close();
        await listener.stop();
        await provider.close();
        stopObservingCommits();
        await replicas.close();
        keySet?.close();
        metrics.close();
        stopSlowLog();
        database.pool.off('error', onPoolError);
        await database.close();
      })();
      return closed;
    },
  };
}

function requireUrl(config: Config): string {
  if (!config.databaseUrl) throw new Error('createServices needs an open database or DATABASE_URL');
  return config.databaseUrl;
}

function jwksKeySet(auth: Extract<Config['auth'], { kind: 'jwks' }>, logger: Logger): JwksKeySet {
  const timing = {
    timeoutMs: auth.timeoutMs ?? DEFAULT_JWKS_TIMING.timeoutMs,
    refreshIntervalMs: auth.refreshIntervalMs ?? DEFAULT_JWKS_TIMING.refreshIntervalMs,
    maxStaleMs: auth.maxStaleMs ?? DEFAULT_JWKS_TIMING.maxStaleMs,
    cooldownMs: auth.cooldownMs ?? DEFAULT_JWKS_TIMING.cooldownMs,
  };
  return new JwksKeySet(new URL(auth.jwksUrl), timing, logger);
}
