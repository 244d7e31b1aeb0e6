import type { GraphQLFormattedError } from 'graphql';

/**
 * The messages of graphql-js's ValuesOfCorrectTypeRule: an inline argument
 * value that is not of its declared type (a malformed PhoneNumber, a
 * DateRangeInput with both or neither of its `@oneOf` fields, a missing
 * required input field). The rule has no code of its own, so its messages are
 * the only way to tell these from other validation failures.
 */
const BAD_LITERAL = [
  /^Expected value of type "/,
  /^Field "[^"]+" of required type "[^"]+" was not provided\./,
  /^Field "[^"]+" is not defined by type "/,
  /^OneOf Input Object "[^"]+" must specify exactly one key\./,
  /^Field "[^"]+" must be non-null\./,
];

/**
 * Apollo answers a bad value in `variables` with BAD_USER_INPUT but the same
 * bad value written inline with GRAPHQL_VALIDATION_FAILED. To a client both
 * are the same mistake, so both get BAD_USER_INPUT (still HTTP 400, still
 * before anything runs). Other validation failures (an unknown field, a
 * fragment cycle) are errors in the document and keep their code.
 */
export function badLiteralAsUserInput(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (formatted.extensions?.code !== 'GRAPHQL_VALIDATION_FAILED') return formatted;
  if (!BAD_LITERAL.some((pattern) => pattern.test(formatted.message))) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, code: 'BAD_USER_INPUT' } };
}
