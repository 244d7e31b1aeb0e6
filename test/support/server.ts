import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App, type OperationReport } from '../../src/app';
import type { CacheClock } from '../../src/cache/keyValue';
import { cachesOff } from '../../src/config/caches';
import { signToken } from '../../src/auth/tokens';
import { loadConfig, type Config } from '../../src/config/config';
import { createDb, createPool, type Db } from '../../src/db/database';
import type { Role } from '../../src/db/schema';
import { createLogger } from '../../src/logger';
import type { RecordingSigner } from '../../src/recordings/signer';
import type { TestOrg } from './factories';
import { testDatabaseUrl } from './db';

export interface GraphQLResponse<T = any> { // any: tests inspect response data field by field
  status: number;
  headers: Headers;
  body: { data?: T; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[]; extensions?: Record<string, unknown> };
}

export interface TestServer {
  url: string;
  config: Config;
  /** Every GraphQL operation served, with the SQL statements it ran. */
  operations: OperationReport[];
  graphql<T = any>(query: string, options?: { variables?: Record<string, unknown>; token?: string | null; headers?: Record<string, string> }): Promise<GraphQLResponse<T>>; // any: see GraphQLResponse
  tokenFor(org: TestOrg, role?: Role, options?: { expiresInSeconds?: number }): Promise<string>;
  /** The app itself: its caches and their invalidation listener. */
  app: App;
  /** The app's own database handle (registered with its caches). */
  db: Db;
  close(): Promise<void>;
}

/**
 * The real server — real HTTP on a loopback port, real PostgreSQL, real JWTs
 * and signer — with a fresh secret per server and a hook recording each
 * operation's statements.
 */
export async function startTestServer(
  options: {
    signer?: RecordingSigner;
    overrides?: Partial<Config>;
    configure?: (config: Config) => Config;
    clock?: () => Date;
    /**
     * Caches (response, entity) are off unless asked for: most specs count the
     * statements an operation runs, or write fixtures between reads, and must
     * measure uncached work. test/caches.test.ts turns them on.
     */
    caches?: boolean;
    cacheClock?: CacheClock;
  } = {},
): Promise<TestServer> {
  const recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-recordings-'));
  const base = loadConfig({
    databaseUrl: testDatabaseUrl(),
    auth: { kind: 'hs256', secret: randomBytes(32), issuer: 'switchboard', audience: 'switchboard-api' },
    recordings: { kind: 'local', dir: recordingsDir, secret: randomBytes(32), publicBaseUrl: undefined, defaultExpiresInSeconds: 900 },
    ...options.overrides,
  });
  if (!options.caches && !options.overrides?.caches) base.caches = cachesOff(base.caches);
  const config = options.configure ? options.configure(base) : base;
  const pool = createPool({ connectionString: testDatabaseUrl(), max: 5 });
  const operations: OperationReport[] = [];
  const db = createDb(pool);
  const app = await createApp({
    config,
    db,
    logger: createLogger({ level: 'silent' }),
    onOperation: (report) => operations.push(report),
    ...(options.signer ? { signer: options.signer } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.cacheClock ? { cacheClock: options.cacheClock } : {}),
  });
  const address = await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${address.port}`;

  return {
    url,
    config,
    operations,
    async graphql(query, { variables, token, headers } = {}) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: JSON.stringify({ query, variables }),
      });
      return { status: response.status, headers: response.headers, body: (await response.json()) as GraphQLResponse["body"] };
    },
    tokenFor(org, role = 'admin', tokenOptions = {}) {
      if (config.auth.kind !== 'hs256') throw new Error('test server uses HS256');
      return signToken(config.auth.secret, config.auth, { userId: org.users[role], orgId: org.id, role, ...tokenOptions });
    },
    app,
    db,
    async close() {
      await app.close();
      await pool.end();
    },
  };
}
