import type { Readable } from 'node:stream';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';

/**
 * A running `COPY … TO STDOUT` on a connection of its own: the bytes as a
 * stream with backpressure (PostgreSQL waits while the client is slow to
 * read), and a way to stop it.
 */
export interface CopyOut {
  stream: Readable;
  /** Cancels the statement in PostgreSQL and discards the connection; safe to call more than once, or after the end. */
  cancel(): Promise<void>;
}

/**
 * Starts a COPY in a transaction with its own statement timeout (an export
 * of a large organisation outlives PG_STATEMENT_TIMEOUT_MS by design; SET
 * LOCAL keeps the limit off the pooled session, PgBouncer-safe). The
 * connection goes back to the pool when the stream ends, and is destroyed if
 * it fails or is cancelled.
 */
export async function startCopyOut(pool: pg.Pool, copySql: string, timeoutMs: number): Promise<CopyOut> {
  const client = await pool.connect();
  // pg keeps the backend's pid from the startup handshake; the types do not declare it.
  const pid = (client as unknown as { processID: number }).processID;
  let released = false;
  const release = (error?: Error | boolean) => {
    if (released) return;
    released = true;
    client.release(error);
  };
  try {
    await client.query('begin');
    await client.query(`set local statement_timeout = ${Math.max(0, Math.floor(timeoutMs))}`);
  } catch (error) {
    release(error instanceof Error ? error : true);
    throw error;
  }
  const stream = client.query(copyTo(copySql));
  stream.on('end', () => {
    client.query('commit').then(
      () => release(),
      (error: unknown) => release(error instanceof Error ? error : true),
    );
  });
  stream.on('error', (error) => release(error));
  let cancelled: Promise<void> | undefined;
  return {
    stream,
    cancel() {
      cancelled ??= (async () => {
        if (released) return;
        // From another connection: the COPY's own is busy sending rows. The connection is then
        // discarded rather than reused, whatever state the cancel left it in.
        await pool.query('select pg_cancel_backend($1)', [pid]).catch(() => undefined);
        stream.destroy();
        release(true);
      })();
      return cancelled;
    },
  };
}
