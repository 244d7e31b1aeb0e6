import type { SubscriptionResolvers } from '../generated/graphql';
import type { Context } from '../graphql/context';
import { localIdOf } from '../graphql/globalId';
import type { LiveItem } from '../live/stream';
import { callUpdated, callsInProgress, dashboardChanged, type LiveCallEventModel } from '../live/subscriptions';
import type { CallListRow } from '../queries/calls';
import { dashboardFigures, type DashboardFigures } from '../stats/dashboard';
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
  if (ctx.live) ctx.live.eventReceivedAt = item.receivedAt;
  return item.value;
}

export const Subscription: SubscriptionResolvers = {
  callsInProgress: {
    subscribe: (_root, { agentId }, ctx) => callsInProgress(ctx, agentId == null ? undefined : localIdOf('Agent', agentId, 'agentId')),
    resolve: (item: LiveItem<LiveCallEventModel>, _args: unknown, ctx: Context) => unwrap(item, ctx),
  },
  callUpdated: {
    subscribe: (_root, { id }, ctx) => callUpdated(ctx, localIdOf('Call', id, 'id')),
    resolve: (item: LiveItem<CallListRow>, _args: unknown, ctx: Context) => unwrap(item, ctx),
  },
  dashboardChanged: {
    subscribe: (_root, { range }, ctx) => {
      const spec = rangeSpec(range);
      return dashboardChanged(ctx, JSON.stringify(spec), (batch) => dashboardFigures(batch.scope, spec, batch.now));
    },
    resolve: (item: LiveItem<DashboardFigures>, _args: unknown, ctx: Context) => unwrap(item, ctx),
  },
};
