import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import {
  GraphQLError,
  getNamedType,
  isInputObjectType,
  typeFromAST,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * Executes operations with graphql-jit instead of graphql-js: each document is
 * compiled once into a JavaScript function specialised to its selection set
 * (no per-field AST walk, argument coercion or resolve-info allocation), and
 * the compiled function is reused for every later request with that document.
 *
 * Wired in through Apollo Server's gateway interface, its documented way to
 * bring an executor of one's own: parsing, validation, the limits plugin, APQ
 * and trusted documents, error formatting and the response cache all stay
 * Apollo's. What it gives up: Apollo's per-field plugin hooks
 * (willResolveField), which graphql-jit never calls. None of ours use them;
 * cache hints for the response cache come from the document instead
 * (src/cache/cachePolicy.ts).
 *
 * Compiled queries are keyed by the DocumentNode object: Apollo hands the same
 * object back for the same query text from its document store, so a hit costs
 * one WeakMap lookup and memory is bounded by that store's own LRU.
 */
export function jitGateway(schema: GraphQLSchema): GatewayInterface {
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery>>();

  const compiledFor = (document: DocumentNode, operationName: string | undefined) => {
    let byName = compiled.get(document);
    if (!byName) compiled.set(document, (byName = new Map<string, CompiledQuery>()));
    const key = operationName ?? '';
    let query = byName.get(key);
    if (!query) {
      const result = compileQuery(schema, document, operationName, {
        // Our error formatting needs the thrown error (its code, a database failure's class), not a copy of its message.
        disablingCapturingStackErrors: true,
      });
      // Apollo validated the document already; a compile failure is an operation error graphql-js would report too.
      if (!isCompiledQuery(result)) return result;
      query = result;
      byName.set(key, query);
    }
    return query;
  };

  const oneOfByOperation = new WeakMap<OperationDefinitionNode, boolean>();
  const oneOfByType = new Map<string, boolean>();
  const containsOneOf = (type: GraphQLNamedType): boolean => {
    if (!isInputObjectType(type)) return false;
    let known = oneOfByType.get(type.name);
    if (known === undefined) {
      oneOfByType.set(type.name, false); // a cycle through this type adds nothing new
      known = type.isOneOf || Object.values(type.getFields()).some((field) => containsOneOf(getNamedType(field.type)));
      oneOfByType.set(type.name, known);
    }
    return known;
  };
  /** Whether any variable's type is, or holds, a `@oneOf` input; once per operation (Apollo reuses the AST). */
  const takesOneOf = (operation: OperationDefinitionNode): boolean => {
    let known = oneOfByOperation.get(operation);
    if (known === undefined) {
      known = (operation.variableDefinitions ?? []).some((definition) => {
        const type = typeFromAST(schema, definition.type);
        return type !== undefined && containsOneOf(getNamedType(type));
      });
      oneOfByOperation.set(operation, known);
    }
    return known;
  };

  const executor: GatewayExecutor = async (requestContext) => {
    const query = compiledFor(requestContext.document, requestContext.operationName ?? undefined);
    if (!isCompiledQuery(query)) return query;
    const variables = requestContext.request.variables ?? {};
    // graphql-jit's coercion does not know `@oneOf`; graphql-js's does, and runs only for operations that need it.
    if (takesOneOf(requestContext.operation)) {
      const refused = variableErrors(schema, requestContext.operation, variables);
      if (refused) return refused;
    }
    const result = query.query(undefined, requestContext.context, variables);
    // No data at all: the variables did not coerce. graphql-jit's errors name no
    // variable node; graphql-js's do, and Apollo answers those 400 BAD_USER_INPUT.
    if (!('then' in result) && result.data === undefined) return variableErrors(schema, requestContext.operation, variables) ?? result;
    return withGraphQLErrors(await result);
  };

  return {
    async load() {
      return { schema, executor };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: '' });
      return () => {};
    },
    // Nothing to stop: no schema polling, no connections of its own.
    stop: () => Promise.resolve(),
  };
}

/** graphql-js's own coercion errors for these variables, or undefined when they coerce. */
function variableErrors(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>): ExecutionResult | undefined {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables);
  return coerced.errors ? { errors: coerced.errors } : undefined;
}

/**
 * graphql-jit's errors imitate GraphQLError but leave `extensions` undefined
 * when the thrown error had none, and Apollo's error formatting reads
 * `extensions.code`. Rebuilt as graphql-js errors (only when there are errors).
 */
function withGraphQLErrors(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((error) => {
    const rebuilt = new GraphQLError(error.message, {
      path: error.path,
      originalError: error.originalError,
      extensions: error.extensions,
    });
    // graphql-js derives locations from AST nodes, which graphql-jit does not keep; its computed ones are right.
    (rebuilt as { locations: GraphQLError['locations'] }).locations = error.locations;
    return rebuilt;
  });
  return { ...result, errors };
}
