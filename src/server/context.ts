import type { FastifyRequest } from 'fastify';
import { GraphQLError } from 'graphql';
import { KeySourceUnavailableError } from '../auth/jwks';
import { InvalidTokenError, bearerToken } from '../auth/tokens';
import type { Context } from '../graphql/context';
import { authUnavailable, unauthenticated } from '../graphql/errors';
import { tenantScope } from '../db/tenant';
import { createLoaders } from '../loaders';
import { bindRequest, type Db } from '../db/database';
import type { RequestContext } from '../observability/requestContext';
import type { OperationReport, Services } from './services';

/**
 * The one place a GraphQL request's Context is made: the token verified
 * first, then everything a resolver may use, bound to the token's
 * organisation. Built per request, after Apollo has accepted the request.
 */
export async function buildContext(services: Services, request: FastifyRequest, report: OperationReport): Promise<Context> {
  const { config } = services;
  let principal;
  try {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw unauthenticated();
    principal = await services.verifier.verify(token);
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
  const now = services.hooks.clock?.() ?? new Date();
  const requestContext: RequestContext = { requestId: request.id, deadline: request.deadline, statements: report.statements };
  const host = request.headers.host ?? `localhost:${config.port}`;
  return {
    ...principal,
    // On the primary; a query operation may move to a read replica (src/server/readRouting.ts).
    ...bindScope(services, services.database.db, principal.orgId, now, requestContext),
    request: requestContext,
    signer: services.signer,
    origin: `${request.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http'}://${host}`,
    limits: { defaultPageSize: config.defaultPageSize, maxPageSize: config.maxPageSize },
    recordingUrlTtlSeconds: config.recordings.defaultExpiresInSeconds,
    now,
    agentsCached: services.caches.entities.agents.enabled(),
  };
}

/**
 * The scope and the loaders over it, on `db` bound to the request when there
 * is one (its deadline and statement log; subscriptions have none): the
 * verified token names the only organisation anything below can query.
 */
export function bindScope(
  services: Services,
  db: Db,
  orgId: string,
  now: Date,
  request?: RequestContext,
): Pick<Context, 'scope' | 'loaders' | 'provider'> {
  const scope = tenantScope(request ? bindRequest(db, request) : db, orgId);
  return {
    scope,
    loaders: createLoaders(scope, { batch: services.config.batching }, now, services.caches.entities),
    provider: services.provider.forRequest(scope, request?.deadline),
  };
}
