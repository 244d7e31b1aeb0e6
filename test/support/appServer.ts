import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { createApp, type App } from '../../src/app';
import type { CacheClock } from '../../src/cache/keyValue';
import { signToken } from '../../src/auth/tokens';
import { loadConfig, type Config } from '../../src/config/config';
import { cachesOff } from '../../src/config/caches';
import { createDb, createPool, poolOptionsFor, type Db } from '../../src/db/database';
import type { Role } from '../../src/db/schema';
import { createLogger } from '../../src/logger';
import type { TestOrg } from './factories';
import { testDatabaseUrl } from './db';

/**
 * A real app like startTestServer's, but with what observability and fault
 * specs need in hand: its pool built from the configuration (PG_* settings),
 * the App itself (drain, readiness), and every log line it wrote.
 */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: {
    data?: any; // any: specs inspect data field by field
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
    extensions?: Record<string, unknown>;
  };
}

export interface AppServer {
  url: string;
  app: App;
  config: Config;
  pool: pg.Pool;
  db: Db;
  logs: LogLine[];
  applicationName: string;
  tokenFor(org: TestOrg, role?: Role): Promise<string>;
  graphql(query: string, options?: { token?: string; variables?: Record<string, unknown>; timeoutMs?: number }): Promise<Reply>;
  close(): Promise<void>;
}

export async function startAppServer(
  options: { databaseUrl?: string; overrides?: Partial<Config>; applicationName?: string; cacheClock?: CacheClock } = {},
): Promise<AppServer> {
  const databaseUrl = options.databaseUrl ?? testDatabaseUrl();
  const config = loadConfig({
    databaseUrl,
    auth: { kind: 'hs256', secret: randomBytes(32), issuer: 'switchboard', audience: 'switchboard-api' },
    recordings: {
      kind: 'local',
      dir: mkdtempSync(path.join(os.tmpdir(), 'switchboard-recordings-')),
      secret: randomBytes(32),
      publicBaseUrl: undefined,
      defaultExpiresInSeconds: 900,
    },
    poolSize: 4,
    ...options.overrides,
  });
  // Caches off unless asked for (see startTestServer): these specs watch statements, pools and logs.
  if (!options.overrides?.caches) config.caches = cachesOff(config.caches);
  const applicationName = options.applicationName ?? `switchboard-test-${randomBytes(4).toString('hex')}`;
  const pool = createPool({ ...poolOptionsFor(config, databaseUrl), applicationName });
  const db = createDb(pool);
  const logs: LogLine[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } });
  const app = await createApp({ config, db, logger, ...(options.cacheClock ? { cacheClock: options.cacheClock } : {}) });
  const address = await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${address.port}`;

  return {
    url,
    app,
    config,
    pool,
    db,
    logs,
    applicationName,
    tokenFor(org, role = 'admin') {
      if (config.auth.kind !== 'hs256') throw new Error('test server uses HS256');
      return signToken(config.auth.secret, config.auth, { userId: org.users[role], orgId: org.id, role });
    },
    async graphql(query, { token, variables, timeoutMs = 10_000 } = {}) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as Reply['body'] };
    },
    async close() {
      await app.close();
      if (!pool.ended && !pool.ending) await pool.end();
    },
  };
}
