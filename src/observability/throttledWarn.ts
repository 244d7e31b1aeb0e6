import type { Logger } from '../logger';

export interface ThrottleClock {
  /** Monotonic milliseconds. */
  now(): number;
}

export type ThrottledWarn = (fields: Record<string, unknown>) => void;

/**
 * A warning that repeats while a dependency is down (every request hitting
 * a dead Redis, every reconnect attempt) is written at most once per
 * `intervalMs`: the first occurrence at once, then the next one after the
 * interval, carrying `suppressed`, how many were left out since the last
 * line. An outage stays visible and countable without flooding the log.
 */
export function throttledWarn(logger: Logger, msg: string, intervalMs: number, clock: ThrottleClock = performance): ThrottledWarn {
  let lastAt: number | undefined;
  let suppressed = 0;
  return (fields) => {
    const now = clock.now();
    if (lastAt !== undefined && now - lastAt < intervalMs) {
      suppressed += 1;
      return;
    }
    logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, msg);
    lastAt = now;
    suppressed = 0;
  };
}
