import {
  GraphQLError,
  Kind,
  type ArgumentNode,
  type DirectiveNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';
import type { Variables } from './measure';

/**
 * Argument values refused before execution, whatever the resolvers would say:
 * they would otherwise reach the cost limit (a `first` of 2^40 is "too
 * complex" when it is simply invalid) or a resolver (a 200 KB string). Both
 * checks look at the executed operation and the fragments it spreads, literal
 * values and variables alike, and answer HTTP 400 BAD_USER_INPUT naming the
 * argument (`first`, `input.notes`) or the variable (`$input.notes`).
 */

export function inputError(message: string, argument: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', argument, http: { status: 400 } } });
}

const PAGE_ARGUMENTS = new Set(['first', 'last']);

/**
 * `first`/`last` must lie in 0..maxPageSize. Only numbers are judged here: a
 * value of another type fails the Int variable coercion (BAD_USER_INPUT too),
 * or, as a literal, validation. Resolvers keep their own finer rules (the
 * leaderboard wants at least 1).
 */
export function checkPageArguments(definitions: readonly ExecutedDefinition[], values: Variables, maxPageSize: number): void {
  for (const definition of definitions) {
    forEachArgument(definition.selectionSet, (argument, onField) => {
      if (!onField || !PAGE_ARGUMENTS.has(argument.name.value)) return;
      const name = argument.name.value;
      const value =
        argument.value.kind === Kind.VARIABLE
          ? values[argument.value.name.value]
          : argument.value.kind === Kind.INT
            ? Number(argument.value.value)
            : undefined;
      if (typeof value !== 'number') return;
      if (value < 0) throw inputError(`${name} must not be negative`, name);
      if (value > maxPageSize) throw inputError(`${name} must not exceed ${maxPageSize}`, name);
    });
  }
}

/**
 * No string argument longer than `maxLength` characters (code points, as the
 * mutations' own rules and PostgreSQL's char_length count them): in literals
 * (arguments of fields and directives, nested in input objects and lists, and
 * variable defaults) and in the values of the operation's variables.
 */
export function checkStringLengths(
  operation: OperationDefinitionNode,
  definitions: readonly ExecutedDefinition[],
  variables: Variables | null | undefined,
  maxLength: number,
  production: boolean,
): void {
  const tooLong = (text: string) => text.length > maxLength && codePointsExceed(text, maxLength);
  // Like the other limits, production names the argument but not the number.
  const refuse = (path: string) => inputError(production ? `${path} is too long` : `${path} must be at most ${maxLength} characters`, path);

  const literal = (value: ValueNode, path: string): void => {
    if (value.kind === Kind.STRING && tooLong(value.value)) throw refuse(path);
    if (value.kind === Kind.LIST) value.values.forEach((item, index) => literal(item, `${path}[${index}]`));
    if (value.kind === Kind.OBJECT) for (const field of value.fields) literal(field.value, `${path}.${field.name.value}`);
  };
  const provided = (value: unknown, path: string): void => {
    if (typeof value === 'string' && tooLong(value)) throw refuse(path);
    if (Array.isArray(value)) value.forEach((item, index) => provided(item, `${path}[${index}]`));
    else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) provided(item, `${path}.${key}`);
    }
  };

  for (const definition of operation.variableDefinitions ?? []) {
    const name = `$${definition.variable.name.value}`;
    if (definition.defaultValue) literal(definition.defaultValue, name);
    // Only declared variables: execution ignores the rest.
    if (variables && Object.hasOwn(variables, definition.variable.name.value)) provided(variables[definition.variable.name.value], name);
  }
  for (const definition of definitions) {
    for (const directive of definition.directives ?? []) {
      for (const argument of directive.arguments ?? []) literal(argument.value, argument.name.value);
    }
    forEachArgument(definition.selectionSet, (argument) => literal(argument.value, argument.name.value));
  }
}

/** Whether `text` has more than `limit` code points; stops counting once it knows. */
function codePointsExceed(text: string, limit: number): boolean {
  let count = 0;
  for (const _ of text) {
    count += 1;
    if (count > limit) return true;
  }
  return false;
}

/** The operation, or a fragment it spreads: what the checks above look at. */
export type ExecutedDefinition = OperationDefinitionNode | FragmentDefinitionNode;

/** The operation and every fragment it spreads, directly or through other fragments, each once. */
export function reachableDefinitions(document: DocumentNode, operation: OperationDefinitionNode): ExecutedDefinition[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const reached: ExecutedDefinition[] = [operation];
  const seen = new Set<string>();
  // Also visits the fragments pushed while it runs: an array iterator reads the length at each step.
  for (const definition of reached) {
    forEachSelection(definition.selectionSet, (spread) => {
      const fragment = fragments.get(spread);
      if (fragment && !seen.has(spread)) {
        seen.add(spread);
        reached.push(fragment);
      }
    });
  }
  return reached;
}

/** Calls `onSpread` with each fragment name spread in the selection set (not following spreads). */
function forEachSelection(selectionSet: SelectionSetNode, onSpread: (name: string) => void): void {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FRAGMENT_SPREAD) onSpread(selection.name.value);
    else if (selection.selectionSet) forEachSelection(selection.selectionSet, onSpread);
  }
}

/** Every argument of a field (`onField` true) or a directive in the selection set, not following spreads. */
function forEachArgument(selectionSet: SelectionSetNode, visit: (argument: ArgumentNode, onField: boolean) => void): void {
  const directives = (nodes: readonly DirectiveNode[] | undefined) => {
    for (const directive of nodes ?? []) for (const argument of directive.arguments ?? []) visit(argument, false);
  };
  for (const selection of selectionSet.selections) {
    directives(selection.directives);
    if (selection.kind === Kind.FIELD) for (const argument of selection.arguments ?? []) visit(argument, true);
    if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) forEachArgument(selection.selectionSet, visit);
  }
}
