import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * What one GraphQL operation did to the database. The counter lives in an
 * AsyncLocalStorage scope opened per request, so every statement executed on
 * behalf of that request — including DataLoader batches, which run in the
 * async context of the load that scheduled them — is attributed to it.
 */
export interface StatementRecord {
  sql: string;
  parameters: readonly unknown[];
  durationMs: number;
}

export interface OperationStatements {
  count: number;
  durationMs: number;
  /** Only kept when the scope asked for it (tests), to keep production allocation-free. */
  statements: StatementRecord[] | undefined;
}

const storage = new AsyncLocalStorage<OperationStatements>();

export function withStatementLog<T>(keepStatements: boolean, fn: (log: OperationStatements) => T): T {
  const log: OperationStatements = { count: 0, durationMs: 0, statements: keepStatements ? [] : undefined };
  return storage.run(log, () => fn(log));
}

export function recordStatement(sql: string, parameters: readonly unknown[], durationMs: number): void {
  const log = storage.getStore();
  if (!log) return;
  log.count += 1;
  log.durationMs += durationMs;
  log.statements?.push({ sql, parameters, durationMs });
}

/** The statements of the operation being served, if any. */
export function currentStatements(): OperationStatements | undefined {
  return storage.getStore();
}
