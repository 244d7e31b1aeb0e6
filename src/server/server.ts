import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, {
  LogController,
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from '../logger';
import { lazyChildLogger } from './requestLogger';
import { responseCachePlugins } from '../cache/responseCache';
import { checkReadiness, type Readiness } from '../observability/health';
import { operationPlugin } from '../observability/operationPlugin';
import { deadlineIn } from '../observability/requestContext';
import { createApolloServer } from './apollo';
import { readRoutingPlugin } from './readRouting';
import { HttpError, errorBody, fromFrameworkError, sendError, sendGraphQLError } from './errors';
import { graphiqlRoutes } from './routes/graphiql';
import { graphqlRoutes } from './routes/graphql';
import { healthRoutes } from './routes/health';
import { exportRoutes } from './routes/exports';
import { recordingRoutes } from './routes/recordings';
import { webhookRoutes } from './routes/webhooks';
import type { Services } from './services';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { Context } from '../graphql/context';
import { typeDefs } from '../graphql/typeDefs';
import { createLiveMetrics } from '../live/metrics';
import { createWebSocketTransport } from '../live/websocket';
import { sseRoutes } from '../live/sse';
import { resolvers } from '../resolvers';

declare module 'fastify' {
  interface FastifyRequest {
    /** When this request's budget (REQUEST_TIMEOUT_MS from arrival) runs out; see src/observability/requestContext.ts. */
    deadline: number;
  }
}

export interface Server {
  fastify: FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, Logger>;
  listen(port: number, host?: string): Promise<AddressInfo>;
  /** True from the moment drain() starts: /health/ready answers 503 from then on. */
  isDraining(): boolean;
  /** What /health/ready answers. */
  readiness(): Promise<Readiness>;
  /**
   * Shutdown: readiness turns false, the listener closes (new connections are
   * refused), in-flight requests get up to graceMs (default SHUTDOWN_GRACE_MS)
   * to finish, then the remaining connections are cut. The services (pool,
   * caches) are the caller's to close afterwards.
   */
  drain(graceMs?: number): Promise<void>;
  /** drain() with the configured grace. */
  close(): Promise<void>;
}

const WEBHOOK_PREFIX = '/webhooks/calls/';

function decodes(url: string): boolean {
  try {
    decodeURIComponent(url);
    return true;
  } catch {
    return false;
  }
}

/** A readiness probe answers within this, even when the pool is stuck. */
const READINESS_TIMEOUT_MS = 2000;

/**
 * The whole HTTP surface on Fastify: GraphQL, GraphiQL (development),
 * recordings, webhooks, health and metrics, one route module each. A request
 * flows one way: HTTP → auth/context → resolvers → loaders → queries → PostgreSQL.
 * One logger (the app's pino, as Fastify's) and one request id (Fastify's,
 * sent as x-request-id and carried by every log line and masked error).
 */
export async function createServer(services: Services): Promise<Server> {
  const { config, logger, metrics, caches } = services;
  const production = config.env === 'production';

  const apollo = createApolloServer({
    production,
    logError: (error, { code, requestId }) =>
      code === 'INTERNAL_SERVER_ERROR'
        ? logger.error({ err: error, requestId }, 'internal error')
        : logger.warn({ err: error, requestId, code }, 'database error'),
    plugins: [
      ...(services.replicas.configured ? [readRoutingPlugin(services, services.replicas)] : []),
      ...responseCachePlugins(caches),
      operationPlugin(metrics, logger),
    ],
    cacheHints: config.caches.responseCache,
    queryLimits: config.queryLimits,
    defaultPageSize: config.defaultPageSize,
    maxPageSize: config.maxPageSize,
    automaticPersistedQueries: services.persisted.mode !== 'only',
    apqCache: caches.apqCache,
  });
  await apollo.start();

  const fastify = Fastify({
    loggerInstance: logger,
    // One line per GraphQL operation comes from operationPlugin; a line per HTTP request would double it.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: () => randomUUID(),
    childLoggerFactory: lazyChildLogger,
    // Never taken from the client: the id names our log lines.
    requestIdHeader: false,
    // Recording keys and webhook slugs arrive as wildcard parameters; find-my-way's default cap (100) is a route's, not ours.
    routerOptions: { maxParamLength: 2048 },
    // A webhook slug whose escapes do not decode names no organisation: answered exactly like an
    // unknown one (401 after the signature checks), not refused as a bad URL before the route runs.
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      return url.startsWith(WEBHOOK_PREFIX) && !decodes(url) ? WEBHOOK_PREFIX : url;
    },
    bodyLimit: config.bodyLimitBytes,
    keepAliveTimeout: 5000,
    requestTimeout: 30_000,
    // Draining answers are ours (below): the one error shape, and health still served.
    return503OnClosing: false,
    // A URL Fastify cannot route (a malformed escape) is the client's fault, in the one error shape.
    frameworkErrors: (error, request, reply) => {
      const known = fromFrameworkError(error, config.bodyLimitBytes) ?? new HttpError(400, 'BAD_REQUEST', 'The request could not be read');
      void sendError(reply, known.status, errorBody(known.code, known.message));
    },
    clientErrorHandler: (error, socket) => {
      if ((error as { code?: unknown }).code === 'ECONNRESET' || !socket.writable) return socket.destroy();
      const status = (error as { code?: unknown }).code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const body = JSON.stringify(errorBody('BAD_REQUEST', status === 431 ? 'Request headers are too large' : 'The request could not be read'));
      socket.end(
        `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
          `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    },
  });
  fastify.server.headersTimeout = 10_000;

  let draining = false;
  let drained: Promise<void> | undefined;
  let inFlight = 0;
  let allFinished: (() => void) | undefined;
  const requestClosed = () => {
    inFlight -= 1;
    metrics.requestFinished();
    if (inFlight === 0) allFinished?.();
  };
  const { keySet } = services;
  const readiness = () =>
    checkReadiness(services.database.db, {
      draining,
      timeoutMs: READINESS_TIMEOUT_MS,
      ...(keySet ? { jwks: () => keySet.status().state } : {}),
      ...(caches.listener ? { caches: () => (caches.trusted() ? 'ok' : 'bypassed') } : {}),
      ...(services.provider.api ? { provider: () => (services.provider.readiness() === 'degraded' ? 'degraded' : 'ok') } : {}),
    });

  fastify.decorateRequest('deadline', 0);
  fastify.addHook('onRequest', (request, reply, done) => {
    // The request's budget starts on arrival: body, pool waits and statements all count.
    request.deadline = deadlineIn(config.requestTimeoutMs);
    reply.header('x-request-id', request.id);
    inFlight += 1;
    metrics.requestStarted();
    reply.raw.once('close', requestClosed);
    if (!draining) return done();
    // A request on a connection kept alive from before shutdown: send the client elsewhere.
    reply.header('connection', 'close');
    const route = request.routeOptions.url ?? '';
    if (route.startsWith('/health/')) return done();
    if (route === '/graphql') void sendGraphQLError(reply, 503, 'SHUTTING_DOWN', 'The server is shutting down');
    else void sendError(reply, 503, errorBody('SHUTTING_DOWN', 'The server is shutting down'));
  });

  fastify.setErrorHandler((error, request, reply) => {
    const known = error instanceof HttpError ? error : fromFrameworkError(error, config.bodyLimitBytes);
    if (known) return sendError(reply, known.status, errorBody(known.code, known.message), known.headers);
    logger.error({ err: error, requestId: request.id }, 'unhandled request error');
    return sendError(reply, 500, errorBody('INTERNAL_SERVER_ERROR', 'Internal server error', { requestId: request.id }));
  });
  fastify.setNotFoundHandler((_request, reply) => sendError(reply, 404, errorBody('NOT_FOUND', 'Not found')));

  await fastify.register(graphqlRoutes, { prefix: '/graphql', services, apollo });
  await fastify.register(webhookRoutes, {
    db: services.database.db,
    logger,
    metrics: services.webhookMetrics,
    bodyLimitBytes: config.bodyLimitBytes,
    toleranceSeconds: config.webhookToleranceSeconds,
  });
  if (config.recordings.kind === 'local') await fastify.register(recordingRoutes, { dir: config.recordings.dir, secret: config.recordings.secret });
  await fastify.register(exportRoutes, { services });
  await fastify.register(healthRoutes, { readiness, metrics });
  if (!production) await fastify.register(graphiqlRoutes, { endpoint: '/graphql', devToken: services.hooks.devToken });
  fastify.get('/', async (_request, reply) => reply.redirect(production ? '/graphql' : '/graphiql', 302));

  // Subscriptions (src/live): GraphQL over WebSocket on the same /graphql path, and over SSE at /graphql/stream.
  const liveOptions = {
    services,
    hub: services.live,
    schema: makeExecutableSchema<Context>({ typeDefs, resolvers }),
    metrics: createLiveMetrics(metrics.registry),
    production,
  };
  const streams = await sseRoutes(fastify, liveOptions);
  await fastify.ready();
  const live = createWebSocketTransport(liveOptions);
  // Fastify does not route upgrades; the HTTP server hands them over here.
  fastify.server.on('upgrade', (request, socket, head) => live.handleUpgrade(request, socket, head));

  async function drain(graceMs = config.shutdownGraceMs): Promise<void> {
    if (drained) return drained;
    draining = true;
    drained = (async () => {
      // Stops listening and closes idle connections; resolves once every connection has ended.
      const closed = fastify.close();
      // WebSockets are upgraded connections the HTTP server no longer tracks: closed with 1001 here.
      const liveClosed = live.drain(graceMs);
      streams.drain();
      const finished = inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (allFinished = resolve));
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<'grace over'>((resolve) => (timer = setTimeout(() => resolve('grace over'), graceMs)));
      const outcome = await Promise.race([finished, graceOver]);
      clearTimeout(timer);
      if (outcome === 'grace over') logger.warn({ inFlight, graceMs }, 'shutdown grace over; closing remaining connections');
      // Kept-alive connections that were busy when the listener closed, and anything past the grace.
      fastify.server.closeAllConnections();
      await liveClosed;
      await closed;
      await apollo.stop();
    })();
    return drained;
  }

  return {
    fastify,
    async listen(port, host) {
      await fastify.listen({ port, ...(host ? { host } : {}) });
      return fastify.server.address() as AddressInfo;
    },
    isDraining: () => draining,
    readiness,
    drain,
    close: () => drain(),
  };
}
