import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { PhoneNumberResolver } from 'graphql-scalars';

/**
 * E.164, the rule the contacts.phone and phone_numbers.e164 CHECK constraints
 * (0001) enforce: a plus sign, then 7 to 15 digits, the first not 0.
 */
export const E164 = /^\+[1-9][0-9]{6,14}$/;

const refuse = (value: unknown) =>
  new GraphQLError(`${JSON.stringify(value)} is not an E.164 phone number: a plus sign and 7 to 15 digits, e.g. +14155550123`);

function parse(value: unknown): string {
  if (typeof value !== 'string' || !E164.test(value)) throw refuse(value);
  return value;
}

/**
 * graphql-scalars' PhoneNumber accepts `415-555-0199` and `+1 415…`, which
 * our columns refuse; as an input it would turn a typo into a masked
 * constraint failure. Inputs are therefore strict E.164, refused during
 * coercion (a BAD_USER_INPUT naming the variable or literal). Outputs keep the
 * stock serializer: numbers a provider reported on a call are shown as they came.
 */
export const PhoneNumber = new GraphQLScalarType({
  ...PhoneNumberResolver.toConfig(),
  parseValue: parse,
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw refuse(ast.kind);
    return parse(ast.value);
  },
});
