import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, letOthersTraverse, run, runAs } from './replicaPair';
import { freePort } from './waiting';

/**
 * A PostgreSQL cluster of its own with a tiny `max_connections`, from the
 * embedded binaries (as test/support/replicaPair.ts builds its primary), for
 * the spec on reserved connection slots: the shared test server's 200 slots
 * are far too many to exhaust, and its other specs must never see it full.
 * Trust auth on loopback only: a throwaway cluster.
 */
export interface SmallCluster {
  /** The `postgres` database as `user` (the bootstrap superuser unless named). */
  urlAs(user?: string): string;
  close(): void;
}

const SUPERUSER = 'switchboard';

export async function startSmallCluster({ maxConnections, reserved }: { maxConnections: number; reserved: number }): Promise<SmallCluster> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'switchboard-small-'));
  const owner = runAs();
  if (owner) {
    chmodSync(root, 0o755);
    letOthersTraverse(path.dirname(root));
    execFileSync('chown', [`${owner.uid}:${owner.gid}`, root]);
  }
  const dir = path.join(root, 'cluster');
  const pg = (args: string[]) => run(path.join(BIN, args[0]!), args.slice(1), owner);
  pg(['initdb', '-D', dir, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C']);
  const port = await freePort();
  appendFileSync(
    path.join(dir, 'postgresql.conf'),
    [
      `port = ${port}`,
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      'fsync = off',
      `max_connections = ${maxConnections}`,
      `superuser_reserved_connections = ${reserved}`,
      '',
    ].join('\n'),
  );
  const ctl = (action: 'start' | 'stop') =>
    pg([
      'pg_ctl',
      '-D',
      dir,
      '-w',
      '-t',
      '30',
      ...(action === 'start' ? ['-l', path.join(dir, 'server.log'), 'start'] : ['-m', 'immediate', 'stop']),
    ]);
  ctl('start');
  return {
    urlAs: (user = SUPERUSER) => `postgres://${user}@127.0.0.1:${port}/postgres`,
    close() {
      ctl('stop');
      rmSync(root, { recursive: true, force: true });
    },
  };
}
