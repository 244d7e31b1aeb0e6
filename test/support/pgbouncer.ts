import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './waiting';

/**
 * A real PgBouncer (Debian package `pgbouncer`) in TRANSACTION mode in front
 * of a PostgreSQL server, for the specs that prove Switchboard is safe behind
 * a transaction pooler. Its own ini and userlist in a temp dir; it dies with
 * the test. Undefined-able: `pgbouncerAvailable()` says whether the binary is
 * installed (.ci/run installs it; under CI=true a missing one is a failure,
 * not a skip).
 */
export interface PgBouncer {
  /** The same database and credentials as the upstream URL, through the pooler. */
  url: string;
  /** Server connections per (user, database): small, so consecutive transactions land on different ones. */
  poolSize: number;
  /** `upstream` (the first URL or one of `alsoFor`) with its database and credentials, through the pooler. */
  through(upstream: string): string;
  stop(): Promise<void>;
}

const BINARY = ['/usr/sbin/pgbouncer', 'pgbouncer'];

function binary(): string | undefined {
  return BINARY.find((candidate) => spawnSync(candidate, ['--version'], { stdio: 'ignore' }).status === 0);
}

export function pgbouncerAvailable(): boolean {
  return binary() !== undefined;
}

/** `alsoFor`: more upstream URLs (other roles, same server) whose credentials the pooler also accepts. */
export async function startPgBouncer(upstreamUrl: string, options: { poolSize?: number; alsoFor?: string[] } = {}): Promise<PgBouncer> {
  const command = binary();
  if (!command) throw new Error('pgbouncer is not installed (apt-get install pgbouncer)');
  const upstream = new URL(upstreamUrl);
  const port = await freePort();
  const poolSize = options.poolSize ?? 4;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-pgbouncer-'));
  // Read by pgbouncer after it drops root (below): the directory and files must be readable by anyone.
  chmodSync(dir, 0o755);
  const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
  const userlist = [upstreamUrl, ...(options.alsoFor ?? [])].map((each) => {
    const { username, password } = new URL(each);
    return `${quote(decodeURIComponent(username))} ${quote(decodeURIComponent(password))}\n`;
  });
  writeFileSync(path.join(dir, 'userlist.txt'), userlist.join(''), { mode: 0o644 });
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      // Every database name passes through to the same server, with the client's own credentials.
      `* = host=${upstream.hostname} port=${upstream.port || '5432'}`,
      '[pgbouncer]',
      `listen_addr = 127.0.0.1`,
      `listen_port = ${port}`,
      `unix_socket_dir =`,
      `auth_type = md5`,
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      `pool_mode = transaction`,
      `default_pool_size = ${poolSize}`,
      `max_client_conn = 500`,
      `server_check_delay = 0`,
      `log_connections = 0`,
      `log_disconnections = 0`,
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  // PgBouncer refuses to run as root: -u makes it drop to nobody after reading its files.
  const args = process.getuid?.() === 0 ? ['-u', 'nobody', path.join(dir, 'pgbouncer.ini')] : [path.join(dir, 'pgbouncer.ini')];
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort('pgbouncer', port, 5000, () => child.exitCode !== null);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pgbouncer did not start: ${(error as Error).message}\n${stderr}`);
  }
  const through = (each: string) => {
    const url = new URL(each);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    return url.toString();
  };
  return {
    url: through(upstreamUrl),
    poolSize,
    through,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
