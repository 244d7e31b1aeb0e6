import { ConfigError } from '../config/problems';
import { findInError } from '../db/failures';

/**
 * How every command ends: its result's exit code, or one message on stderr —
 * never a stack trace — that says what went wrong and, where we know, what to
 * do about it. `failureCode` is the exit code of a failure (a wrong setting is
 * always 1).
 */
export function runCli(name: string, main: () => Promise<number | undefined> | Promise<void>, failureCode = 1): void {
  main().then(
    (code) => {
      if (typeof code === 'number') process.exit(code);
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${describeFailure(error)}\n`);
      process.exit(error instanceof ConfigError ? 1 : failureCode);
    },
  );
}

/** Network errors meaning "nothing answers there" rather than "it answered no". */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export function describeFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  const code = unreachableCode(error);
  if (code) {
    return process.env.DATABASE_URL
      ? `cannot reach the database at DATABASE_URL (${code}): start that PostgreSQL server or correct DATABASE_URL`
      : `cannot reach the embedded database (${code}): start the server with \`npm start\` or set DATABASE_URL`;
  }
  if (error instanceof Error) {
    // An AggregateError (a connection tried on ::1 and 127.0.0.1) or a bare
    // rejection has no message: say at least what kind of failure it was.
    return error.message || (error as NodeJS.ErrnoException).code || error.name;
  }
  if (error === undefined) return 'failed without a reason (a bug: please report it)';
  return typeof error === 'string' ? error : JSON.stringify(error);
}

/** The errno of a connection nobody answered, looking inside an AggregateError (one per address tried). */
function unreachableCode(error: unknown): string | undefined {
  return findInError(error, ({ code, message }) => {
    if (typeof code === 'string' && UNREACHABLE.has(code)) return code;
    return message === 'Connection terminated due to connection timeout' ? 'ETIMEDOUT' : undefined;
  });
}
