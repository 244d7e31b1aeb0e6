import type { SubscriptionResolvers } from '../generated/graphql';
import type { Context } from '../graphql/context';
import { localIdOf } from '../graphql/globalId';
import type { LiveItem } from '../live/stream';
import { callUpdated, callsInProgress, dashboardChanged } from '../live/subscriptions';
import { dashboardFigures } from '../stats/dashboard';
import { rangeSpec } from './args';

/**
 * Each event runs the subscriber's selection with the loaders of the event's
 * batch, shared by every subscriber of the organisation (src/live/hub.ts):
 * one statement per loader per batch, not per subscriber. One subscription
 * executes its events one after another, so swapping the context's loaders
 * here is seen by exactly this event's fields.
 */
function unwrap<T>(item: LiveItem<T>, ctx: Context): T {
  if ('error' in item) throw item.error;
  ctx.loaders = item.loaders;
  return item.value;
}

// The generated types want the subscribe function's iterable to yield `{ [field]: value }`; ours yields
// LiveItems that `resolve` unwraps, which the generated signature cannot express.
/* eslint-disable @typescript-eslint/no-explicit-any */
export const Subscription: SubscriptionResolvers = {
  callsInProgress: {
    subscribe: (_root, { agentId }, ctx) =>
      callsInProgress(ctx, agentId == null ? undefined : localIdOf('Agent', agentId, 'agentId')) as unknown as Promise<AsyncIterable<any>>,
    resolve: (item: LiveItem<any>, _args: unknown, ctx: Context) => unwrap(item, ctx),
  },
  callUpdated: {
    subscribe: (_root, { id }, ctx) => callUpdated(ctx, localIdOf('Call', id, 'id')) as unknown as Promise<AsyncIterable<any>>,
    resolve: (item: LiveItem<any>, _args: unknown, ctx: Context) => unwrap(item, ctx),
  },
  dashboardChanged: {
    subscribe: (_root, { range }, ctx) => {
      const spec = rangeSpec(range);
      return dashboardChanged(ctx, JSON.stringify(spec), (batch) => dashboardFigures(batch.scope, spec, batch.now)) as unknown as Promise<
        AsyncIterable<any>
      >;
    },
    resolve: (item: LiveItem<any>, _args: unknown, ctx: Context) => unwrap(item, ctx),
  },
};
/* eslint-enable @typescript-eslint/no-explicit-any */
