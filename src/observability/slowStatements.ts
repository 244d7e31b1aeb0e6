import type { Db } from '../db/database';
import { onQuery } from '../db/observe';
import type { Logger } from '../logger';
import { currentRequestId } from './requestContext';

/**
 * Logs every statement at or above the threshold with its SQL text (bound
 * parameters are left out: they carry tenant data) and the request it ran for.
 * Returns the unsubscribe.
 */
export function logSlowStatements(db: Db, logger: Logger, thresholdMs: number): () => void {
  return onQuery(db, (event) => {
    if (event.durationMs < thresholdMs) return;
    logger.warn(
      { requestId: currentRequestId(), durationMs: Math.round(event.durationMs * 100) / 100, failed: event.failed, sql: event.sql },
      'slow statement',
    );
  });
}
