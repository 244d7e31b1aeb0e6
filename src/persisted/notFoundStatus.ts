import type { ApolloServerPlugin } from '@apollo/server';

/**
 * Apollo Server answers an unknown APQ hash with 200; we answer 404, as Apollo
 * Router does, so every refusal is a 4xx. Apollo Client's persisted-queries
 * link still retries with the full query: it reads the error code from
 * non-2xx bodies too, and only gives up on APQ for PERSISTED_QUERY_NOT_SUPPORTED
 * (older 3.x releases also on 400/500, never on 404).
 */
export const persistedQueryNotFoundStatusPlugin: ApolloServerPlugin = {
  async requestDidStart() {
    return {
      async willSendResponse({ errors, response }) {
        if (errors?.some((error) => error.extensions.code === 'PERSISTED_QUERY_NOT_FOUND')) response.http.status = 404;
      },
    };
  },
};
