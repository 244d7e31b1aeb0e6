/**
 * GraphQL enum values are the database values upper-cased (`in_progress` ↔
 * `IN_PROGRESS`); the template-literal types keep both sides checked.
 */
export function toGraphQLEnum<T extends string>(value: T): Uppercase<T> {
  return value.toUpperCase() as Uppercase<T>;
}

export function toDbEnum<T extends string>(value: T): Lowercase<T> {
  return value.toLowerCase() as Lowercase<T>;
}

export function toGraphQLEnumOrNull<T extends string>(value: T | null): Uppercase<T> | null {
  return value === null ? null : toGraphQLEnum(value);
}
