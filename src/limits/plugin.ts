import type { ApolloServerPlugin } from '@apollo/server';
import { OperationTypeNode, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { QueryLimits } from '../config/protection';
import { limitError, subscriptionNotSupported, withoutRepeatedValidationErrors } from './errors';
import { checkPageArguments, checkStringLengths, reachableDefinitions } from './inputs';
import { measureOperation, variableValues } from './measure';

export interface QueryLimitsPluginOptions {
  limits: QueryLimits;
  production: boolean;
  /** The page size resolvers use when a connection gets no `first`/`last`. */
  defaultPageSize: number;
  /** The largest `first`/`last` a connection accepts. */
  maxPageSize: number;
}

/**
 * Depth, aliases, directives, fields, argument values and cost, checked once
 * the operation is known and before it executes. It is a plugin rather than
 * validation rules because the cost needs the request's variables
 * (`first: $n`), and because an error thrown here keeps its own code and
 * status (validation errors are all GRAPHQL_VALIDATION_FAILED). Throwing here
 * also stops Apollo from writing the document to the APQ cache. Tokens are
 * limited earlier, by the parser.
 *
 * Order: the operation's kind, then its shape, then its argument values, then
 * its cost, so a `first` that is invalid anyway is named as such rather than
 * called too complex.
 */
export function queryLimitsPlugin(options: QueryLimitsPluginOptions): ApolloServerPlugin {
  const passed = passedOperations();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, schema }) {
          // No such operation: execution reports OPERATION_RESOLUTION_FAILURE without doing any work.
          if (!operation) return;
          if (operation.operation === OperationTypeNode.SUBSCRIPTION) throw subscriptionNotSupported();
          // The same operation with the same variables measures the same: a dashboard's polls are checked once.
          const variables = JSON.stringify(request.variables ?? {});
          if (passed.has(operation, variables)) return;
          checkOperationLimits(document, operation, request.variables, schema, options);
          passed.add(operation, variables);
        },
        async willSendResponse({ response }) {
          // Synchronous, so plugins registered later (metrics, logs) see the trimmed list.
          if (response.body.kind !== 'single' || !response.body.singleResult.errors) return;
          response.body.singleResult.errors = withoutRepeatedValidationErrors(response.body.singleResult.errors);
        },
      };
    },
  };
}

/** Operations (Apollo reuses a document's AST) that passed every limit, with the variables they passed with. */
function passedOperations() {
  // A few variable sets per operation: enough for a dashboard's polls, and bounded whatever clients send.
  const MAX_VARIABLE_SETS = 16;
  const byOperation = new WeakMap<OperationDefinitionNode, Set<string>>();
  return {
    has: (operation: OperationDefinitionNode, variables: string) => byOperation.get(operation)?.has(variables) ?? false,
    add(operation: OperationDefinitionNode, variables: string) {
      let sets = byOperation.get(operation);
      if (!sets) byOperation.set(operation, (sets = new Set()));
      if (sets.size < MAX_VARIABLE_SETS) sets.add(variables);
    },
  };
}

/**
 * The shape, argument and cost limits of one operation, whatever carries it:
 * this plugin for HTTP, the live transports (src/live) for subscriptions.
 * Throws the first limit exceeded.
 */
export function checkOperationLimits(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | undefined,
  schema: GraphQLSchema,
  options: QueryLimitsPluginOptions,
): void {
  const { limits, production, defaultPageSize, maxPageSize } = options;
  const measure = measureOperation(document, operation, variables, schema, { defaultPageSize });
  if (measure.depth > limits.maxDepth) {
    throw limitError('QUERY_TOO_DEEP', 'The query is nested too deeply', measure.depth, limits.maxDepth, production);
  }
  if (measure.aliases > limits.maxAliases) {
    throw limitError('TOO_MANY_ALIASES', 'The query uses too many aliases', measure.aliases, limits.maxAliases, production);
  }
  if (measure.directives > limits.maxDirectives) {
    throw limitError('TOO_MANY_DIRECTIVES', 'The query uses too many directives', measure.directives, limits.maxDirectives, production);
  }
  if (measure.fields > limits.maxFields) {
    throw limitError('TOO_MANY_FIELDS', 'The query selects too many fields', measure.fields, limits.maxFields, production);
  }
  const definitions = reachableDefinitions(document, operation);
  checkPageArguments(definitions, variableValues(operation, variables), maxPageSize);
  checkStringLengths(operation, definitions, variables, limits.maxStringLength, production);
  if (measure.cost > limits.maxCost) {
    throw limitError(
      'QUERY_TOO_COMPLEX',
      'The query asks for too much data at once; request smaller pages',
      measure.cost,
      limits.maxCost,
      production,
    );
  }
}
