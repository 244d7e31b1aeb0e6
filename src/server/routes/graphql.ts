import type { ApolloServer } from '@apollo/server';
import { fastifyApolloHandler } from '@as-integrations/fastify';
import fastifyCors, { type FastifyCorsOptions } from '@fastify/cors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { newStatementLog } from '../../db/statementLog';
import { tagErrorWithRequest } from '../../observability/requestContext';
import type { Context } from '../../graphql/context';
import { buildContext } from '../context';
import { HttpError, fromFrameworkError, sendGraphQLError } from '../errors';
import { rewritePersistedRequest } from '../persistedRequest';
import type { OperationReport, Services } from '../services';
import { refuseOtherMethods } from './methods';

declare module 'fastify' {
  interface FastifyRequest {
    /** The GraphQL operation being served at /graphql: its organisation and statements (onOperation). */
    operation: OperationReport | undefined;
  }
}

// What a browser client of /graphql sends: the bearer token, JSON, and the
// headers Apollo Client adds (the preflight one is what CSRF prevention wants).
const ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'accept',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
].join(', ');

/**
 * CORS for /graphql. With CORS_ORIGINS: an allowed origin is echoed back and
 * may send credentials; `*` lets any origin in, never with credentials. Without
 * it, development and test allow loopback origins on any port (`http://localhost:*`,
 * `http://127.0.0.1:*`: a Vite or Next dev server next to `npm run dev`) and
 * production allows none. Any other origin gets no CORS headers, so the browser
 * blocks the response. Always `Vary: Origin` (the options differ per origin).
 */
function corsOptions(allowedOrigins: readonly string[], loopback: boolean): FastifyCorsOptions {
  const common = {
    exposedHeaders: 'x-request-id',
    methods: 'GET, POST, OPTIONS',
    allowedHeaders: ALLOWED_HEADERS,
    maxAge: 600,
    strictPreflight: false,
  };
  const explicit = { ...common, origin: true, credentials: true };
  const wildcard = { ...common, origin: '*', credentials: false };
  const denied = { origin: false };
  const anyOrigin = allowedOrigins.includes('*');
  return {
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      if (origin === undefined) return callback(null, denied);
      if (allowedOrigins.includes(origin) || (loopback && isLoopbackOrigin(origin))) return callback(null, explicit);
      callback(null, anyOrigin ? wildcard : denied);
    },
  };
}

// The exact form browsers send: lower-case host, no path, a port only when not the default.
const LOOPBACK_ORIGIN = /^http:\/\/(?:localhost|127\.0\.0\.1)(?::[1-9][0-9]{0,4})?$/;

function isLoopbackOrigin(origin: string): boolean {
  return LOOPBACK_ORIGIN.test(origin);
}

/**
 * JSON only. Parsed with JSON.parse as it comes; Apollo validates the shape.
 * A missing body or content type is refused in the handler.
 */
function parseJson(_request: FastifyRequest, body: string, done: (error: Error | null, value?: unknown) => void): void {
  try {
    done(null, JSON.parse(body));
  } catch {
    done(new HttpError(400, 'BAD_REQUEST', 'Request body is not valid JSON'));
  }
}

/**
 * /graphql (registered under that prefix, so CORS and its preflight stay
 * here): persisted ids resolved first, then Apollo through its Fastify
 * integration. Every answer, refusals included, is GraphQL-shaped.
 */
export async function graphqlRoutes(fastify: FastifyInstance, options: { services: Services; apollo: ApolloServer<Context> }): Promise<void> {
  const { services, apollo } = options;
  const { config, persisted } = services;
  const { onOperation } = services.hooks;
  const keepStatements = onOperation !== undefined;

  fastify.decorateRequest('operation', undefined);
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(['application/json', 'application/graphql-response+json'], { parseAs: 'string' }, parseJson);
  // Production stays closed until CORS_ORIGINS names someone; elsewhere a local front end works out of the box.
  const loopback = config.corsOrigins.length === 0 && config.env !== 'production';
  if (config.corsOrigins.length > 0 || loopback) await fastify.register(fastifyCors, corsOptions(config.corsOrigins, loopback));

  fastify.setErrorHandler((error, request, reply) => {
    const known = error instanceof HttpError ? error : fromFrameworkError(error, config.bodyLimitBytes);
    if (known) {
      // GraphQL over HTTP keeps its own codes: a body it cannot read is BAD_REQUEST, whatever the reason.
      const code = known.status === 415 ? 'BAD_REQUEST' : known.code;
      return sendGraphQLError(reply, known.status, code, known.message, known.headers);
    }
    // The integration builds a URL from the Host header: one that cannot be part of a URL is the client's.
    if ((error as { code?: unknown }).code === 'ERR_INVALID_URL') return sendGraphQLError(reply, 400, 'BAD_REQUEST', 'The Host header is not valid');
    services.logger.error({ err: error, requestId: request.id }, 'unhandled request error');
    return sendGraphQLError(reply, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error', {}, { requestId: request.id });
  });

  // Its declared Reply type is `string`; the routes here use Fastify's defaults.
  const apolloHandler = fastifyApolloHandler<Context>(apollo, {
    context: async (request) => {
      // Set by `handle` before Apollo runs.
      const report = request.operation;
      if (!report) throw new Error('GraphQL context built outside the /graphql handler');
      try {
        return await buildContext(services, request, report);
      } catch (error) {
        // Apollo reports a failed context without the request: the error carries its id to the log line.
        tagErrorWithRequest(error, request.id);
        throw error;
      }
    },
  }) as unknown as (this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method === 'POST' && request.body === undefined) {
      // No Content-Type at all: Fastify hands over no body rather than refusing it.
      throw new HttpError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
    }
    const report: OperationReport = { orgId: undefined, statements: newStatementLog(keepStatements) };
    request.operation = report;
    const body = await execute(request, reply);
    onOperation?.(report);
    return body;
  };

  const execute = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const queryAt = request.url.indexOf('?');
    const search = queryAt === -1 ? '' : request.url.slice(queryAt);
    const rewrite = rewritePersistedRequest(request.method, request.body, search, persisted);
    if (rewrite.kind === 'reject') return sendGraphQLError(reply, rewrite.status, rewrite.code, rewrite.message);
    request.body = rewrite.body;
    // The integration reads the search from the URL: a resolved GET goes to Apollo rewritten.
    if (rewrite.search !== search) request.raw.url = `${queryAt === -1 ? request.url : request.url.slice(0, queryAt)}${rewrite.search}`;
    return apolloHandler.call(fastify, request, reply);
  };

  fastify.route({ method: ['GET', 'POST'], url: '', exposeHeadRoute: false, handler: handle });
  // A preflight CORS did not answer (no allow-list, or an origin not on it): no CORS headers, so the browser refuses.
  fastify.options('', async (_request, reply) => reply.code(204).headers({ allow: 'GET, POST, OPTIONS', 'content-length': '0' }).send());
  refuseOtherMethods(fastify, '', ['GET', 'POST', 'OPTIONS']);
}
