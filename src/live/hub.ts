import { GraphQLError } from 'graphql';
import type { Invalidation, InvalidationListener } from '../cache/listener';
import type { EntityCaches } from '../cache/runtime';
import type { Db } from '../db/database';
import { tenantScope, type TenantScope } from '../db/tenant';
import { createLoaders, type Loaders } from '../loaders';
import type { Logger } from '../logger';
import { findLiveCalls, type CallListRow } from '../queries/calls';

/** Tables whose writes can change the statistics panel (the rollups move with calls and appointments). */
const FIGURE_TABLES = new Set([
  'calls',
  'appointments',
  'call_daily_agent_rollups',
  'call_daily_org_rollups',
  'appointment_daily_rollups',
  'appointment_daily_org_rollups',
]);
/** Tables whose NOTIFYs name changed calls (migration 0012). */
const CALL_TABLES = new Set(['calls', 'call_transcripts']);

/** One organisation's changed calls, resolved once for all its subscribers. */
export interface CallBatch {
  /** The changed calls as they are now, by id; a call that no longer exists is absent. */
  calls: ReadonlyMap<string, CallListRow>;
  /** A resync (a bulk write, the listener back after a gap): every live call and every call a subscriber asked about. */
  resync: boolean;
  /** Shared by every subscriber of the organisation for this batch: N subscribers' nested fields are one statement per loader. */
  loaders: Loaders;
  /** performance.now() when the batch's first notification arrived: delivery lag is measured from here. */
  receivedAt: number;
}

/** One organisation's figures changed: each range is computed once for all its subscribers. */
export interface FiguresBatch {
  scope: TenantScope;
  loaders: Loaders;
  now: Date;
  receivedAt: number;
  /** The figures for `key` (a range), computed by the first subscriber that asks and shared with the rest. */
  shared<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

/** What the hub knows about one subscription. */
export interface LiveSubscriber {
  readonly orgId: string;
  /** Calls to look up in a resync whatever their status (the calls a subscriber shows). */
  interestedCallIds?: () => Iterable<string>;
  onCalls?: (batch: CallBatch) => void;
  onFigures?: (batch: FiguresBatch) => void;
  /** The subscription cannot go on (shutdown, a failed lookup): it ends with this error. */
  onFailure: (error: GraphQLError) => void;
}

export interface LiveHubOptions {
  db: Db;
  /** The instance's one LISTEN connection, shared with the caches (owned and stopped by the caller); started by the first subscription if the caches have not. */
  listener: InvalidationListener;
  entities: EntityCaches | undefined;
  batching: boolean;
  maxSubscriptionsPerOrg: number;
  figuresIntervalMs: number;
  logger: Logger;
  clock?: () => Date;
}

export function liveError(code: 'LIVE_UNAVAILABLE' | 'SHUTTING_DOWN' | 'TOO_MANY_SUBSCRIPTIONS' | 'SLOW_CONSUMER', message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code } });
}

interface PendingCalls {
  ids: Set<string>;
  all: boolean;
  receivedAt: number;
}

interface FiguresState {
  timer: NodeJS.Timeout | undefined;
  lastAt: number;
  receivedAt: number;
}

/**
 * The instance's side of live subscriptions: a subscription to the
 * instance's one LISTEN connection on the cache-invalidation channel (shared
 * with the caches; started with the first subscription if they have not),
 * and the subscribers by organisation.
 *
 * Notifications are gathered per organisation until the end of the current
 * turn of the event loop (a transaction's NOTIFYs arrive together), then each
 * organisation's changed calls are read in ONE statement through a loader
 * set made for the batch and shared by all its subscribers, so nested fields
 * (agent, contact, transcript) cost one statement per loader however many
 * subscribers select them. Figures are debounced: at most one batch per
 * organisation per figuresIntervalMs.
 *
 * A lost listener may have missed notifications: when it hears again, every
 * organisation with subscribers is resynced (its live calls and the calls its
 * subscribers show are read again, its figures recomputed), so a gap costs a
 * few statements, never a wrong dashboard.
 */
