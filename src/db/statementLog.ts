/**
 * What one GraphQL operation did to the database. The log travels with the
 * request (RequestContext.statements) into the Kysely instance bound to it,
 * so every statement run on behalf of that request — DataLoader batches and
 * transactions included, since they run on the request's `db` — is counted.
 */
export interface StatementRecord {
  sql: string;
  parameters: readonly unknown[];
  durationMs: number;
}

export interface OperationStatements {
  count: number;
  durationMs: number;
  /** Only kept when asked for (tests, the bench's replay), to keep production allocation-free. */
  statements: StatementRecord[] | undefined;
}

export function newStatementLog(keepStatements: boolean): OperationStatements {
  return { count: 0, durationMs: 0, statements: keepStatements ? [] : undefined };
}

export function recordStatement(log: OperationStatements, sql: string, parameters: readonly unknown[], durationMs: number): void {
  log.count += 1;
  log.durationMs += durationMs;
  log.statements?.push({ sql, parameters, durationMs });
}
