import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { JwksKeySet, KeySourceUnavailableError } from './auth/jwks';
import { InvalidTokenError, bearerToken, createTokenVerifier } from './auth/tokens';
import { DEFAULT_JWKS_TIMING, type Config } from './config/config';
import type { Db } from './db/database';
import { poolOf } from './db/observe';
import { tenantScope } from './db/tenant';
import { withStatementLog, type OperationStatements } from './db/statementLog';
import { createApolloServer } from './graphql/apollo';
import type { Context } from './graphql/context';
import { authUnavailable, unauthenticated } from './graphql/errors';
import { handleGraphiql } from './http/graphiql';
import { isLoopbackAddress } from './http/loopback';
import { handleCors } from './http/cors';
import { handleGraphql } from './http/graphqlHandler';
import { serveRecording } from './http/recordings';
import { CALL_WEBHOOK_PATH, handleCallWebhook } from './http/webhooks';
import { sendGraphQLError, sendJson } from './http/respond';
import { createLoaders } from './loaders';
import type { Logger } from './logger';
import { checkReadiness, type Readiness } from './observability/health';
import { createMetrics } from './observability/metrics';
import { operationPlugin } from './observability/operationPlugin';
import { deadlineIn, withRequestContext } from './observability/requestContext';
import { logSlowStatements } from './observability/slowStatements';
import { createRecordingSigner, type RecordingSigner } from './recordings/signer';
import { loadPersistedSettings } from './persisted/settings';
import { createWebhookMetrics } from './webhooks/metrics';
import type { CacheClock } from './cache/keyValue';
import { responseCachePlugins } from './cache/responseCache';
import { CacheRuntime, registerCaches } from './cache/runtime';
import { registerCacheMetrics } from './observability/cacheMetrics';
import { registerJwksMetrics } from './observability/jwksMetrics';

export interface OperationReport {
  orgId: string | undefined;
  statements: OperationStatements;
}

export interface AppOptions {
  config: Config;
  db: Db;
  logger: Logger;
  /** Defaults to the signer the configuration selects. */
  signer?: RecordingSigner;
  /** Prefilled into GraphiQL's headers for loopback peers only (src/http/loopback.ts); development only. */
  devToken?: string;
  /** Called after every GraphQL operation with the SQL it ran (tests use it to assert the shape of the work). */
  onOperation?: (report: OperationReport) => void;
  /** The clock statistics take "today" from; tests pin it to stand on DST boundaries. */
  clock?: () => Date;
  /** The clock cache TTLs run on (monotonic ms); tests advance one instead of sleeping. */
  cacheClock?: CacheClock;
}

export interface App {
  server: http.Server;
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** True from the moment drain() starts: /health/ready answers 503 from then on. */
  isDraining(): boolean;
  /** What /health/ready answers. */
  readiness(): Promise<Readiness>;
  /**
   * Shutdown: readiness turns false, the listener closes (new connections are
   * refused), in-flight requests get up to graceMs (default SHUTDOWN_GRACE_MS)
   * to finish, then the remaining connections are cut. The pool is the caller's.
   */
  drain(graceMs?: number): Promise<void>;
  /** drain() with the configured grace. */
  close(): Promise<void>;
  /** Response, entity and APQ caches, and the LISTEN connection that invalidates them. */
  caches: CacheRuntime;
}

/** A readiness probe answers within this, even when the pool is stuck. */
const READINESS_TIMEOUT_MS = 2000;

/**
 * The whole HTTP surface: GraphQL, GraphiQL, recordings. A request flows one
 * way — HTTP → auth/context → resolvers → loaders → queries → PostgreSQL.
 */
