import {
  Kind,
  getNamedType,
  getOperationAST,
  isCompositeType,
  isObjectType,
  isInterfaceType,
  valueFromASTUntyped,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

/** What one operation would make the server do, measured before anything runs. */
export interface OperationMeasure {
  /** Deepest field nesting; fragments add no level of their own. */
  depth: number;
  /** Aliased fields, counting a fragment again every time it is spread. */
  aliases: number;
  /** Directives anywhere in the operation, fragments counted per spread. */
  directives: number;
  /** Each field costs 1; a list field multiplies its children's cost by its page size. */
  cost: number;
  /** Field selections, `__typename` and introspection included, a fragment counted per spread. */
  fields: number;
}

export interface MeasureOptions {
  /** The page size of a connection queried without `first`/`last` (and without a schema default). */
  defaultPageSize?: number;
}

export type Variables = Readonly<Record<string, unknown>>;

const ZERO: OperationMeasure = { depth: 0, aliases: 0, directives: 0, cost: 0, fields: 0 };

/**
 * The cost of an operation: every field costs 1 and a connection field (one
 * with `first`/`last`, given as a literal or a variable) multiplies the cost
 * of its children by the page it asks for. Without `schema`, only fields that
 * pass `first`/`last` explicitly count as connections.
 */
export function operationCost(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Variables | null | undefined,
  schema?: GraphQLSchema,
  options: MeasureOptions = {},
): number {
  const operation = getOperationAST(document, operationName);
  return operation ? measureOperation(document, operation, variables, schema, options).cost : 0;
}

/**
 * Depth, aliases, directives, cost and fields of one operation in one pass. Named
 * fragments are measured once and memoised, so a document that spreads
 * fragments exponentially still takes linear time; a fragment cycle (which
 * validation rejects anyway) counts as nothing rather than looping.
 */
export function measureOperation(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Variables | null | undefined,
  schema?: GraphQLSchema,
  options: MeasureOptions = {},
): OperationMeasure {
  const defaultPageSize = options.defaultPageSize ?? 20;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const values = variableValues(operation, variables);
  const memo = new Map<string, OperationMeasure>();
  const inProgress = new Set<string>();

  function typeNamed(name: string | undefined): GraphQLCompositeType | undefined {
    const type = name === undefined ? undefined : schema?.getType(name);
    return type && isCompositeType(type) ? type : undefined;
  }

  function fragment(name: string): OperationMeasure {
    const cached = memo.get(name);
    if (cached) return cached;
    const definition = fragments.get(name);
    if (!definition || inProgress.has(name)) return ZERO;
    inProgress.add(name);
    const inner = selectionSet(definition.selectionSet, typeNamed(definition.typeCondition.name.value));
    inProgress.delete(name);
    const measure = { ...inner, directives: inner.directives + (definition.directives?.length ?? 0) };
    memo.set(name, measure);
    return measure;
  }

  function field(node: FieldNode, parent: GraphQLCompositeType | undefined): OperationMeasure {
    const name = node.name.value;
    // Introspection is schema metadata, not data: no database work, and it is
    // refused outright in production. Its selections still count as fields
    // (each is work), so GraphiQL's introspection query sets a floor for MAX_FIELDS.
    if (name === '__schema' || name === '__type') {
      return { ...ZERO, fields: 1 + (node.selectionSet ? selectionSet(node.selectionSet, undefined).fields : 0) };
    }
    const own = { aliases: node.alias ? 1 : 0, directives: node.directives?.length ?? 0 };
    // `__typename` costs nothing, but it is a field: MAX_FIELDS bounds how many.
    if (name === '__typename') return { depth: 1, cost: 0, fields: 1, ...own };
    const definition = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
    const children = node.selectionSet
      ? selectionSet(node.selectionSet, typeNamed(definition ? getNamedType(definition.type).name : undefined))
      : ZERO;
    return {
      depth: 1 + children.depth,
      aliases: own.aliases + children.aliases,
      directives: own.directives + children.directives,
      cost: 1 + pageSize(node, definition) * children.cost,
      fields: 1 + children.fields,
    };
  }

  function selectionSet(node: SelectionSetNode, parent: GraphQLCompositeType | undefined): OperationMeasure {
    let depth = 0;
    let aliases = 0;
    let directives = 0;
    let cost = 0;
    let fields = 0;
    for (const selection of node.selections) {
      let measure: OperationMeasure;
      if (selection.kind === Kind.FIELD) measure = field(selection, parent);
      else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const inner = selectionSet(selection.selectionSet, selection.typeCondition ? typeNamed(selection.typeCondition.name.value) : parent);
        measure = { ...inner, directives: inner.directives + (selection.directives?.length ?? 0) };
      } else {
        const inner = fragment(selection.name.value);
        measure = { ...inner, directives: inner.directives + (selection.directives?.length ?? 0) };
      }
      depth = Math.max(depth, measure.depth);
      aliases += measure.aliases;
      directives += measure.directives;
      cost += measure.cost;
      fields += measure.fields;
    }
    return { depth, aliases, directives, cost, fields };
  }

  /** How many items a field returns at most, as far as the request says. */
  function pageSize(node: FieldNode, definition: GraphQLField<unknown, unknown> | undefined): number {
    const first = intArgument(node, 'first', values);
    const last = intArgument(node, 'last', values);
    if (first !== undefined || last !== undefined) return Math.max(first ?? 0, last ?? 0);
    const ids = listArgumentLength(node, 'ids', values);
    if (ids !== undefined) return ids;
    const pageArgument = definition?.args.find((arg) => arg.name === 'first' || arg.name === 'last');
    if (!pageArgument) return 1;
    return typeof pageArgument.defaultValue === 'number' ? pageArgument.defaultValue : defaultPageSize;
  }

  const root = schema?.getRootType(operation.operation) ?? undefined;
  const body = selectionSet(operation.selectionSet, root);
  return { ...body, directives: body.directives + (operation.directives?.length ?? 0) };
}

/** The request's variables over the operation's declared defaults, as execution would see them. */
export function variableValues(operation: OperationDefinitionNode, provided: Variables | null | undefined): Variables {
  const values: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) values[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
  }
  for (const [name, value] of Object.entries(provided ?? {})) {
    if (value !== undefined) values[name] = value;
  }
  return values;
}

function argumentValue(node: FieldNode, name: string, variables: Variables): unknown {
  const argument = node.arguments?.find((arg) => arg.name.value === name);
  return argument ? valueOf(argument.value, variables) : undefined;
}

function valueOf(value: ValueNode, variables: Variables): unknown {
  return value.kind === Kind.VARIABLE ? variables[value.name.value] : valueFromASTUntyped(value, variables);
}

/** A non-negative integer argument; anything else (absent, null, wrong type) counts as not given. */
function intArgument(node: FieldNode, name: string, variables: Variables): number | undefined {
  const value = argumentValue(node, name, variables);
  return typeof value === 'number' && Number.isInteger(value) ? Math.max(0, value) : undefined;
}

function listArgumentLength(node: FieldNode, name: string, variables: Variables): number | undefined {
  const value = argumentValue(node, name, variables);
  return Array.isArray(value) ? value.length : undefined;
}
