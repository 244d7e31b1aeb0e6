import type { ApolloServerPlugin } from '@apollo/server';
import { OperationTypeNode } from 'graphql';
import responseCachePlugin from '@apollo/server-plugin-response-cache';
import type { Context } from '../graphql/context';
import type { CacheRuntime } from './runtime';

/**
 * Statistics presets are whole local days, so a cached panel must never
 * outlive a local midnight. Every time zone's midnight falls on a quarter hour
 * (UTC+5:45 is the oddest), so keys carry the quarter hour of the request's
 * "now": no preset answer is ever served across a day boundary, whatever the maxAge.
 */
const QUARTER_HOUR_MS = 15 * 60 * 1000;

/**
 * Whole-response caching of queries, driven by the `@cacheControl` hints in
 * schema.graphql (Apollo's response-cache plugin).
 *
 * Tenancy by construction: every key carries the organisation and role from
 * the verified token, plus the organisation's cache generation (runtime.ts);
 * PRIVATE answers (the viewer) also carry the user. Two tokens of different
 * organisations can never compute the same key, whatever the query text,
 * variables, persisted-query id or HTTP method.
 *
 * Never cached: mutations (the plugin only caches queries), responses with
 * errors, anything whose hints include maxAge 0 (e.g. `recordingUrl`), and
 * everything while the LISTEN connection is down.
 */
export function responseCachePlugins(runtime: CacheRuntime): ApolloServerPlugin<Context>[] {
  const plugins: ApolloServerPlugin<Context>[] = [localWritesPlugin(runtime)];
  const cache = runtime.responseCache;
  if (!cache) return plugins;
  const counters = runtime.stats.for('response');
  const consulted = new WeakSet<object>();
  plugins.push(
    responseCachePlugin<Context>({
      cache,
      sessionId: async ({ contextValue }) => `${contextValue.orgId}:${contextValue.userId}`,
      extraCacheKeyData: async ({ contextValue }) => ({
        org: contextValue.orgId,
        role: contextValue.role,
        generation: runtime.generationOf(contextValue.orgId),
        quarter: Math.floor(contextValue.now.getTime() / QUARTER_HOUR_MS),
      }),
      shouldReadFromCache: async ({ contextValue }) => {
        if (!runtime.trusted()) return false;
        consulted.add(contextValue);
        return true;
      },
      shouldWriteToCache: async () => runtime.trusted(),
    }),
    {
      async requestDidStart() {
        return {
          async willSendResponse({ contextValue, metrics }) {
            if (!consulted.has(contextValue)) return;
            if (metrics.responseCacheHit) counters.hits += 1;
            else counters.misses += 1;
          },
        };
      },
    },
  );
  return plugins;
}

/** After a mutation served here, this instance's next read sees it, without waiting for the NOTIFY. */
function localWritesPlugin(runtime: CacheRuntime): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, contextValue }) {
          if (operation?.operation === OperationTypeNode.MUTATION && contextValue.orgId) runtime.invalidateLocally(contextValue.orgId);
        },
      };
    },
  };
}
