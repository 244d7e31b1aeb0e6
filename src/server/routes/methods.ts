import type { FastifyInstance, HTTPMethods } from 'fastify';
import { HttpError } from '../errors';

const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * A 405 (with `allow`) for every other method on a path that exists, rather
 * than the 404 an unrouted method would get. Thrown, so the surface's own
 * error handler renders it in that surface's shape.
 */
export function refuseOtherMethods(fastify: FastifyInstance, url: string, allowed: HTTPMethods[]): void {
  const others = METHODS.filter((method) => !allowed.includes(method));
  const allow = allowed.join(', ');
  fastify.route({
    method: others,
    url,
    exposeHeadRoute: false,
    handler: async () => {
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `Use ${allowed.filter((m) => m !== 'HEAD' && m !== 'OPTIONS').join(' or ')}`, { allow });
    },
  });
}