export async function createApp(options: AppOptions): Promise<App> {
  const { config, db, logger } = options;
  const production = config.env === 'production';
  const signer = options.signer ?? createRecordingSigner(config.recordings);
  const persisted = await loadPersistedSettings(config.trustedDocuments);
  const keySet = config.auth.kind === 'jwks' ? jwksKeySet(config.auth, logger) : undefined;
  // Bounded by JWKS_TIMEOUT_MS: an unreachable endpoint delays the start that long, never more,
  // and leaves the key set retrying in the background.
  await keySet?.start();
  const verifier = createTokenVerifier(config.auth, keySet);
  const metrics = createMetrics(db);
  if (keySet) registerJwksMetrics(metrics.registry, keySet);
  const webhookMetrics = createWebhookMetrics(metrics.registry);
  const caches = new CacheRuntime(config.caches, db, logger, options.cacheClock);
  registerCaches(db, caches);
  registerCacheMetrics(metrics.registry, caches);
  await caches.start();
  const stopSlowLog = logSlowStatements(db, logger, config.slowStatementMs);
  // createPool already keeps an idle connection's death (database restart) from
  // crashing the process; this makes it visible.
  const pool = poolOf(db);
  const onPoolError = (error: Error) => logger.warn({ err: error }, 'idle database connection lost');
  pool?.on('error', onPoolError);
  const apollo = createApolloServer({
    production,
    logError: (error, { code, requestId }) =>
      code === 'INTERNAL_SERVER_ERROR'
        ? logger.error({ err: error, requestId }, 'internal error')
        : logger.warn({ err: error, requestId, code }, 'database error'),
    plugins: [...responseCachePlugins(caches), operationPlugin(metrics, logger)],
    cacheHints: config.caches.responseCache,
    queryLimits: config.queryLimits,
    defaultPageSize: config.defaultPageSize,
    maxPageSize: config.maxPageSize,
    automaticPersistedQueries: persisted.mode !== 'only',
    apqCache: caches.apqCache,
  });
  await apollo.start();
  let draining = false;
  let drained: Promise<void> | undefined;
  const checkReady = () =>
    checkReadiness(db, { draining, timeoutMs: READINESS_TIMEOUT_MS, ...(keySet ? { jwks: () => keySet.status().state } : {}) });

  async function buildContext(req: IncomingMessage, report: OperationReport): Promise<Context> {
    let principal;
    try {
      const token = bearerToken(req.headers.authorization);
      if (!token) throw unauthenticated();
      principal = await verifier.verify(token);
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      if (error instanceof InvalidTokenError) throw unauthenticated(`Invalid token: ${error.message}`);
      // The key source (JWKS) failed: not the caller's fault, so never a 401 that logs them out.
      // The key set logged the failed fetch once; a line per request would flood the log.
      if (error instanceof KeySourceUnavailableError) throw authUnavailable(error.retryAfterSeconds);
      // Anything else is a bug: Apollo masks it as INTERNAL_SERVER_ERROR and logError logs it.
      throw error;
    }
    report.orgId = principal.orgId;
    const now = options.clock?.() ?? new Date();
    const host = req.headers.host ?? `localhost:${config.port}`;
    const scope = tenantScope(db, principal.orgId);
    return {
      ...principal,
      scope,
      loaders: createLoaders(scope, { batch: config.batching }, now, caches.entities),
      signer,
      origin: `${req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http'}://${host}`,
      limits: { defaultPageSize: config.defaultPageSize, maxPageSize: config.maxPageSize },
      recordingUrlTtlSeconds: config.recordings.defaultExpiresInSeconds,
      now,
    };
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/graphql') {
      if (handleCors(req, res, config.corsOrigins)) return;
      await withStatementLog(options.onOperation !== undefined, async (statements) => {
        const report: OperationReport = { orgId: undefined, statements };
        await handleGraphql(req, res, url, {
          apollo,
          buildContext: (request) => buildContext(request, report),
          bodyLimitBytes: config.bodyLimitBytes,
          persisted,
        });
        options.onOperation?.(report);
      });
      return;
    }
    const webhook = CALL_WEBHOOK_PATH.exec(url.pathname);
    if (webhook) {
      return handleCallWebhook(req, res, safeDecode(webhook[1] ?? ''), {
        db,
        logger,
        metrics: webhookMetrics,
        bodyLimitBytes: config.bodyLimitBytes,
        toleranceSeconds: config.webhookToleranceSeconds,
      });
    }
    if (url.pathname.startsWith('/recordings/') && config.recordings.kind === 'local') {
      return serveRecording(req, res, url, config.recordings);
    }
    if (url.pathname === '/health/live') return sendJson(res, 200, { status: 'ok' });
    if (url.pathname === '/health/ready') {
      const readiness = await checkReady();
      return sendJson(res, readiness.ready ? 200 : 503, readiness.body);
    }
    if (url.pathname === '/metrics') {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
      res.end(text);
      return;
    }
    // The dev token is an admin's: only a browser on this machine gets it prefilled.
    const devToken = options.devToken && isLoopbackAddress(req.socket.remoteAddress) ? options.devToken : undefined;
    if (!production && handleGraphiql(req, res, { endpoint: '/graphql', ...(devToken ? { devToken } : {}) })) {
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(302, { location: production ? '/graphql' : '/graphiql' });
      res.end();
      return;
    }
    sendJson(res, 404, { error: 'not found' });
  }

  let inFlight = 0;
  let allFinished: (() => void) | undefined;
  const server = http.createServer((req, res) => {
    // The request's budget starts on arrival: body, pool waits and statements all count.
    const deadline = deadlineIn(config.requestTimeoutMs);
    const requestId = randomUUID();
    res.setHeader('x-request-id', requestId);
    inFlight += 1;
    metrics.requestStarted();
    res.once('close', () => {
      inFlight -= 1;
      metrics.requestFinished();
      if (inFlight === 0) allFinished?.();
    });
    if (draining) {
      // A request on a connection kept alive from before shutdown: send the client elsewhere.
      res.setHeader('connection', 'close');
      if (!pathOf(req).startsWith('/health/')) {
        return sendGraphQLError(res, 503, 'SHUTTING_DOWN', 'The server is shutting down');
      }
    }
    withRequestContext({ requestId, deadline }, () => route(req, res)).catch((error: unknown) => {
      logger.error({ err: error, requestId }, 'unhandled request error');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } }] });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve(server.address() as AddressInfo));
      }),
    isDraining: () => draining,
    readiness: checkReady,
    drain,
    close: () => drain(),
    caches,
  };

  async function drain(graceMs = config.shutdownGraceMs): Promise<void> {
    if (drained) return drained;
    draining = true;
    drained = (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const finished = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (allFinished = resolve));
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace over'>((resolve) => (timer = setTimeout(() => resolve('grace over'), graceMs)));
      const outcome = await Promise.race([finished, graceOver]);
      clearTimeout(timer);
      if (outcome === 'grace over') logger.warn({ inFlight, graceMs }, 'shutdown grace over; closing remaining connections');
      server.closeAllConnections();
      await closed;
      await apollo.stop();
      await caches.close();
      keySet?.close();
      metrics.close();
      stopSlowLog();
      pool?.off('error', onPoolError);
    })();
    return drained;
  }
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

/** A malformed escape names no organisation (and is answered like any unknown one). */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://localhost').pathname;
}
