import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from './context';

const UNAVAILABLE = new Set([
  'DATABASE_UNAVAILABLE',
  'DATABASE_BUSY',
  'REQUEST_TIMEOUT',
  'READ_ONLY',
  'PROVIDER_UNAVAILABLE',
  'PROVIDER_RATE_LIMITED',
]);

/**
 * HTTP 503 (with Retry-After) when the database (or, for the provider sync,
 * the voice provider) kept the whole operation from
 * being served, so load balancers and clients retry instead of treating an
 * empty 200 as an answer. A partial result stays 200.
 */
export const failureStatusPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== 'single') return;
        const { data, errors } = response.body.singleResult;
        if (!errors?.some((error) => UNAVAILABLE.has(String(error.extensions?.code)))) return;
        const nothingServed = data == null || Object.values(data).every((value) => value === null);
        if (!nothingServed) return;
        response.http.status = 503;
        response.http.headers.set('retry-after', '1');
      },
    };
  },
};
