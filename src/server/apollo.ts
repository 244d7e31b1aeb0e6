import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { resolvers } from '../resolvers';
import type { Context } from '../graphql/context';
import { typeDefs } from '../graphql/typeDefs';
import { databaseFailure } from '../db/failures';
import { requestIdOfError } from '../observability/requestContext';
import { failureStatusPlugin } from '../graphql/failureStatus';
import { DEFAULT_QUERY_LIMITS, type QueryLimits } from '../config/protection';
import { formatTokenLimitError } from '../limits/errors';
import { badLiteralAsUserInput } from '../graphql/badValues';
import { queryLimitsPlugin } from '../limits/plugin';
import { persistedQueryNotFoundStatusPlugin } from '../persisted/notFoundStatus';
import { jitGateway } from './jitExecutor';
import { staticCachePolicyPlugin } from '../cache/cachePolicy';

export interface ApolloOptions {
  production: boolean;
  /** Called with any error that is masked: INTERNAL_SERVER_ERROR, or a database failure's own code. */
  logError: (error: unknown, info: { code: string; requestId: string | undefined }) => void;
  /**
   * Whether anything reads cache hints (the response cache). Computed once
   * per document (src/cache/cachePolicy.ts); without a response cache, not at all.
   */
  cacheHints: boolean;
  /** More plugins (metrics, operation logs); they run after ours. */
  plugins?: ApolloServerPlugin<Context>[];
  /** Depth, alias, token, directive and cost limits (src/limits); DEFAULT_QUERY_LIMITS when absent. */
  queryLimits?: QueryLimits;
  /** A connection's page size without `first`/`last`, for the cost limit. Default 20. */
  defaultPageSize?: number;
  /** The largest `first`/`last`; a larger one is refused before execution. Default 100. */
  maxPageSize?: number;
  /** Apollo's APQ; off in trusted-documents `only` mode so nothing can ever be registered. Default on. */
  automaticPersistedQueries?: boolean;
  /** Where APQ keeps registered queries (src/cache: bounded in memory, or Redis); Apollo's default in-memory cache when absent. */
  apqCache?: KeyValueCache;
}

/**
 * The `@cacheControl` hints in schema.graphql drive only our own response
 * cache (src/cache/responseCache.ts), whose keys carry the tenant. They never
 * become HTTP headers: a browser, proxy or CDN caching a GraphQL GET by URL
 * would not know that the answer depends on the Authorization header.
 */
const noHttpCachingPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        response.http.headers.set('cache-control', 'no-store');
      },
    };
  },
};

/**
 * Errors a client may see verbatim carry a code we chose; anything else is a
 * bug or an infrastructure failure and is masked — no SQL, no stack trace.
 * Database outages, a full pool, statement timeouts and a spent request budget
 * get codes of their own (DATABASE_UNAVAILABLE, DATABASE_BUSY, STATEMENT_TIMEOUT,
 * REQUEST_TIMEOUT) so clients can retry.
 * Masked errors carry the request id that the log line for them carries.
 */
function maskInternalErrors(logError: ApolloOptions['logError']) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    if (formatted.extensions?.code !== 'INTERNAL_SERVER_ERROR') return formatted;
    const original = unwrapResolverError(error);
    const requestId = requestIdOfError(error, original);
    const failure = databaseFailure(original);
    const code = failure?.code ?? 'INTERNAL_SERVER_ERROR';
    logError(original, { code, requestId });
    return {
      message: failure?.message ?? 'Internal server error',
      path: formatted.path,
      extensions: { code, ...(requestId ? { requestId } : {}) },
    };
  };
}

/** Development only: the operation's SQL statement count and database time, in `extensions`. */
const statementStatsPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        const log = contextValue.request?.statements;
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
  const queryLimits = options.queryLimits ?? DEFAULT_QUERY_LIMITS;
  const maskErrors = maskInternalErrors(options.logError);
  const schema = makeExecutableSchema<Context>({ typeDefs, resolvers });
  return new ApolloServer<Context>({
    gateway: jitGateway(schema),
    introspection: !options.production,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: options.production,
    // A browser sends a cross-site request without a preflight only when it is "simple": GET or POST,
    // safelisted headers, a form content type. Apollo serves a request with a non-simple content type
    // (POST JSON) or one of these headers. `authorization` is ours: every operation needs a Bearer
    // token, and a page can attach one only after a CORS preflight, so urql's and Relay's plain GETs
    // with a token are served; a simple GET (no token) is still refused, unread. A Basic credential
    // a browser might attach on its own gets past this check but not past authentication.
    csrfPrevention: { requestHeaders: ['authorization', 'x-apollo-operation-name', 'apollo-require-preflight'] },
    allowBatchedHttpRequests: false,
    // Shutdown is ours (src/server/server.ts drain, then src/cli/start.ts): drain HTTP, close the pool, stop PostgreSQL, exit 0.
    stopOnTerminationSignals: false,
    // Parsing stops past the token limit, before any other work.
    parseOptions: { maxLexicalTokens: queryLimits.maxTokens },
    // APQ: src/cache's bounded in-memory cache per instance, or Redis shared by all (REDIS_URL).
    persistedQueries: options.automaticPersistedQueries === false ? false : options.apqCache ? { cache: options.apqCache } : {},
    // Apollo's default pretty-prints (JSON.stringify(v, null, 2)): 11 % of a
    // response-cache hit's CPU and a bigger body, for whitespace no client reads.
    stringifyResult: (result) => JSON.stringify(result),
    formatError: (formatted, error) =>
      maskErrors(badLiteralAsUserInput(formatTokenLimitError(formatted, queryLimits.maxTokens, options.production)), error),
    plugins: [
      ApolloServerPluginLandingPageDisabled(),
      // Apollo's own cache-control plugin hooks every resolved field, which compiled execution never calls;
      // the policy comes from the document instead, once per document.
      ApolloServerPluginCacheControlDisabled(),
      ...(options.cacheHints ? [staticCachePolicyPlugin()] : []),
      noHttpCachingPlugin,
      queryLimitsPlugin({
        limits: queryLimits,
        production: options.production,
        defaultPageSize: options.defaultPageSize ?? 20,
        maxPageSize: options.maxPageSize ?? 100,
      }),
      persistedQueryNotFoundStatusPlugin,
      ...(options.production ? [] : [statementStatsPlugin]),
      failureStatusPlugin,
      ...(options.plugins ?? []),
    ],
  });
}
