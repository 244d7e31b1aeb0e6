import { Kind, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * What a connection field's nodes are asked for, read from the operation
 * itself, so a list statement can read only what will be resolved and join
 * the relations that will be. Both `edges { node { … } }` and `nodes { … }`
 * count, through any depth of inline fragments and fragment spreads.
 *
 * The answer may over-state, never under-state: fragments count whatever
 * their type condition, and `@skip` / `@include` are ignored. Asking for too
 * much costs a column or a join; too little would leave a field without its
 * data.
 */
export interface NodeSelection {
  /** Field names (aliases folded) selected on the node type. */
  fields: ReadonlySet<string>;
  /** For each of those fields, the field names selected under it (all its aliases merged); empty for a leaf. */
  children: ReadonlyMap<string, ReadonlySet<string>>;
}

type Fragments = GraphQLResolveInfo['fragments'];

/** Field nodes by field name (aliases folded), from selection sets with fragments flattened. */
function collectFields(
  selectionSets: readonly SelectionSetNode[],
  fragments: Fragments,
  into: Map<string, FieldNode[]>,
  visited = new Set<string>(),
): Map<string, FieldNode[]> {
  for (const selectionSet of selectionSets) {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const nodes = into.get(name);
        if (nodes) nodes.push(selection);
        else into.set(name, [selection]);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        collectFields([selection.selectionSet], fragments, into, visited);
      } else {
        const name = selection.name.value;
        // Validation rejects fragment cycles; the guard only keeps a spread used twice from being walked twice.
        if (visited.has(name)) continue;
        visited.add(name);
        const fragment: FragmentDefinitionNode | undefined = fragments[name];
        if (fragment) collectFields([fragment.selectionSet], fragments, into, visited);
      }
    }
  }
  return into;
}

function subSelections(fieldNodes: readonly FieldNode[]): SelectionSetNode[] {
  const sets: SelectionSetNode[] = [];
  for (const node of fieldNodes) if (node.selectionSet) sets.push(node.selectionSet);
  return sets;
}

/**
 * The fields selected on a connection's nodes (through `nodes` and
 * `edges.node`), by field name, each with every field node that selects it.
 */
export function connectionNodeFields(fieldNodes: readonly FieldNode[], fragments: Fragments): Map<string, FieldNode[]> {
  const connection = collectFields(subSelections(fieldNodes), fragments, new Map());
  const nodeFields = [...(connection.get('nodes') ?? [])];
  const edges = connection.get('edges');
  if (edges) nodeFields.push(...(collectFields(subSelections(edges), fragments, new Map()).get('node') ?? []));
  return collectFields(subSelections(nodeFields), fragments, new Map());
}

/** The node selection of connection fields given as field nodes (all merged nodes of one response key). */
export function connectionNodeSelection(fieldNodes: readonly FieldNode[], fragments: Fragments): NodeSelection {
  const nodeFields = connectionNodeFields(fieldNodes, fragments);
  const children = new Map<string, ReadonlySet<string>>();
  for (const [name, nodes] of nodeFields) children.set(name, new Set(collectFields(subSelections(nodes), fragments, new Map()).keys()));
  return { fields: new Set(nodeFields.keys()), children };
}

/**
 * Memoised per field-node list: graphql-js hands every item of a list the
 * same `fieldNodes` array, so a nested connection is read once per operation
 * rather than once per parent. A document's field nodes never change, so the
 * answer cannot go stale; the WeakMap lets it go with the document.
 */
export function memoisedBy<T>(derive: (info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>) => T) {
  const memo = new WeakMap<readonly FieldNode[], T>();
  return (info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): T => {
    let value = memo.get(info.fieldNodes);
    if (value === undefined) memo.set(info.fieldNodes, (value = derive(info)));
    return value;
  };
}

const MORE_FLAGS = ['hasNextPage', 'hasPreviousPage'];

/**
 * Whether a connection field's selection asks if more rows follow
 * (`pageInfo { hasNextPage }` or `hasPreviousPage`, through any fragments).
 * Over-states like the node selection: `@skip`/`@include` are ignored.
 */
export const connectionSelectsMore = memoisedBy((info): boolean => {
  const pageInfo = collectFields(subSelections(info.fieldNodes), info.fragments, new Map()).get('pageInfo');
  if (!pageInfo) return false;
  const flags = collectFields(subSelections(pageInfo), info.fragments, new Map());
  return MORE_FLAGS.some((flag) => flags.has(flag));
});
