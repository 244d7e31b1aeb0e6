import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

const LOG_METHODS = ['info', 'error', 'debug', 'fatal', 'warn', 'trace'] as const;

/**
 * Fastify's per-request logger, made only when something logs through it.
 * Fastify makes a pino child for every request, and a child of a redacting
 * logger copies and rewrites its bindings (1.3 % of the agents board's CPU);
 * with request logging off (one line per operation comes from
 * operationPlugin), almost no request ever uses it.
 */
export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  let child: FastifyBaseLogger | undefined;
  const real = () => (child ??= parent.child(bindings, options));
  const lazy = {
    child: (...args: Parameters<FastifyBaseLogger['child']>) => real().child(...args),
    get level() {
      return (child ?? parent).level;
    },
    set level(level: string) {
      real().level = level;
    },
  } as FastifyBaseLogger;
  for (const method of LOG_METHODS) lazy[method] = (...args: Parameters<FastifyBaseLogger['info']>) => real()[method](...args);
  return lazy;
}
