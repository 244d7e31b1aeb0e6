import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../logger';
import { throttledWarn, type ThrottleClock, type ThrottledWarn } from '../observability/throttledWarn';

export const INVALIDATION_CHANNEL = 'switchboard_invalidate';

/** One NOTIFY from migration 0008's triggers: `<org id | *>:<table>:<transaction id>`. */
export interface Invalidation {
  /** `*` after a TRUNCATE: every organisation. */
  orgId: string;
  table: string;
  /** The writing transaction's id: the organisation's new cache generation. */
  generation: string;
}

export function parseInvalidation(payload: string | undefined): Invalidation | undefined {
  const [, orgId, table, generation] = /^(\*|[0-9]+):([a-z_]+):([0-9]+)$/.exec(payload ?? '') ?? [];
  return orgId && table && generation ? { orgId, table, generation } : undefined;
}

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
  pingMs: number;
  logger: Logger;
  /** Failed reconnects repeat every backoffMaxMs while PostgreSQL is down: logged at most once per this interval. */
  logIntervalMs?: number;
  clock?: ThrottleClock;
}

/**
 * The instance's one dedicated LISTEN connection: a pg.Client of its own,
 * never a pool connection (a pooled connection would be handed to requests and
 * LISTEN would be lost on release). Any failure — error, end, a ping that does
 * not come back — counts as lost: the handlers flush, and the client reconnects
 * with a doubling backoff until it is LISTENing again.
 */
export class InvalidationListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  /** Completed connections, the first one included. */
  connections = 0;
  /** PostgreSQL backend pid of the current connection, if any. */
  backendPid: number | undefined;
  private readonly warnConnectFailed: ThrottledWarn;

  constructor(
    private readonly connection: pg.ClientConfig,
    private readonly options: ListenerOptions,
    private readonly handlers: ListenerHandlers,
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

  /** Starts connecting; resolves after the first attempt, whatever its outcome (a down database must not stop the server starting). */
  start(): Promise<void> {
    return this.connect();
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
      if (client !== this.client || message.channel !== INVALIDATION_CHANNEL) return;
      const invalidation = parseInvalidation(message.payload);
      if (invalidation) this.handlers.onInvalidation(invalidation);
      else this.options.logger.warn({ payload: message.payload }, 'unrecognised cache invalidation');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
    } catch (error) {
      client.end().catch(() => {});
      this.warnConnectFailed({ err: error, attempt: this.attempt });
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
      client.query('select 1').catch((error: unknown) => this.lose(client, error));
    }, this.options.pingMs);
    this.pingTimer.unref();
    if (this.connections > 1) this.options.logger.info('cache invalidation listener reconnected');
    this.handlers.onConnected(randomUUID());
  }

  private lose(client: pg.Client, error: unknown): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.backendPid = undefined;
    clearInterval(this.pingTimer);
    client.end().catch(() => {});
    if (this.stopped) return;
    this.options.logger.warn({ err: error }, 'cache invalidation listener lost; caches flushed and bypassed until it is back');
    this.handlers.onLost();
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
