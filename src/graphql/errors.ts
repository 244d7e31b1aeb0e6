import { GraphQLError } from 'graphql';

/**
 * The error codes a client can switch on. Messages are for humans and never
 * contain SQL, stack traces or another organisation's data.
 */
export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'NOT_FOUND' | 'INTERNAL_SERVER_ERROR';

export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...(argument ? { argument } : {}) } });
}

export function unauthenticated(message = 'A valid bearer token is required'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

export function forbidden(message = 'Your role does not allow this'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}

/**
 * A write named an id that is not in the caller's organisation. The message
 * names the type, never the id, so another organisation's id and an id that
 * does not exist get byte-identical errors.
 */
export function notFound(type: string, argument: string): GraphQLError {
  return new GraphQLError(`${type} not found`, { extensions: { code: 'NOT_FOUND', argument } });
}
