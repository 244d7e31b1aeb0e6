import { GraphQLScalarType } from 'graphql';

/**
 * A scalar whose parse errors are plain errors. graphql-scalars throws
 * GraphQLErrors, which graphql-js validation reports as they are: a bare
 * "Value is not a valid email address" with no location and nothing that
 * marks it as a bad value. A plain error is wrapped by graphql-js the way its
 * own scalars' are ("Expected value of type "EmailAddress!", found "x"; …"
 * inline, "Variable "$input" got invalid value … at "input.email"" in
 * variables), which src/graphql/badValues.ts answers as BAD_USER_INPUT.
 */
export function withPlainParseErrors(scalar: GraphQLScalarType): GraphQLScalarType {
  const config = scalar.toConfig();
  const plain = <T>(parse: () => T): T => {
    try {
      return parse();
    } catch (error) {
      throw new TypeError(error instanceof Error ? error.message : String(error));
    }
  };
  const { parseValue, parseLiteral } = config;
  return new GraphQLScalarType({
    ...config,
    parseValue: (value: unknown) => plain(() => parseValue(value)),
    parseLiteral: (ast, variables) => plain(() => parseLiteral(ast, variables)),
  });
}
