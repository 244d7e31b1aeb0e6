import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Context } from '../graphql/context';
import type { Logger } from '../logger';
import type { Metrics } from './metrics';
import { requestIdOfError, tagErrorWithRequest } from './requestContext';

/**
 * One structured log line and one set of metric observations per GraphQL
 * operation: request id, operation name and type, duration, SQL statement
 * count and database time, error codes. Never variables or tokens.
 */
export function operationPlugin(metrics: Metrics, logger: Logger): ApolloServerPlugin<Context> {
  // Rejected before an operation exists (bad token, malformed request): no
  // requestDidStart, so counted and logged here.
  const rejected = ({ error }: { error: Error }) => {
    const extensions = error instanceof GraphQLError ? error.extensions : {};
    const code = typeof extensions.code === 'string' ? extensions.code : 'INTERNAL_SERVER_ERROR';
    const http = extensions.http as { status?: number } | undefined;
    metrics.countErrors([code]);
    logger.info({ requestId: requestIdOfError(error), status: http?.status ?? null, errors: [code] }, 'graphql request rejected');
  };
  return {
    contextCreationDidFail: async (failure) => rejected(failure),
    invalidRequestWasReceived: async (failure) => rejected(failure),
    async requestDidStart() {
      const started = performance.now();
      let name: string | undefined;
      let type: string | undefined;
      return {
        async didResolveOperation({ operationName, operation }) {
          name = operationName ?? undefined;
          type = operation?.operation;
        },
        // formatError sees an error without its request: tagged here for it (src/server/apollo.ts).
        async didEncounterErrors({ contextValue, errors }) {
          const requestId = contextValue.request?.requestId;
          if (requestId !== undefined) for (const error of errors) tagErrorWithRequest(error, requestId);
        },
        async willSendResponse({ response, contextValue }) {
          const durationMs = performance.now() - started;
          const statements = contextValue.request?.statements;
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const errorCodes = errors.map((error) => (typeof error.extensions?.code === 'string' ? error.extensions.code : 'UNKNOWN'));
          metrics.observeOperation({ name, type, durationMs, statements: statements?.count ?? 0, errorCodes });
          logger.info(
            {
              requestId: contextValue.request?.requestId,
              operation: name ?? null,
              type: type ?? null,
              status: response.http.status ?? 200,
              durationMs: round(durationMs),
              statements: statements?.count ?? 0,
              dbMs: round(statements?.durationMs ?? 0),
              ...(errorCodes.length > 0 ? { errors: errorCodes } : {}),
            },
            'graphql operation',
          );
        },
      };
    },
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
