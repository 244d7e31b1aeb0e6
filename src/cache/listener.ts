import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger';
import { throttledWarn, type ThrottleClock, type ThrottledWarn } from '../observability/throttledWarn';

export const INVALIDATION_CHANNEL = 'switchboard_invalidate';

/**
 * One NOTIFY from migration 0008's triggers: `<org id | *>:<table>:<transaction id>`,
 * and for calls and call_transcripts (migration 0012) `:<call id>,<call id>,…` or `:*` after it.
 */
export interface Invalidation {
  /** `*` after a TRUNCATE: every organisation. */
  orgId: string;
  table: string;
  /** The writing transaction's id: the organisation's new cache generation. */
  generation: string;
  /** The calls the write changed (live subscriptions, src/live); `*` when too many to name. Absent for other tables. */
  callIds?: readonly string[] | '*';
}

export function parseInvalidation(payload: string | undefined): Invalidation | undefined {
  const [, orgId, table, generation, ids] = /^(\*|[0-9]+):([a-z_]+):([0-9]+)(?::(\*|[0-9]+(?:,[0-9]+)*))?$/.exec(payload ?? '') ?? [];
  if (!orgId || !table || !generation) return undefined;
  if (ids === undefined) return { orgId, table, generation };
  return { orgId, table, generation, callIds: ids === '*' ? '*' : ids.split(',') };
}

/** Sent by a listener to prove it hears (never an invalidation): every instance ignores other instances' probes. */
const PROBE_PREFIX = 'probe:';

/** Why the listener is not trusted right now; what /metrics and /health/ready report. */
export type ListenerDownReason =
  /** Not connected yet, or connecting again after a failure. */
  | 'connecting'
  /** Could not connect or LISTEN (database down, standby refusing LISTEN). */
  | 'unreachable'
  /** LISTENing, but its own probe NOTIFY never came back (a transaction pooler, a replica). */
  | 'deaf'
  /** The connection broke. */
  | 'lost';

export interface ListenerHandlers {
  onInvalidation(invalidation: Invalidation): void;
  /** LISTEN is established: notifications from now on will arrive. `sessionId` is new on every connection. */
  onConnected(sessionId: string): void;
  /** The connection is gone: notifications may be missed from now until the next onConnected. */
  onLost(): void;
}

export interface ListenerOptions {
  backoffMs: number;
  backoffMaxMs: number;
  /** How often the listener proves again that it hears (a probe NOTIFY), which also notices a silently dead socket. */
  pingMs: number;
  /** How long a probe may take to come back before the listener counts as deaf. */
  probeTimeoutMs: number;
  /**
   * Sends `NOTIFY channel, payload` on ANOTHER session than the listener's own
   * (the request pool): a listener behind a transaction pooler would hear its
   * own session's NOTIFY while the pooler links it to that server connection,
   * but never one from elsewhere — and real invalidations come from elsewhere.
   */
  sendProbe(channel: string, payload: string): Promise<unknown>;
  logger: Logger;
  /** Failed reconnects repeat every backoffMaxMs while PostgreSQL is down: logged at most once per this interval. */
  logIntervalMs?: number;
  clock?: ThrottleClock;
}

/**
 * The instance's one dedicated LISTEN connection, shared by everything that
 * needs to hear writes (the caches, live subscriptions: src/server/services.ts
 * subscribes both), so each notification is received and parsed once per
 * instance however many parts use it. A pg.Client of its own,
 * never a pool connection (a pooled connection would be handed to requests and
 * LISTEN would be lost on release), on DATABASE_DIRECT_URL.
 *
 * It is trusted only once it has proved it hears: after LISTEN, and then every
 * pingMs, a probe NOTIFY sent from another session must come back within
 * probeTimeoutMs. A successful LISTEN proves nothing behind a transaction
 * pooler (the server connection that ran it is handed to others, and
 * notifications for it are dropped), so a probe that does not come back
 * counts as deaf. Any failure — error, end, a probe not heard — counts as
 * lost: the handlers flush, and the client reconnects with a doubling backoff
 * until it hears again. The reason is logged once per change, not per retry.
 */
