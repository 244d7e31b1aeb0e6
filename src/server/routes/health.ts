import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../observability/metrics';
import type { Readiness } from '../../observability/health';
import { errorBody, sendError } from '../errors';
import { refuseOtherMethods } from './methods';

/**
 * Operations: GET /health/live (the process is up), GET /health/ready (the
 * database answers, migrations are current, not draining, and with JWKS_URL a
 * key can verify a token), GET /metrics (Prometheus). Served while draining
 * too: a probe must see the instance go unready, not disappear.
 */
export async function healthRoutes(fastify: FastifyInstance, options: { readiness: () => Promise<Readiness>; metrics: Metrics }): Promise<void> {
  fastify.get('/health/live', async (_request, reply) => reply.header('cache-control', 'no-store').send({ status: 'ok' }));

  fastify.get('/health/ready', async (_request, reply) => {
    const readiness = await options.readiness();
    if (readiness.ready) return reply.header('cache-control', 'no-store').send(readiness.body);
    // The one error shape, with what failed beside it.
    return sendError(reply, 503, { ...errorBody('NOT_READY', 'The server is not ready to serve requests'), ...readiness.body });
  });

  fastify.get('/metrics', async (_request, reply) => {
    const text = await options.metrics.registry.metrics();
    return reply.headers({ 'content-type': options.metrics.registry.contentType, 'cache-control': 'no-store' }).send(text);
  });

  for (const url of ['/health/live', '/health/ready', '/metrics']) refuseOtherMethods(fastify, url, ['GET', 'HEAD']);
}
