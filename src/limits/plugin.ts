import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { QueryLimits } from '../config/protection';
import { limitError } from './errors';
import { measureOperation } from './measure';

export interface QueryLimitsPluginOptions {
  limits: QueryLimits;
  production: boolean;
  /** The page size resolvers use when a connection gets no `first`/`last`. */
  defaultPageSize: number;
}

/**
 * Depth, aliases, directives and cost, checked once the operation is known
 * and before it executes. It is a plugin rather than validation rules because
 * the cost needs the request's variables (`first: $n`), and because an error
 * thrown here keeps its own code and status (validation errors are all
 * GRAPHQL_VALIDATION_FAILED). Throwing here also stops Apollo from writing the
 * document to the APQ cache. Tokens are limited earlier, by the parser.
 */
export function queryLimitsPlugin(options: QueryLimitsPluginOptions): ApolloServerPlugin<BaseContext> {
  const { limits, production, defaultPageSize } = options;
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, schema }) {
          // No such operation: execution reports OPERATION_RESOLUTION_FAILURE without doing any work.
          if (!operation) return;
          const measure = measureOperation(document, operation, request.variables, schema, { defaultPageSize });
          if (measure.depth > limits.maxDepth) {
            throw limitError('QUERY_TOO_DEEP', 'The query is nested too deeply', measure.depth, limits.maxDepth, production);
          }
          if (measure.aliases > limits.maxAliases) {
            throw limitError('TOO_MANY_ALIASES', 'The query uses too many aliases', measure.aliases, limits.maxAliases, production);
          }
          if (measure.directives > limits.maxDirectives) {
            throw limitError('TOO_MANY_DIRECTIVES', 'The query uses too many directives', measure.directives, limits.maxDirectives, production);
          }
          if (measure.cost > limits.maxCost) {
            throw limitError('QUERY_TOO_COMPLEX', 'The query asks for too much data at once; request smaller pages', measure.cost, limits.maxCost, production);
          }
        },
      };
    },
  };
}
