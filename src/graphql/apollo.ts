import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { PROJECT_ROOT } from '../config/config';
import { resolvers } from '../resolvers';
import type { Context } from './context';
import { currentStatements } from '../db/statementLog';

export const typeDefs = readFileSync(path.join(PROJECT_ROOT, 'schema.graphql'), 'utf8');

export interface ApolloOptions {
  production: boolean;
  /** Called with any error that is masked as INTERNAL_SERVER_ERROR. */
  logError: (error: unknown) => void;
}

/**
 * Errors a client may see verbatim carry a code we chose; anything else is a
 * bug or an infrastructure failure and is masked — no SQL, no stack trace.
 */
function maskInternalErrors(logError: ApolloOptions['logError']) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    if (formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR') return formatted;
    logError(unwrapResolverError(error));
    return { message: 'Internal server error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
  };
}

/** Development only: the operation's SQL statement count and database time, in `extensions`. */
const statementStatsPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        const log = currentStatements();
        if (!log || response.body.kind !== 'single') return;
        response.body.singleResult.extensions = {
          ...response.body.singleResult.extensions,
          sql: { statements: log.count, durationMs: Math.round(log.durationMs * 100) / 100 },
        };
      },
    };
  },
};

export function createApolloServer(options: ApolloOptions): ApolloServer<Context> {
  return new ApolloServer<Context>({
    typeDefs,
    resolvers,
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: options.production,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // Shutdown is ours (src/cli/start.ts): drain HTTP, close the pool, stop PostgreSQL, exit 0.
    stopOnTerminationSignals: false,
    formatError: maskInternalErrors(options.logError),
    plugins: [ApolloServerPluginLandingPageDisabled(), ...(options.production ? [] : [statementStatsPlugin])],
  });
}
