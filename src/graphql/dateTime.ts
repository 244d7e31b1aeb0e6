import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';

/** What src/db/types.ts makes of every timestamptz, and what Date's JSON form prints. */
const ISO_UTC_MILLIS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * graphql-scalars' DateTime, except that a timestamp already in the printed
 * form goes out as it is: the stock scalar parses every string into a Date,
 * which the JSON response then prints back into the same text. Anything else
 * (a Date, another valid form, an invalid value) is the stock scalar's to
 * serialize or refuse.
 */
export const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  serialize: (value: unknown) => (typeof value === 'string' && ISO_UTC_MILLIS.test(value) ? value : DateTimeResolver.serialize(value)),
});
