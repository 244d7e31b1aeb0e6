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
}

type Fragments = GraphQLResolveInfo['fragments'];

/** Field names and their sub-selections, from selection sets with fragments flattened. */
function collectFields(
  selectionSets: readonly SelectionSetNode[],
  fragments: Fragments,
  into: Map<string, SelectionSetNode[]>,
  visited = new Set<string>(),
): Map<string, SelectionSetNode[]> {
  for (const selectionSet of selectionSets) {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        let subs = into.get(name);
        if (!subs) into.set(name, (subs = []));
        if (selection.selectionSet) subs.push(selection.selectionSet);
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

/** The node selection of connection fields given as field nodes (all merged nodes of one response key). */
export function connectionNodeSelection(fieldNodes: readonly FieldNode[], fragments: Fragments): NodeSelection {
  const connection = collectFields(subSelections(fieldNodes), fragments, new Map());
  const nodeSets = [...(connection.get('nodes') ?? [])];
  const edges = connection.get('edges');
  if (edges) nodeSets.push(...(collectFields(edges, fragments, new Map()).get('node') ?? []));
  return { fields: new Set(collectFields(nodeSets, fragments, new Map()).keys()) };
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
