import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { ProviderError } from '../provider/errors';

/**
 * The error codes a client can switch on. Messages are for humans and never
 * contain SQL, stack traces or another organisation's data.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'AUTH_UNAVAILABLE'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'INTERNAL_SERVER_ERROR'
  | 'PROVIDER_UNAVAILABLE'
  | 'PROVIDER_RATE_LIMITED';

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

/**
 * A subscription named an id that is not in the caller's organisation; it has
 * no payload to carry a userError, so this is its top-level error. The message
 * names the type, never the id: another organisation's id and an id that does
 * not exist get byte-identical errors.
 */
export function notFound(type: string, argument: string): GraphQLError {
  return new GraphQLError(`${type} not found`, { extensions: { code: 'NOT_FOUND', argument } });
}

export function forbidden(message = 'Your role does not allow this'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}

/**
 * A provider field that could not be served: PROVIDER_RATE_LIMITED when the
 * provider asked us to slow down (`retryAfterSeconds` says for how long),
 * PROVIDER_UNAVAILABLE for anything else; `reason` is the failure (timeout,
 * breaker_open, http…). The message names neither the URL nor the key.
 */
export function providerFailure(error: ProviderError): GraphQLError {
  const rateLimited = error.failure === 'rate_limited';
  const retryAfterSeconds = error.retryAfterMs !== undefined ? Math.max(1, Math.ceil(error.retryAfterMs / 1000)) : undefined;
  // Without a Retry-After the error is the same for every field and every organisation (no id, no tenant data),
  // so one shared instance serves them all: graphql-jit wraps each field's error in its own located error and
  // copies `originalError.stack`, and a fresh error's stack would be captured and formatted per field (20 fields
  // of an open circuit, every request). Its stack is never sent (includeStacktraceInErrorResponses is off).
  if (retryAfterSeconds === undefined) {
    let shared = sharedProviderFailures.get(error.failure);
    if (!shared) {
      shared = newProviderFailure(error.failure, undefined);
      sharedProviderFailures.set(error.failure, shared);
    }
    return shared;
  }
  return newProviderFailure(error.failure, retryAfterSeconds);
  function newProviderFailure(failure: ProviderError['failure'], retryAfter: number | undefined): GraphQLError {
    return new GraphQLError(
      rateLimited
        ? 'The voice provider is rate limiting this organisation; retry later'
        : `The voice provider is unavailable (${failure.replace('_', ' ')})`,
      {
        extensions: {
          code: rateLimited ? 'PROVIDER_RATE_LIMITED' : 'PROVIDER_UNAVAILABLE',
          reason: failure,
          ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
        },
      },
    );
  }
}

/** One per failure kind (a handful): see providerFailure. */
const sharedProviderFailures = new Map<ProviderError['failure'], GraphQLError>();