export class InvalidationListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  /** Probes in flight, by payload: resolved when the payload comes back. */
  private readonly probes = new Map<string, () => void>();
  /** Why the listener is not trusted; undefined while it is. */
  downReason: ListenerDownReason | undefined = 'connecting';
  /** Completed connections, the first one included. */
  connections = 0;
  /** PostgreSQL backend pid of the current connection, if any. */
  backendPid: number | undefined;
  private readonly warnConnectFailed: ThrottledWarn;
  private readonly subscribers = new Set<ListenerHandlers>();
  private started: Promise<void> | undefined;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly options: ListenerOptions,
  ) {
    this.warnConnectFailed = throttledWarn(
      options.logger,
      'cache invalidation listener could not connect; caches bypassed',
      options.logIntervalMs ?? 0,
      options.clock,
    );
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  /**
   * Adds a receiver of every invalidation and connection change from now on;
   * the returned function removes it. A subscriber added while the listener
   * already hears gets no onConnected: nothing was missed since it joined.
   */
  subscribe(handlers: ListenerHandlers): () => void {
    this.subscribers.add(handlers);
    return () => void this.subscribers.delete(handlers);
  }

  /**
   * Starts connecting, once however many parts call it; resolves after the
   * first attempt, whatever its outcome (a down database must not stop the
   * server starting).
   */
  start(): Promise<void> {
    this.started ??= this.connect();
    return this.started;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ ...this.connection, query_timeout: Math.max(1000, Math.min(this.options.pingMs, 5000)) });
    client.on('error', (error) => this.lose(client, error));
    client.on('end', () => this.lose(client, undefined));
    client.on('notification', (message) => {
      if (message.channel !== INVALIDATION_CHANNEL) return;
      if (message.payload?.startsWith(PROBE_PREFIX)) {
        this.probes.get(message.payload)?.();
        return;
      }
      if (client !== this.client) return;
      const invalidation = parseInvalidation(message.payload);
      if (invalidation) for (const handlers of [...this.subscribers]) handlers.onInvalidation(invalidation);
      else this.options.logger.warn({ payload: message.payload }, 'unrecognised cache invalidation');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
    } catch (error) {
      client.end().catch(() => {});
      this.setDown('unreachable');
      this.warnConnectFailed({ err: error, attempt: this.attempt });
      this.scheduleReconnect();
      return;
    }
    if (!(await this.probe())) {
      client.end().catch(() => {});
      this.setDown('deaf');
      this.scheduleReconnect();
      return;
    }
    // close() may have run while this connected: the flag changes across the awaits above.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
    if (this.stopped) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.attempt = 0;
    this.connections += 1;
    this.backendPid = (client as unknown as { processID?: number }).processID; // not in @types/pg, present in pg
    this.pingTimer = setInterval(() => {
      void this.probe().then((heard) => {
        if (!heard) this.lose(client, new Error(`cache invalidation probe not heard within ${this.options.probeTimeoutMs} ms`), 'deaf');
      });
    }, this.options.pingMs);
    this.pingTimer.unref();
    const wasDown = this.downReason;
    this.downReason = undefined;
    if (this.connections > 1 || wasDown !== 'connecting') this.options.logger.info('cache invalidation listener hears again; caches in use');
    const sessionId = randomUUID();
    for (const handlers of [...this.subscribers]) handlers.onConnected(sessionId);
  }

  /**
   * Whether a probe NOTIFY sent from another session comes back within
   * probeTimeoutMs. A failing send counts as not heard: the database is then
   * in no state to report writes either.
   */
  private probe(): Promise<boolean> {
    const payload = `${PROBE_PREFIX}${randomUUID()}`;
    return new Promise<boolean>((resolve) => {
      const done = (heard: boolean) => {
        clearTimeout(timer);
        this.probes.delete(payload);
        resolve(heard);
      };
      const timer = setTimeout(() => done(false), this.options.probeTimeoutMs);
      this.probes.set(payload, () => done(true));
      this.options.sendProbe(INVALIDATION_CHANNEL, payload).catch(() => done(false));
    });
  }

  /** Records why caches are bypassed; logs only when the reason changes, so a deaf listener retrying logs once. */
  private setDown(reason: ListenerDownReason): void {
    if (this.downReason === reason) return;
    this.downReason = reason;
    if (reason === 'deaf') {
      this.options.logger.warn(
        { reason, probeTimeoutMs: this.options.probeTimeoutMs },
        'cache invalidation listener does not hear its own probe NOTIFY (DATABASE_DIRECT_URL through a transaction pooler, or a replica?); caches bypassed',
      );
    }
  }

  private lose(client: pg.Client, error: unknown, reason: ListenerDownReason = 'lost'): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.backendPid = undefined;
    clearInterval(this.pingTimer);
    client.end().catch(() => {});
    if (this.stopped) return;
    if (reason === 'lost') this.options.logger.warn({ err: error }, 'cache invalidation listener lost; caches flushed and bypassed until it is back');
    this.setDown(reason);
    for (const handlers of [...this.subscribers]) handlers.onLost();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = Math.min(this.options.backoffMs * 2 ** this.attempt, this.options.backoffMaxMs);
    this.attempt += 1;
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
    this.reconnectTimer.unref();
  }
}
