import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';

/**
 * The error codes a client can switch on. Messages are for humans and never
 * contain SQL, stack traces or another organisation's data.
 */
export type ErrorCode = 'UNAUTHENTICATED' | 'AUTH_UNAVAILABLE' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'INTERNAL_SERVER_ERROR';

export function badUserInput(message: string, argument?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...(argument ? { argument } : {}) } });
}

export function unauthenticated(message = 'A valid bearer token is required'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/**
 * No key to check the token against (the JWKS endpoint is failing): the
 * token may be fine, so the client must retry, not log the user out. Thrown
 * while building the context, where Apollo takes the status and headers from
 * `extensions.http` (and strips it from the body); plugins do not run there.
 */
export function authUnavailable(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError('Authentication is temporarily unavailable; retry later', {
    extensions: {
      code: 'AUTH_UNAVAILABLE',
      http: { status: 503, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) },
    },
  });
}

export function forbidden(message = 'Your role does not allow this'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}
