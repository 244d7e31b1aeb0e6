import { Counter, Gauge, type Registry } from 'prom-client';
import type { ReplicaRouter } from '../db/replicas';

/**
 * Read replicas in /metrics, read from the router at scrape time. The
 * `replica` label is the replica's position in DATABASE_READ_URL (0, 1, …),
 * never its URL (which carries credentials). Registered only when replicas
 * are configured.
 */
export function registerReplicaMetrics(registry: Registry, router: ReplicaRouter): void {
  new Gauge({
    name: 'switchboard_db_replica_lag_bytes',
    help: 'WAL bytes the primary has written that the replica has not replayed, at the last poll',
    labelNames: ['replica'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const state of router.states()) if (state.lagBytes !== undefined) this.set({ replica: state.name }, state.lagBytes);
    },
  });
  new Gauge({
    name: 'switchboard_db_replica_usable',
    help: '1 while reads may go to the replica: its last poll answered, recently, and it lags less than REPLICA_MAX_LAG_BYTES',
    labelNames: ['replica'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const state of router.states()) this.set({ replica: state.name }, state.usable ? 1 : 0);
    },
  });
  new Counter({
    name: 'switchboard_db_reads_routed_total',
    help: "Query operations by the database they ran on: a replica, or the primary (no usable replica had the organisation's last write)",
    labelNames: ['target'] as const,
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ target: 'replica' }, router.routed.replica);
      this.inc({ target: 'primary' }, router.routed.primary);
    },
  });
}
