import type pg from 'pg';

/**
 * Hooks for watching a database handle without owning it: the app subscribes
 * to every statement its Kysely instance runs (metrics, slow-statement log)
 * and reads its pool's counters. Keyed by instance, so several apps in one
 * process (tests) each see only their own database.
 */
export interface QueryEvent {
  sql: string;
  durationMs: number;
  failed: boolean;
}

export type QueryListener = (event: QueryEvent) => void;

interface Observed {
  pool: pg.Pool;
  listeners: Set<QueryListener>;
}

const observed = new WeakMap<object, Observed>();

/** Called once by createDb; returns what its log hook calls for each statement. */
export function registerDb(db: object, pool: pg.Pool): (event: QueryEvent) => void {
  const entry: Observed = { pool, listeners: new Set() };
  observed.set(db, entry);
  return (event) => {
    for (const listener of entry.listeners) {
      // An observer must never fail the statement it watches.
      try {
        listener(event);
      } catch {
        /* ignored */
      }
    }
  };
}

/** Subscribes to every statement the handle runs; returns the unsubscribe. */
export function onQuery(db: object, listener: QueryListener): () => void {
  const entry = observed.get(db);
  if (!entry) return () => {};
  entry.listeners.add(listener);
  return () => entry.listeners.delete(listener);
}

/** The pool behind a handle made by createDb. */
export function poolOf(db: object): pg.Pool | undefined {
  return observed.get(db)?.pool;
}
