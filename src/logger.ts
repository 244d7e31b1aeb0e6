import pino, { type Logger } from 'pino';

export type { Logger };

// pino's `*` matches exactly one level, so each secret-bearing key is listed at the top, one and two levels down.
const SECRET_KEYS = ['authorization', 'cookie', 'token', 'accessToken', 'refreshToken', 'password', 'secret', 'jwt'];
const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/** Structured JSON logs; credentials never reach a log line. `destination` lets tests read them. */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const settings = {
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
