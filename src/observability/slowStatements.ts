import type { DatabaseHandle } from '../db/database';
import type { Logger } from '../logger';

/**
 * Logs every statement at or above the threshold with its SQL text (bound
 * parameters are left out: they carry tenant data) and the request it ran for.
 * Returns the unsubscribe.
 */
export function logSlowStatements(database: Pick<DatabaseHandle, 'onQuery'>, logger: Logger, thresholdMs: number): () => void {
  return database.onQuery((event) => {
    if (event.durationMs < thresholdMs) return;
    logger.warn(
      { requestId: event.requestId, durationMs: Math.round(event.durationMs * 100) / 100, failed: event.failed, sql: event.sql },
      'slow statement',
    );
  });
}
