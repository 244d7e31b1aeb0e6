import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GraphQLSchema } from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/fastify';
import { decodeJwt } from 'jose';
import { KeySourceUnavailableError } from '../auth/jwks';
import { InvalidTokenError, bearerToken, type Principal } from '../auth/tokens';
import type { Context } from '../graphql/context';
import type { Server } from '../server/server';
import type { Services } from '../server/services';
import type { LiveHub } from './hub';
import type { LiveMetrics } from './metrics';
import { prepareSubscription, subscriptionContext } from './operation';

export const SSE_PATH = '/graphql/stream';

type SseResponse = readonly [body: string, init: { status: number; statusText: string; headers: Record<string, string> }];

const refusal = (status: number, statusText: string, code: string, message: string): SseResponse => [
  JSON.stringify({ errors: [{ message, extensions: { code } }] }),
  { status, statusText, headers: { 'content-type': 'application/json; charset=utf-8' } },
];

export interface SseTransport {
  connections(): number;
  /** Ends every open stream (the client reconnects, to another instance). */
  drain(): void;
}

/**
 * GraphQL over Server-Sent Events (graphql-sse, "distinct connections" mode:
 * one subscription per request) at /graphql/stream, for clients that cannot
 * use WebSockets. The same subscriptions, checks and limits as the WebSocket
 * transport; the token is the request's Authorization header, and the stream
 * ends when it expires.
 */
export async function sseRoutes(
  fastify: Server['fastify'],
  options: { services: Services; hub: LiveHub; schema: GraphQLSchema; metrics: LiveMetrics; production: boolean },
): Promise<SseTransport> {
  const { services, hub, schema, metrics, production } = options;
  const limits = services.config.live;
  const open = new Set<ServerResponse>();

  // graphql-sse wants an indexable context type; ours is a closed interface.
  type SseContext = Context & Record<PropertyKey, unknown>;
  const handler = createHandler<SseContext>({
    schema,
    onSubscribe: async (request, params) => {
      const raw = request.raw;
      const reply = request.context.reply;
      let principal: Principal;
      let token: string | undefined;
      try {
        token = bearerToken(raw.headers.authorization);
        if (!token) return refusal(401, 'Unauthorized', 'UNAUTHENTICATED', 'A valid bearer token is required');
        principal = await services.verifier.verify(token);
      } catch (failure) {
        if (failure instanceof InvalidTokenError) return refusal(401, 'Unauthorized', 'UNAUTHENTICATED', `Invalid token: ${failure.message}`);
        if (failure instanceof KeySourceUnavailableError)
          return refusal(503, 'Service Unavailable', 'AUTH_UNAVAILABLE', 'Token keys are unavailable');
        throw failure;
      }
      const prepared = prepareSubscription(services, schema, production, params);
      if (Array.isArray(prepared)) {
        return [
          JSON.stringify({ errors: prepared }),
          { status: 400, statusText: 'Bad Request', headers: { 'content-type': 'application/json; charset=utf-8' } },
        ];
      }
      // The stream lasts no longer than the token.
      const { exp } = decodeJwt(token);
      const timer = setTimeout(() => reply.raw.end(), Math.max(0, Math.min((exp ?? 0) * 1000 - Date.now(), 2 ** 31 - 1)));
      timer.unref();
      reply.raw.once('close', () => clearTimeout(timer));
      const contextValue = subscriptionContext(services, hub, principal, raw.headers, () => reply.raw.destroy()) as SseContext;
      metrics.subscriptionStarted();
      reply.raw.once('close', () => metrics.subscriptionEnded());
      return { ...(prepared as Exclude<typeof prepared, readonly unknown[]>), contextValue };
    },
    onNext: (ctx) => {
      const receivedAt = ctx.live?.eventReceivedAt;
      metrics.delivered(receivedAt === undefined ? undefined : performance.now() - receivedAt);
    },
  });

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    if (open.size >= limits.maxConnections) {
      return reply.code(503).send({
        errors: [
          { message: `This server has ${limits.maxConnections} live streams open, the most allowed`, extensions: { code: 'TOO_MANY_CONNECTIONS' } },
        ],
      });
    }
    // graphql-sse writes the raw response itself, for as long as the subscription lasts.
    reply.hijack();
    open.add(reply.raw);
    metrics.connectionOpened();
    reply.raw.once('close', () => {
      open.delete(reply.raw);
      metrics.connectionClosed();
    });
    try {
      await handler(request, reply);
    } catch (failure) {
      services.logger.error({ err: failure, requestId: request.id }, 'live stream failed');
      if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
      reply.raw.end();
    }
  };
  fastify.route({ method: ['GET', 'POST'], url: SSE_PATH, handler: serve });

  return {
    connections: () => open.size,
    drain() {
      for (const response of open) response.end();
    },
  };
}
