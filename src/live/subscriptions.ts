import type { Context } from '../graphql/context';
import { notFound } from '../graphql/errors';
import { LIVE_CALL_STATUSES, type CallListRow } from '../queries/calls';
import type { DashboardFigures } from '../stats/dashboard';
import { liveError, type CallBatch, type FiguresBatch, type LiveHub, type LiveSubscriber } from './hub';
import { LiveStream } from './stream';

export type LiveCallChangeKind = 'STARTED' | 'CHANGED' | 'ENDED';

export interface LiveCallEventModel {
  change: LiveCallChangeKind;
  call: CallListRow;
}

const LIVE = new Set<string>(LIVE_CALL_STATUSES);

function liveOf(ctx: Context): NonNullable<Context['live']> {
  // Only the live transports (src/live/websocket.ts) put a hub in the context.
  if (!ctx.live) throw liveError('LIVE_UNAVAILABLE', 'Subscriptions are served over WebSocket at /graphql');
  return ctx.live;
}

async function listening(hub: LiveHub): Promise<void> {
  if (!(await hub.ensureListening())) throw liveError('LIVE_UNAVAILABLE', 'Live updates are unavailable right now; try again shortly');
}

/**
 * Rows of one call may arrive out of order around a subscription's first
 * state (a batch read before the snapshot, delivered after it): a row older
 * than the one already shown is dropped. Equal times pass (a transcript does
 * not touch the call's updated_at).
 */
class Versions {
  private readonly seen = new Map<string, number>();
  fresh(row: CallListRow): boolean {
    const at = new Date(row.updated_at).getTime();
    if (at < (this.seen.get(row.id) ?? Number.NEGATIVE_INFINITY)) return false;
    this.seen.set(row.id, at);
    return true;
  }
  forget(id: string): void {
    this.seen.delete(id);
  }
}

/**
 * Batches that arrive while a subscription reads its first state wait, and
 * are applied after it in order; Versions drops what the first state made stale.
 */
function held(apply: (batch: CallBatch) => void) {
  let waiting: CallBatch[] | undefined = [];
  return {
    onCalls: (batch: CallBatch) => {
      if (waiting) waiting.push(batch);
      else apply(batch);
    },
    start: (first: CallBatch) => {
      apply(first);
      const later = waiting ?? [];
      waiting = undefined;
      for (const batch of later) apply(batch);
    },
  };
}

/** callsInProgress: STARTED for each call live at the start, then STARTED / CHANGED / ENDED. */
export async function callsInProgress(ctx: Context, agentId: string | undefined): Promise<LiveStream<LiveCallEventModel>> {
  const live = liveOf(ctx);
  const { hub } = live;
  await listening(hub);
  const stream = new LiveStream<LiveCallEventModel>(live);
  const shown = new Set<string>();
  const versions = new Versions();
  const apply = (batch: CallBatch) => {
    for (const row of batch.calls.values()) {
      const inView = LIVE.has(row.status) && (agentId === undefined || row.agent_id === agentId);
      const known = shown.has(row.id);
      if (!inView && !known) continue;
      if (!versions.fresh(row)) continue;
      if (inView) {
        shown.add(row.id);
        stream.push({ value: { change: known ? 'CHANGED' : 'STARTED', call: row }, loaders: batch.loaders, receivedAt: batch.receivedAt });
      } else {
        shown.delete(row.id);
        versions.forget(row.id);
        stream.push({ value: { change: 'ENDED', call: row }, loaders: batch.loaders, receivedAt: batch.receivedAt });
      }
    }
  };
  const gate = held(apply);
  const subscriber: LiveSubscriber = {
    orgId: ctx.orgId,
    interestedCallIds: () => shown,
    onCalls: gate.onCalls,
    onFailure: (error) => stream.fail(error),
  };
  const remove = hub.add(subscriber);
  stream.setOnEnd(remove);
  try {
    gate.start(await hub.snapshot(ctx.orgId, [], true));
  } catch (error) {
    await stream.return();
    throw error;
  }
  return stream;
}

/** callUpdated: the call now, then again on every change. */
export async function callUpdated(ctx: Context, callId: string): Promise<LiveStream<CallListRow>> {
  const live = liveOf(ctx);
  const { hub } = live;
  await listening(hub);
  const stream = new LiveStream<CallListRow>(live);
  const versions = new Versions();
  const apply = (batch: CallBatch) => {
    const row = batch.calls.get(callId);
    if (row && versions.fresh(row)) stream.push({ value: row, loaders: batch.loaders, receivedAt: batch.receivedAt });
  };
  const gate = held(apply);
  const remove = hub.add({
    orgId: ctx.orgId,
    interestedCallIds: () => [callId],
    onCalls: gate.onCalls,
    onFailure: (error) => stream.fail(error),
  });
  stream.setOnEnd(remove);
  let first: CallBatch;
  try {
    first = await hub.snapshot(ctx.orgId, [callId], false);
  } catch (error) {
    await stream.return();
    throw error;
  }
  if (!first.calls.has(callId)) {
    await stream.return();
    throw notFound('Call', 'id');
  }
  gate.start(first);
  return stream;
}

/**
 * dashboardChanged: the panel now, then again whenever the hub's debounced
 * figures batch gives different values. Subscribers of one organisation and
 * range share one computation per batch (`shared`).
 */
export async function dashboardChanged(
  ctx: Context,
  rangeKey: string,
  compute: (batch: FiguresBatch) => Promise<DashboardFigures>,
): Promise<LiveStream<DashboardFigures>> {
  const live = liveOf(ctx);
  const { hub } = live;
  await listening(hub);
  const stream = new LiveStream<DashboardFigures>(live);
  let last: string | undefined;
  let chain = Promise.resolve();
  const emit = (batch: FiguresBatch) => {
    // In order: a slow computation must not let an older panel overtake a newer one.
    chain = chain
      .then(() => batch.shared(rangeKey, () => compute(batch)))
      .then((figures) => {
        const text = JSON.stringify(figures);
        if (text === last) return;
        last = text;
        stream.push({ value: figures, loaders: batch.loaders, receivedAt: batch.receivedAt });
      })
      .catch(() => stream.fail(liveError('LIVE_UNAVAILABLE', 'Live updates were interrupted; subscribe again')));
  };
  const remove = hub.add({ orgId: ctx.orgId, onFigures: emit, onFailure: (error) => stream.fail(error) });
  stream.setOnEnd(remove);
  emit(hub.figuresNow(ctx.orgId));
  return stream;
}
