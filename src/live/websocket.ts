import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type GraphQLSchema } from 'graphql';
import { handleProtocols, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { decodeJwt } from 'jose';
import { WebSocketServer, type WebSocket } from 'ws';
import { KeySourceUnavailableError } from '../auth/jwks';
import { InvalidTokenError, bearerToken, type Principal } from '../auth/tokens';
import type { Context } from '../graphql/context';
import type { Services } from '../server/services';
import type { LiveHub } from './hub';
import type { LiveMetrics } from './metrics';
import { prepareSubscription, subscriptionContext } from './operation';

/** Close codes a client can act on (docs/subscriptions.md). */
export const CLOSE = {
  /** No token, or it expired while the socket was open: get a fresh token and reconnect. */
  unauthorized: 4401,
  /** The token is not valid (signature, issuer, claims): a new connection with it will fail again. */
  forbidden: 4403,
  /** The client read too slowly: its events piled up past the limit. */
  slowConsumer: 4008,
  /** The key source (JWKS) is down: not the client's fault, retry later. */
  tryAgainLater: 1013,
  /** Shutdown (SIGTERM): reconnect, to another instance. */
  goingAway: 1001,
} as const;

/** What graphql-ws keeps per connection beyond its own state. */
interface ConnectionExtra {
  socket: WebSocket;
  request: IncomingMessage;
  principal?: Principal;
  expiryTimer?: NodeJS.Timeout;
  /** The Context of each subscription, by graphql-ws id, for delivery metrics. */
  contexts?: Map<string, LiveContext>;
}

type LiveContext = Context;

export interface LiveTransport {
  /** For the HTTP server's 'upgrade' event. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  connections(): number;
  /** Refuses new connections, then closes every socket with 1001 once its sends are out (or after graceMs). */
  drain(graceMs: number): Promise<void>;
}

/** The token from connection_init: `{ authorization: "Bearer …" }` (as the HTTP header) or `{ token: "…" }`. */
function tokenFrom(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  if (!params) return undefined;
  const authorization = params.authorization ?? params.Authorization;
  if (typeof authorization === 'string') return bearerToken(authorization);
  return typeof params.token === 'string' && params.token !== '' ? params.token : undefined;
}

function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  const reason = status === 404 ? 'Not Found' : status === 400 ? 'Bad Request' : 'Service Unavailable';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

const error = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

/**
 * GraphQL over WebSocket (graphql-ws, `graphql-transport-ws`) on the HTTP
 * server's /graphql path. Authentication is connection_init's token, checked
 * by the same verifier as HTTP; the organisation comes only from it, and the
 * socket closes 4401 when the token expires. Only subscriptions are served
 * here (queries and mutations stay on HTTP, with its caching and write
 * guarantees), after the same trusted-document, depth, cost and argument rules
 * as HTTP operations.
 */
export function createWebSocketTransport(options: {
  services: Services;
  hub: LiveHub;
  schema: GraphQLSchema;
  metrics: LiveMetrics;
  production: boolean;
}): LiveTransport {
  const { services, hub, schema, metrics, production } = options;
  const { config, logger } = services;
  const limits = config.live;
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.bodyLimitBytes, handleProtocols: (protocols) => handleProtocols(protocols) });
  let draining = false;

  const closeSocket = (socket: WebSocket, code: number, reason: string) => {
    if (socket.readyState === socket.OPEN || socket.readyState === socket.CONNECTING) socket.close(code, reason);
  };

  useServer<Record<string, unknown>, Partial<ConnectionExtra>>(
    {
      schema,
      connectionInitWaitTimeout: 10_000,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        let token: string | undefined;
        try {
          token = tokenFrom(ctx.connectionParams);
          if (!token) {
            closeSocket(socket, CLOSE.unauthorized, 'Unauthorized: connection_init needs { authorization: "Bearer <token>" }');
            return false;
          }
          ctx.extra.principal = await services.verifier.verify(token);
        } catch (failure) {
          if (failure instanceof InvalidTokenError) {
            const expired = failure.message === 'token has expired';
            closeSocket(socket, expired ? CLOSE.unauthorized : CLOSE.forbidden, `${expired ? 'Unauthorized' : 'Forbidden'}: ${failure.message}`);
          } else if (failure instanceof KeySourceUnavailableError) {
            closeSocket(socket, CLOSE.tryAgainLater, 'Try again later: token keys are unavailable');
          } else {
            logger.error({ err: failure }, 'live connection_init failed');
            closeSocket(socket, 1011, 'Internal server error');
          }
          return false;
        }
        // The token is verified: `exp` is present (a required claim). The socket lives no longer than the token.
        const { exp } = decodeJwt(token);
        const remainingMs = Math.min((exp ?? 0) * 1000 - Date.now(), 2 ** 31 - 1);
        ctx.extra.expiryTimer = setTimeout(() => closeSocket(socket, CLOSE.unauthorized, 'Unauthorized: token expired'), Math.max(0, remainingMs));
        ctx.extra.expiryTimer.unref();
        ctx.extra.contexts = new Map();
        return true;
      },
      onSubscribe: (ctx, id, payload: SubscribePayload & { documentId?: unknown }) => {
        const open = Object.values(ctx.subscriptions).length;
        // graphql-ws has already entered this id (as null) when onSubscribe runs.
        if (open > limits.maxSubscriptionsPerConnection) {
          return [error(`At most ${limits.maxSubscriptionsPerConnection} subscriptions per connection`, 'TOO_MANY_SUBSCRIPTIONS')];
        }
        return prepareSubscription(services, schema, production, payload);
      },
      context: (ctx, id) => {
        const principal = ctx.extra.principal;
        // onConnect refused the socket without one, so no operation reaches here without it.
        if (!principal) throw new Error('subscription context without a principal');
        const socket = ctx.extra.socket;
        const context = subscriptionContext(services, hub, principal, ctx.extra.request.headers, () =>
          closeSocket(socket, CLOSE.slowConsumer, 'Slow consumer: events were not read'),
        );
        ctx.extra.contexts?.set(id, context);
        metrics.subscriptionStarted();
        return context;
      },
      onNext: (ctx, id) => {
        const socket = ctx.extra.socket;
        const context = ctx.extra.contexts?.get(id);
        const receivedAt = context?.live?.eventReceivedAt;
        metrics.delivered(receivedAt === undefined ? undefined : performance.now() - receivedAt);
        if (socket.bufferedAmount > limits.maxBufferedBytes) closeSocket(socket, CLOSE.slowConsumer, 'Slow consumer: events were not read');
      },
      onComplete: (ctx, id) => {
        if (ctx.extra.contexts?.delete(id)) metrics.subscriptionEnded();
      },
      onClose: (ctx) => {
        clearTimeout(ctx.extra.expiryTimer);
        for (const _ of ctx.extra.contexts?.keys() ?? []) metrics.subscriptionEnded();
        ctx.extra.contexts?.clear();
      },
    },
    wss,
    limits.keepAliveMs,
  );

  wss.on('connection', (socket) => {
    metrics.connectionOpened();
    socket.once('close', () => metrics.connectionClosed());
  });

  return {
    handleUpgrade(request, socket, head) {
      const path = (request.url ?? '').split('?')[0];
      if (path !== '/graphql') {
        refuse(socket, 404, 'NOT_FOUND', 'Not found');
        return;
      }
      if (draining) {
        refuse(socket, 503, 'SHUTTING_DOWN', 'The server is shutting down');
        return;
      }
      if (wss.clients.size >= limits.maxConnections) {
        refuse(socket, 503, 'TOO_MANY_CONNECTIONS', `This server has ${limits.maxConnections} live connections open, the most allowed`);
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    },
    connections: () => wss.clients.size,
    async drain(graceMs) {
      draining = true;
      const sockets = [...wss.clients];
      // Sends in flight finish first (the close frame queues behind them); a socket that never completes the close handshake is cut at the grace.
      await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<void>((resolve) => {
              if (socket.readyState === socket.CLOSED) return resolve();
              const timer = setTimeout(() => {
                socket.terminate();
                resolve();
              }, graceMs);
              socket.once('close', () => {
                clearTimeout(timer);
                resolve();
              });
              closeSocket(socket, CLOSE.goingAway, 'Server shutting down');
            }),
        ),
      );
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
