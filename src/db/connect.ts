import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config/config';
import { startEmbeddedPostgres, withAppPassword, type ClusterInfo, type EmbeddedOptions } from './embedded';
import { ensureAppRole, urlAs } from './roles';

/**
 * Where the database is: `DATABASE_URL` when set, otherwise the embedded
 * cluster in the data directory — reused if another process of ours (the
 * server, say) already runs it, started otherwise.
 */
export interface DatabaseLocation {
  /** Request traffic, as the runtime role: DATABASE_URL, or the embedded cluster's `switchboard_app`. */
  url: string;
  /** Migrations and operator commands, as the owner: DATABASE_MIGRATION_URL (→ DIRECT → DATABASE_URL), or the embedded `switchboard`. */
  migrationUrl: string;
  embedded: boolean;
  /** Stops the embedded server if this process started it; no-op otherwise. */
  release(): Promise<void>;
}

export async function locateDatabase(
  config: Config,
  log: (line: string) => void = () => {},
  options: Pick<EmbeddedOptions, 'stopOnSignals'> = {},
): Promise<DatabaseLocation> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, migrationUrl: config.databaseMigrationUrl ?? config.databaseUrl, embedded: false, release: async () => {} };
  }

  const dir = path.join(config.dataDir, 'postgres');
  const info = clusterInfo(dir);
  // The port the cluster last started on first: `npm start` run with
  // EMBEDDED_PG_PORT and `npm run token` run without it share one server.
  if (info) {
    for (const port of new Set([info.port ?? config.embeddedPgPort, config.embeddedPgPort])) {
      const running = await runningEmbedded(dir, info, port, config.pgAppRole);
      if (running) return { ...running, embedded: true, release: async () => {} };
    }
  }

  const server = await startEmbeddedPostgres({
    dir,
    port: config.embeddedPgPort,
    persistent: true,
    onLog: log,
    appRole: config.pgAppRole,
    ...options,
  });
  return { url: server.appUrl, migrationUrl: server.url, embedded: true, release: () => server.stop() };
}

function clusterInfo(dir: string): ClusterInfo | undefined {
  const infoFile = path.join(dir, 'cluster.json');
  return existsSync(infoFile) ? (JSON.parse(readFileSync(infoFile, 'utf8')) as ClusterInfo) : undefined;
}

/**
 * The cluster's URLs when a server of ours already runs it on `port`. Makes
 * sure of the runtime role there too: the server may predate it.
 */
async function runningEmbedded(
  dir: string,
  info: ClusterInfo,
  port: number,
  appRole: string,
): Promise<{ url: string; migrationUrl: string } | undefined> {
  const migrationUrl = `postgres://${info.user}:${encodeURIComponent(info.password)}@127.0.0.1:${port}/switchboard`;
  const client = new pg.Client({ connectionString: migrationUrl, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
  } catch {
    return undefined;
  }
  try {
    const { appPassword } = withAppPassword(path.join(dir, 'cluster.json'));
    await ensureAppRole(client, { role: appRole, password: appPassword, database: 'switchboard' });
    return { url: urlAs(migrationUrl, appRole, appPassword), migrationUrl };
  } finally {
    await client.end();
  }
}