export class LiveHub {
  private readonly subscribers = new Map<string, Set<LiveSubscriber>>();
  private pending = new Map<string, PendingCalls>();
  private readonly figures = new Map<string, FiguresState>();
  private flushScheduled = false;
  private unsubscribe: (() => void) | undefined;
  private missedSomething = false;
  private closed = false;
  /** Subscriptions open on this instance. */
  count = 0;
  /** Batches resolved (call and figure batches), for /metrics. */
  batches = 0;

  constructor(private readonly options: LiveHubOptions) {}

  /** Starts LISTENing if nothing has yet; whether the listener hears now. */
  async ensureListening(): Promise<boolean> {
    if (this.closed) return false;
    const { listener } = this.options;
    this.unsubscribe ??= listener.subscribe({
      onInvalidation: (invalidation) => this.heard(invalidation),
      onConnected: () => {
        if (this.missedSomething) this.resyncAll();
        this.missedSomething = false;
      },
      onLost: () => {
        this.missedSomething = true;
      },
    });
    await listener.start();
    return listener.listening;
  }

  /** Registers a subscriber; the returned function removes it. Throws TOO_MANY_SUBSCRIPTIONS past the organisation's limit. */
  add(subscriber: LiveSubscriber): () => void {
    if (this.closed) throw liveError('SHUTTING_DOWN', 'The server is shutting down');
    let set = this.subscribers.get(subscriber.orgId);
    if (!set) this.subscribers.set(subscriber.orgId, (set = new Set()));
    if (set.size >= this.options.maxSubscriptionsPerOrg) {
      if (set.size === 0) this.subscribers.delete(subscriber.orgId);
      throw liveError(
        'TOO_MANY_SUBSCRIPTIONS',
        `Your organisation has ${this.options.maxSubscriptionsPerOrg} subscriptions open on this server, the most allowed`,
      );
    }
    set.add(subscriber);
    this.count += 1;
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.count -= 1;
      set.delete(subscriber);
      if (set.size === 0 && this.subscribers.get(subscriber.orgId) === set) {
        this.subscribers.delete(subscriber.orgId);
        clearTimeout(this.figures.get(subscriber.orgId)?.timer);
        this.figures.delete(subscriber.orgId);
      }
    };
  }

  /** A subscription's first state: the organisation's live calls (when `live`) and `ids`, in one statement. */
  async snapshot(orgId: string, ids: readonly string[], live: boolean): Promise<CallBatch> {
    const receivedAt = performance.now();
    const { scope, loaders } = this.batchScope(orgId);
    const rows = live ? await findLiveCalls(scope, ids) : await this.load(loaders, ids);
    if (live) for (const row of rows) loaders.callById.prime(row.id, row);
    return { calls: new Map(rows.map((row) => [row.id, row])), resync: true, loaders, receivedAt };
  }

  /** A figures batch for one subscriber's first event. */
  figuresNow(orgId: string): FiguresBatch {
    return this.figuresBatch(orgId, performance.now());
  }

  /** Ends every subscription with SHUTTING_DOWN and stops listening. */
  async close(): Promise<void> {
    this.closed = true;
    for (const state of this.figures.values()) clearTimeout(state.timer);
    for (const set of this.subscribers.values()) {
      for (const subscriber of set) subscriber.onFailure(liveError('SHUTTING_DOWN', 'The server is shutting down'));
    }
    this.unsubscribe?.();
  }

  private heard(invalidation: Invalidation): void {
    const receivedAt = performance.now();
    if (invalidation.orgId === '*') {
      // A TRUNCATE: every organisation may have changed.
      this.resyncAll();
      return;
    }
    if (!this.subscribers.has(invalidation.orgId)) return;
    if (FIGURE_TABLES.has(invalidation.table)) this.figuresChanged(invalidation.orgId, receivedAt);
    if (!CALL_TABLES.has(invalidation.table) || invalidation.callIds === undefined) return;
    let pending = this.pending.get(invalidation.orgId);
    if (!pending) this.pending.set(invalidation.orgId, (pending = { ids: new Set(), all: false, receivedAt }));
    if (invalidation.callIds === '*') pending.all = true;
    else for (const id of invalidation.callIds) pending.ids.add(id);
    this.scheduleFlush();
  }

  private resyncAll(): void {
    const receivedAt = performance.now();
    for (const orgId of this.subscribers.keys()) {
      this.pending.set(orgId, { ids: new Set(), all: true, receivedAt });
      this.figuresChanged(orgId, receivedAt);
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // After the current turn: the rest of the transaction's NOTIFYs (already read from the socket) join the batch.
    setImmediate(() => {
      this.flushScheduled = false;
      const pending = this.pending;
      this.pending = new Map();
      for (const [orgId, calls] of pending) void this.resolveCalls(orgId, calls);
    });
  }

  private async resolveCalls(orgId: string, pending: PendingCalls): Promise<void> {
    const set = this.subscribers.get(orgId);
    if (!set || set.size === 0) return;
    const { scope, loaders } = this.batchScope(orgId);
    let rows: CallListRow[];
    try {
      if (pending.all) {
        const interested = new Set(pending.ids);
        for (const subscriber of set) for (const id of subscriber.interestedCallIds?.() ?? []) interested.add(id);
        rows = await findLiveCalls(scope, [...interested]);
        for (const row of rows) loaders.callById.prime(row.id, row);
      } else {
        rows = await this.load(loaders, [...pending.ids]);
      }
    } catch (error) {
      this.options.logger.warn({ err: error, orgId }, 'live subscriptions: could not read changed calls; subscriptions of the organisation end');
      for (const subscriber of [...set]) subscriber.onFailure(liveError('LIVE_UNAVAILABLE', 'Live updates were interrupted; subscribe again'));
      return;
    }
    this.batches += 1;
    const batch: CallBatch = { calls: new Map(rows.map((row) => [row.id, row])), resync: pending.all, loaders, receivedAt: pending.receivedAt };
    for (const subscriber of [...set]) subscriber.onCalls?.(batch);
  }

  private async load(loaders: Loaders, ids: readonly string[]): Promise<CallListRow[]> {
    const rows = await loaders.callById.loadMany(ids);
    const found: CallListRow[] = [];
    for (const row of rows) {
      if (row instanceof Error) throw row;
      if (row) found.push(row);
    }
    return found;
  }

  private figuresChanged(orgId: string, receivedAt: number): void {
    const set = this.subscribers.get(orgId);
    if (!set || ![...set].some((subscriber) => subscriber.onFigures)) return;
    let state = this.figures.get(orgId);
    if (!state) this.figures.set(orgId, (state = { timer: undefined, lastAt: Number.NEGATIVE_INFINITY, receivedAt }));
    if (state.timer) return;
    state.receivedAt = receivedAt;
    const current = state;
    const delay = Math.max(0, current.lastAt + this.options.figuresIntervalMs - performance.now());
    current.timer = setTimeout(() => {
      current.timer = undefined;
      current.lastAt = performance.now();
      const subscribers = this.subscribers.get(orgId);
      if (!subscribers) return;
      this.batches += 1;
      const batch = this.figuresBatch(orgId, current.receivedAt);
      for (const subscriber of [...subscribers]) subscriber.onFigures?.(batch);
    }, delay);
  }

  private figuresBatch(orgId: string, receivedAt: number): FiguresBatch {
    const { scope, loaders, now } = this.batchScope(orgId);
    const memo = new Map<string, Promise<unknown>>();
    return {
      scope,
      loaders,
      now,
      receivedAt,
      shared<T>(key: string, compute: () => Promise<T>): Promise<T> {
        let result = memo.get(key) as Promise<T> | undefined;
        if (!result) memo.set(key, (result = compute()));
        return result;
      },
    };
  }

  private batchScope(orgId: string): { scope: TenantScope; loaders: Loaders; now: Date } {
    const now = this.options.clock?.() ?? new Date();
    const scope = tenantScope(this.options.db, orgId);
    return { scope, now, loaders: createLoaders(scope, { batch: this.options.batching }, now, this.options.entities) };
  }
}
