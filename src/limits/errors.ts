import { GraphQLError, type GraphQLFormattedError } from 'graphql';

export type LimitCode = 'QUERY_TOO_DEEP' | 'TOO_MANY_ALIASES' | 'TOO_MANY_DIRECTIVES' | 'TOO_MANY_FIELDS' | 'QUERY_TOO_COMPLEX' | 'TOO_MANY_TOKENS';

/**
 * A request over a limit: 400 with a code to switch on. Production says which
 * limit but not its value, so nobody can tune an attack to sit just under it;
 * development names both numbers to help whoever wrote the query.
 */
export function limitError(code: LimitCode, what: string, actual: number | undefined, limit: number, production: boolean): GraphQLError {
  const detail = production ? '' : actual === undefined ? ` (limit ${limit})` : ` (${actual}, limit ${limit})`;
  return new GraphQLError(`${what}${detail}`, { extensions: { code, http: { status: 400 } } });
}

// graphql-js words it "more that" in 16.x and "more than" in some releases; match both.
const TOKEN_LIMIT_MESSAGE = /^Syntax Error: Document contains more tha[nt] \d+ tokens\. Parsing aborted\.$/;

/**
 * Parsing stops at `maxTokens` with a generic GRAPHQL_PARSE_FAILED that names
 * the limit. Turn it into TOO_MANY_TOKENS, with the number only outside
 * production. The HTTP status (400) is already set by then.
 */
export function formatTokenLimitError(formatted: GraphQLFormattedError, maxTokens: number, production: boolean): GraphQLFormattedError {
  if (formatted.extensions?.code !== 'GRAPHQL_PARSE_FAILED' || !TOKEN_LIMIT_MESSAGE.test(formatted.message)) return formatted;
  const { message, extensions } = limitError('TOO_MANY_TOKENS', 'The query document is too large', undefined, maxTokens, production);
  const { http: _http, ...clientExtensions } = extensions;
  return { message, extensions: clientExtensions };
}

/**
 * The schema has no Subscription type and this server no transport for one.
 * graphql-js validation (v16) does not reject `subscription { … }` against a
 * schema without a subscription root, so execution failed with an internal
 * error that was logged as a fault; it is the client's mistake, said plainly.
 */
export function subscriptionNotSupported(): GraphQLError {
  return new GraphQLError(
    'Subscriptions are served over WebSocket at /graphql (graphql-transport-ws) and SSE at /graphql/stream; send a query or a mutation here',
    {
      extensions: { code: 'OPERATION_NOT_SUPPORTED', http: { status: 400 } },
    },
  );
}

/**
 * Validation reports one error per offending node: `@aa` written ten times is
 * ten "Unknown directive" errors, and a scanner's oversized document becomes
 * an oversized answer. One error per distinct message says everything; the
 * first occurrence keeps its location.
 */
export function withoutRepeatedValidationErrors(errors: readonly GraphQLFormattedError[]): GraphQLFormattedError[] {
  const seen = new Set<string>();
  return errors.filter((error) => {
    if (error.extensions?.code !== 'GRAPHQL_VALIDATION_FAILED') return true;
    if (seen.has(error.message)) return false;
    seen.add(error.message);
    return true;
  });
}
