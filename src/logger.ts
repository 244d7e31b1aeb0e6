import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; credentials never reach a log line. */
export function createLogger(options: { level?: string } = {}): Logger {
  return pino({
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: { paths: ['req.headers.authorization', '*.authorization', '*.token', '*.password', '*.secret'], censor: '[redacted]' },
  });
}
