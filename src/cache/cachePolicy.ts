import type { ApolloServerPlugin } from '@apollo/server';
import type { CacheHint, CacheScope } from '@apollo/cache-control-types';
import {
  Kind,
  getNamedType,
  isCompositeType,
  type ASTNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Context } from '../graphql/context';

/**
 * The cache policy of an operation computed from its document alone, once per
 * document, instead of by Apollo's cache-control plugin on every resolved field.
 *
 * Apollo's rule (src/plugin/cacheControl in @apollo/server) is per field: the
 * hint of the field's composite return type, replaced by the field's own hint
 * (`inheritMaxAge` leaves maxAge unset); a root field, or a composite one that
 * does not inherit, with no maxAge gets 0; the operation's policy is the most
 * restrictive of all its fields. Nothing here depends on data, since no
 * resolver sets a dynamic hint (none calls `setCacheHint`) — except which
 * fragments apply, and this counts every fragment, so the result is never
 * laxer than Apollo's: at worst an answer is cached for less time.
 *
 * It is what lets compiled execution (src/server/jitExecutor.ts), which runs
 * no per-field hooks, serve with the response cache on.
 */
export function staticCachePolicy(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): CacheHint {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);

  let maxAge: number | undefined;
  let scope: CacheScope = 'PUBLIC';
  const restrict = (hint: Annotation) => {
    if (hint.maxAge !== undefined) maxAge = maxAge === undefined ? hint.maxAge : Math.min(maxAge, hint.maxAge);
    if (hint.scope === 'PRIVATE') scope = 'PRIVATE';
  };

  const visited = new Set<string>();
  const walk = (parent: GraphQLCompositeType, selections: SelectionSetNode, root: boolean) => {
    for (const selection of selections.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (condition && isCompositeType(condition)) walk(condition, selection.selectionSet, root);
        continue;
      }
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = fragments.get(selection.name.value);
        const condition = fragment && schema.getType(fragment.typeCondition.name.value);
        // A fragment reached twice adds nothing new: the policy is a minimum over fields.
        if (!fragment || !condition || !isCompositeType(condition) || visited.has(fragment.name.value)) continue;
        visited.add(fragment.name.value);
        walk(condition, fragment.selectionSet, root);
        continue;
      }
      const name = selection.name.value;
      if (name.startsWith('__')) {
        // Introspection at the root is never cached; __typename below it adds no hint.
        if (root) restrict({ maxAge: 0 });
        continue;
      }
      if (!('getFields' in parent)) continue;
      const field = parent.getFields()[name];
      if (!field) continue;
      restrict(fieldPolicy(field, root));
      const target = getNamedType(field.type);
      if (selection.selectionSet && isCompositeType(target)) walk(target, selection.selectionSet, false);
    }
  };

  const rootType = schema.getRootType(operation.operation);
  if (rootType) walk(rootType, operation.selectionSet, true);
  return { maxAge: maxAge ?? 0, scope };
}

interface Annotation {
  maxAge?: number;
  scope?: CacheScope;
  inheritMaxAge?: true;
}

/** One field's policy, as Apollo's plugin computes it in willResolveField and its completion callback. */
function fieldPolicy(field: GraphQLField<unknown, unknown>, root: boolean): Annotation {
  let maxAge: number | undefined;
  let scope: CacheScope | undefined;
  let inheritMaxAge = false;
  const target = getNamedType(field.type);
  const composite = isCompositeType(target);
  if (composite) {
    const fromType = annotationOf([target.astNode, ...target.extensionASTNodes]);
    ({ maxAge, scope } = fromType);
    inheritMaxAge = fromType.inheritMaxAge === true;
  }
  const fromField = annotationOf([field.astNode]);
  if (fromField.inheritMaxAge && maxAge === undefined) {
    inheritMaxAge = true;
    if (fromField.scope) scope = fromField.scope;
  } else {
    // Apollo's `replace`: only the parts the field's hint sets.
    if (fromField.maxAge !== undefined) maxAge = fromField.maxAge;
    if (fromField.scope !== undefined) scope = fromField.scope;
  }
  if (maxAge === undefined && ((composite && !inheritMaxAge) || root)) maxAge = 0;
  return { maxAge, scope };
}

/** The first @cacheControl hint among a definition's AST nodes (the type, then its `extend`s), as Apollo reads them. */
function annotationOf(nodes: readonly (ASTNode | null | undefined)[]): Annotation {
  for (const node of nodes) {
    const directives = node && 'directives' in node ? node.directives : undefined;
    const directive = directives?.find((d) => d.name.value === 'cacheControl');
    if (!directive) continue;
    const argument = (name: string) => directive.arguments?.find((a) => a.name.value === name)?.value;
    const maxAge = argument('maxAge');
    const scope = argument('scope');
    const inherit = argument('inheritMaxAge');
    const scopeValue = scope?.kind === Kind.ENUM && (scope.value === 'PUBLIC' || scope.value === 'PRIVATE') ? scope.value : undefined;
    return inherit?.kind === Kind.BOOLEAN && inherit.value
      ? { inheritMaxAge: true, scope: scopeValue }
      : { maxAge: maxAge?.kind === Kind.INT ? Number.parseInt(maxAge.value, 10) : undefined, scope: scopeValue };
  }
  return {};
}

/**
 * Restricts each operation's overall cache policy (what the response cache
 * reads) by its static policy, memoised per document and operation.
 */
export function staticCachePolicyPlugin(): ApolloServerPlugin<Context> {
  const policies = new WeakMap<DocumentNode, Map<string, CacheHint>>();
  return {
    async requestDidStart() {
      return {
        async executionDidStart({ schema, document, operation, operationName, overallCachePolicy }) {
          let byName = policies.get(document);
          if (!byName) policies.set(document, (byName = new Map<string, CacheHint>()));
          const key = operationName ?? '';
          let policy = byName.get(key);
          if (!policy) byName.set(key, (policy = staticCachePolicy(schema, document, operation)));
          overallCachePolicy.restrict(policy);
        },
      };
    },
  };
}
