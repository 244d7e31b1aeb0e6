import { sql } from 'kysely';
import { withTimeout } from '../observability/health';
import type { Db, DatabaseHandle } from './database';

/**
 * Read replicas (DATABASE_READ_URL): which database a read-only operation of
 * one organisation may use. Everything else (mutations, webhooks, operator
 * commands) keeps the primary; only the GraphQL route asks this router, once
 * per query operation (src/server/readRouting.ts).
 *
 * Read-your-writes: after each durable tenant write commits, the primary's
 * WAL position (`pg_current_wal_lsn()`) is kept for that organisation, and
 * its reads stay on the primary until a replica has replayed past it
 * (`pg_last_wal_replay_lsn()`, polled per replica). A known position, never a
 * guessed delay. Positions every replica has passed are forgotten.
 *
 * A replica is left out while its last poll failed or is older than three
 * poll intervals (dead, unreachable), or while it is more than maxLagBytes
 * behind the primary (lagging); then the primary serves. Between a replica
 * dying and the next poll, reads sent to it fail with DATABASE_UNAVAILABLE:
 * one poll interval (REPLICA_POLL_MS) bounds that window.
 */
export interface ReplicaOptions {
  pollMs: number;
  maxLagBytes: number;
  /** The stretch this instance's poll may lag behind its own clock before a replica counts as dead. */
  staleAfterMs?: number;
}

export interface ReplicaState {
  name: string;
  /** Last poll succeeded, fresh enough, and not lagging past the limit. */
  usable: boolean;
  up: boolean;
  /** Bytes of WAL the primary has written that this replica has not replayed; undefined before the first poll. */
  lagBytes: number | undefined;
  replayLsn: bigint | undefined;
}

interface Replica {
  name: string;
  handle: DatabaseHandle;
  replayLsn: bigint | undefined;
  /** performance-free clock: Date.now() of the last successful poll. */
  polledAt: number;
  up: boolean;
  lagBytes: number | undefined;
}

/** A WAL position "16/B374D848" as a number of bytes. */
export function parseLsn(text: string): bigint {
  const [high, low] = text.split('/');
  if (high === undefined || low === undefined) throw new Error(`not an LSN: ${text}`);
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

export class ReplicaRouter {
  private readonly replicas: Replica[];
  /** Per organisation: the primary's WAL position after its last write, until every replica has replayed past it. */
  private readonly writes = new Map<string, bigint>();
  /** Organisations whose write position could not be read: primary until the next poll reads the primary's position. */
  private readonly unknownWrites = new Set<string>();
  private primaryLsn: bigint | undefined;
  private next = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private readonly staleAfterMs: number;
  readonly routed = { replica: 0, primary: 0 };

  constructor(
    private readonly primary: Db,
    replicas: { name: string; handle: DatabaseHandle }[],
    private readonly options: ReplicaOptions,
  ) {
    this.replicas = replicas.map(({ name, handle }) => ({ name, handle, replayLsn: undefined, polledAt: 0, up: false, lagBytes: undefined }));
    this.staleAfterMs = options.staleAfterMs ?? options.pollMs * 3 + 1000;
  }

  get configured(): boolean {
    return this.replicas.length > 0;
  }

  async start(): Promise<void> {
    if (!this.configured) return;
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
    await Promise.all(this.replicas.map((replica) => replica.handle.close()));
  }

  /**
   * The database one read-only operation of `orgId` runs on: a usable replica
   * that has replayed past the organisation's last write, else the primary.
   * Round-robin over the candidates.
   */
  readDb(orgId: string): Db {
    const candidates = this.candidates(orgId);
    const chosen = candidates[this.next++ % candidates.length];
    if (!chosen) {
      this.routed.primary++;
      return this.primary;
    }
    this.routed.replica++;
    return chosen.handle.db;
  }

  /**
   * Called after a durable write of `orgId` committed on the primary (with
   * the primary's database), so that organisation's next reads see it.
   * Never fails the write: the write is already on disk. When the position
   * cannot be read, the organisation stays on the primary until a poll has
   * read the primary's position, which is then past the commit.
   */
  async recordWrite(orgId: string): Promise<void> {
    if (!this.configured) return;
    try {
      const lsn = await currentLsn(this.primary);
      const known = this.writes.get(orgId);
      if (known === undefined || lsn > known) this.writes.set(orgId, lsn);
    } catch {
      this.unknownWrites.add(orgId);
    }
  }

  states(): ReplicaState[] {
    return this.replicas.map((replica) => ({
      name: replica.name,
      usable: this.usable(replica),
      up: replica.up,
      lagBytes: replica.lagBytes,
      replayLsn: replica.replayLsn,
    }));
  }

  /** One round: the primary's position, then each replica's replay position and lag. Never rejects. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const timeoutMs = Math.max(this.options.pollMs, 1000);
    // Unknown write positions are resolved only by a primary position read after they were marked.
    const pending = [...this.unknownWrites];
    try {
      this.primaryLsn = await withTimeout(currentLsn(this.primary), timeoutMs, 'replica poll');
      for (const orgId of pending) {
        this.unknownWrites.delete(orgId);
        const known = this.writes.get(orgId);
        if (known === undefined || this.primaryLsn > known) this.writes.set(orgId, this.primaryLsn);
      }
    } catch {
      // The primary is the one that cannot be replaced; reads keep their replicas, lag stays as last seen.
    }
    await Promise.all(
      this.replicas.map(async (replica) => {
        try {
          const { rows } = await withTimeout(
            sql<{ lsn: string | null }>`select pg_last_wal_replay_lsn()::text as lsn`.execute(replica.handle.db),
            timeoutMs,
            'replica poll',
          );
          const text = rows[0]?.lsn;
          // null: not in recovery (a promoted or misconfigured "replica"); it cannot promise to have any write.
          if (!text) throw new Error('not a standby');
          replica.replayLsn = parseLsn(text);
          replica.polledAt = Date.now();
          replica.up = true;
          replica.lagBytes = this.primaryLsn === undefined ? undefined : Math.max(0, Number(this.primaryLsn - replica.replayLsn));
        } catch {
          replica.up = false;
        }
      }),
    );
    this.forgetReplayedWrites();
  }

  private usable(replica: Replica): boolean {
    return (
      replica.up &&
      replica.replayLsn !== undefined &&
      Date.now() - replica.polledAt <= this.staleAfterMs &&
      (replica.lagBytes === undefined || replica.lagBytes <= this.options.maxLagBytes)
    );
  }

  private candidates(orgId: string): Replica[] {
    if (this.unknownWrites.has(orgId)) return [];
    const written = this.writes.get(orgId);
    return this.replicas.filter((replica) => this.usable(replica) && (written === undefined || (replica.replayLsn ?? 0n) >= written));
  }

  /** Positions every replica has replayed (dead ones included: they never come back behind it) need no memory. */
  private forgetReplayedWrites(): void {
    let lowest: bigint | undefined;
    for (const { replayLsn } of this.replicas) {
      if (replayLsn === undefined) return;
      if (lowest === undefined || replayLsn < lowest) lowest = replayLsn;
    }
    if (lowest === undefined) return;
    for (const [orgId, lsn] of this.writes) if (lsn <= lowest) this.writes.delete(orgId);
  }
}

/** The primary's WAL write position now: past every transaction that has committed. */
async function currentLsn(db: Db): Promise<bigint> {
  const { rows } = await sql<{ lsn: string }>`select pg_current_wal_lsn()::text as lsn`.execute(db);
  const lsn = rows[0]?.lsn;
  if (!lsn) throw new Error('pg_current_wal_lsn() returned nothing');
  return parseLsn(lsn);
}
