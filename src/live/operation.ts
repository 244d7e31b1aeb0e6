import type { IncomingHttpHeaders } from 'node:http';
import { GraphQLError, OperationTypeNode, getOperationAST, parse, validate, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { Principal } from '../auth/tokens';
import type { Context } from '../graphql/context';
import { checkOperationLimits } from '../limits/plugin';
import { resolveDocument } from '../persisted/resolve';
import { bindScope } from '../server/context';
import type { Services } from '../server/services';
import type { LiveHub } from './hub';

/** What a live transport receives for one operation (graphql-ws `subscribe`, a graphql-sse request). */
export interface LivePayload {
  query?: unknown;
  documentId?: unknown;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  extensions?: Record<string, unknown> | null;
}

const error = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

/**
 * The checks an HTTP operation passes before it runs, for a subscription:
 * trusted documents (src/persisted), the token limit while parsing,
 * validation, then depth, aliases, directives, fields, arguments and cost
 * (src/limits). Only subscriptions: queries and mutations stay on HTTP, with
 * its caching and its write guarantees. Returns the errors, or what to run.
 */
export function prepareSubscription(
  services: Services,
  schema: GraphQLSchema,
  production: boolean,
  payload: LivePayload,
): ExecutionArgs | readonly GraphQLError[] {
  const { config } = services;
  const resolution = resolveDocument({ query: payload.query, documentId: payload.documentId, extensions: payload.extensions }, services.persisted);
  if (resolution.kind === 'reject') return [error(resolution.message, resolution.code)];
  if (typeof resolution.query !== 'string') return [error('Unknown persisted document id', 'PERSISTED_QUERY_NOT_FOUND')];
  let document;
  try {
    document = parse(resolution.query, { maxLexicalTokens: config.queryLimits.maxTokens });
  } catch (failure) {
    return [
      failure instanceof GraphQLError
        ? error(failure.message, 'GRAPHQL_PARSE_FAILED')
        : error('The query could not be parsed', 'GRAPHQL_PARSE_FAILED'),
    ];
  }
  const invalid = validate(schema, document);
  if (invalid.length > 0) return invalid.map((failure) => error(failure.message, 'GRAPHQL_VALIDATION_FAILED'));
  const operation = getOperationAST(document, payload.operationName);
  if (!operation) return [error('Unable to identify operation', 'OPERATION_RESOLUTION_FAILURE')];
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
    return [error('Only subscriptions are served here; send queries and mutations to /graphql over HTTP', 'OPERATION_NOT_SUPPORTED')];
  }
  try {
    checkOperationLimits(document, operation, payload.variables ?? undefined, schema, {
      limits: config.queryLimits,
      production,
      defaultPageSize: config.defaultPageSize,
      maxPageSize: config.maxPageSize,
    });
  } catch (failure) {
    if (failure instanceof GraphQLError) return [failure];
    throw failure;
  }
  return { schema, document, operationName: payload.operationName ?? null, variableValues: payload.variables ?? null };
}

/** A subscription's Context: as an HTTP request's (src/server/context.ts), plus the hub and the slow-consumer hook. */
export function subscriptionContext(
  services: Services,
  hub: LiveHub,
  principal: Principal,
  headers: IncomingHttpHeaders,
  onOverflow: () => void,
): Context {
  const { config } = services;
  const now = services.hooks.clock?.() ?? new Date();
  return {
    ...principal,
    ...bindScope(services, services.database.db, principal.orgId, now),
    signer: services.signer,
    origin: `${headers['x-forwarded-proto'] === 'https' ? 'https' : 'http'}://${headers.host ?? `localhost:${config.port}`}`,
    limits: { defaultPageSize: config.defaultPageSize, maxPageSize: config.maxPageSize },
    recordingUrlTtlSeconds: config.recordings.defaultExpiresInSeconds,
    now,
    agentsCached: services.caches.entities.agents.enabled(),
    live: { hub, maxQueued: config.live.maxQueuedEvents, onOverflow },
  };
}
