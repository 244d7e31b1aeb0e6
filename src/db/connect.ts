import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { Config } from '../config/config';
import { startEmbeddedPostgres, type ClusterInfo, type EmbeddedOptions } from './embedded';

/**
 * Where the database is: `DATABASE_URL` when set, otherwise the embedded
 * cluster in the data directory — reused if another process of ours (the
 * server, say) already runs it, started otherwise.
 */
export interface DatabaseLocation {
  url: string;
  embedded: boolean;
  /** Stops the embedded server if this process started it; no-op otherwise. */
  release(): Promise<void>;
}

export async function locateDatabase(
  config: Config,
  log: (line: string) => void = () => {},
  options: Pick<EmbeddedOptions, 'stopOnSignals'> = {},
): Promise<DatabaseLocation> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false, release: async () => {} };

  const dir = path.join(config.dataDir, 'postgres');
  const info = clusterInfo(dir);
  // The port the cluster last started on first: `npm start` run with
  // EMBEDDED_PG_PORT and `npm run token` run without it share one server.
  if (info) {
    for (const port of new Set([info.port ?? config.embeddedPgPort, config.embeddedPgPort])) {
      const running = await runningEmbeddedUrl(info, port);
      if (running) return { url: running, embedded: true, release: async () => {} };
    }
  }

  const server = await startEmbeddedPostgres({ dir, port: config.embeddedPgPort, persistent: true, onLog: log, ...options });
  return { url: server.url, embedded: true, release: () => server.stop() };
}

function clusterInfo(dir: string): ClusterInfo | undefined {
  const infoFile = path.join(dir, 'cluster.json');
  return existsSync(infoFile) ? (JSON.parse(readFileSync(infoFile, 'utf8')) as ClusterInfo) : undefined;
}

async function runningEmbeddedUrl(info: ClusterInfo, port: number): Promise<string | undefined> {
  const url = `postgres://${info.user}:${encodeURIComponent(info.password)}@127.0.0.1:${port}/switchboard`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.end();
    return url;
  } catch {
    return undefined;
  }
}
