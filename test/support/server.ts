import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import type { CacheClock } from '../../src/cache/keyValue';
import { cachesOff } from '../../src/config/caches';
import { signToken } from '../../src/auth/tokens';
import { loadConfig, type Config } from '../../src/config/config';
import { openDatabase, poolOptionsFor, type Db } from '../../src/db/database';
import type { Role } from '../../src/db/schema';
import { createLogger } from '../../src/logger';
import type { RecordingSigner } from '../../src/recordings/signer';
import { createServer, type Server } from '../../src/server/server';
import { createServices, type OperationReport, type Services } from '../../src/server/services';
import type { TestOrg } from './factories';
import { testAppDatabaseUrl } from './db';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests inspect response data field by field
export interface GraphQLResponse<T = any> {
  status: number;
  headers: Headers;
  text: string;
  body: {
    data?: T;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
    extensions?: Record<string, unknown>;
  };
}

/** One line the server logged (pino JSON). */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface TestServer {
  url: string;
  config: Config;
  /** Every GraphQL operation served, with the SQL statements it ran. */
  operations: OperationReport[];
  /** Every line the server logged, at debug level and up. */
  logs: LogLine[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see GraphQLResponse
  graphql<T = any>(
    query: string,
    options?: { variables?: Record<string, unknown>; token?: string | null; headers?: Record<string, string>; timeoutMs?: number },
  ): Promise<GraphQLResponse<T>>;
  tokenFor(org: TestOrg, role?: Role, options?: { expiresInSeconds?: number }): Promise<string>;
  /** The HTTP front: drain, readiness, the Fastify instance. */
  app: Server;
  /** What the server was built from: its caches and their invalidation listener, metrics, the database handle. */
  services: Services;
  /** The server's own pool (built from the configuration's PG_* settings) and Kysely instance. */
  pool: pg.Pool;
  db: Db;
  /** The pool's application_name, to find its connections in pg_stat_activity. */
  applicationName: string;
  close(): Promise<void>;
}

/**
 * The real server — real HTTP on a loopback port, real PostgreSQL, real JWTs
 * and signer — with a fresh secret per server, a hook recording each
 * operation's statements, and every log line kept.
 */
export async function startTestServer(
  options: {
    /** Another database on the test server (fault and migration specs); the shared test database as the runtime role otherwise. */
    databaseUrl?: string;
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
    applicationName?: string;
    devToken?: string;
  } = {},
): Promise<TestServer> {
  const databaseUrl = options.databaseUrl ?? testAppDatabaseUrl();
  const recordingsDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-recordings-'));
  const base = loadConfig({
    databaseUrl,
    auth: { kind: 'hs256', secret: randomBytes(32), issuer: 'switchboard', audience: 'switchboard-api' },
    recordings: { kind: 'local', dir: recordingsDir, secret: randomBytes(32), publicBaseUrl: undefined, defaultExpiresInSeconds: 900 },
    poolSize: 5,
    ...options.overrides,
  });
  if (!options.caches && !options.overrides?.caches) base.caches = cachesOff(base.caches);
  const config = options.configure ? options.configure(base) : base;
  const applicationName = options.applicationName ?? `switchboard-test-${randomBytes(4).toString('hex')}`;
  const database = openDatabase({ ...poolOptionsFor(config, databaseUrl), applicationName });
  const operations: OperationReport[] = [];
  const logs: LogLine[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } });
  const services = await createServices(config, logger, {
    database,
    onOperation: (report) => operations.push(report),
    ...(options.signer ? { signer: options.signer } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.cacheClock ? { cacheClock: options.cacheClock } : {}),
    ...(options.devToken ? { devToken: options.devToken } : {}),
  });
  const app = await createServer(services);
  const address = await app.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${address.port}`;

  return {
    url,
    config,
    operations,
    logs,
    async graphql(query, { variables, token, headers, timeoutMs = 10_000 } = {}) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as GraphQLResponse['body'] };
    },
    tokenFor(org, role = 'admin', tokenOptions = {}) {
      if (config.auth.kind !== 'hs256') throw new Error('test server uses HS256');
      return signToken(config.auth.secret, config.auth, { userId: org.users[role], orgId: org.id, role, ...tokenOptions });
    },
    app,
    services,
    pool: database.pool,
    db: database.db,
    applicationName,
    async close() {
      await app.close();
      await services.close();
    },
  };
}

/**
 * One operation that must succeed and be reported once: its data and the SQL
 * statements it ran, for specs about the shape of the work.
 */
export async function runOperation(server: TestServer, query: string, options: { token: string; variables?: Record<string, unknown> }) {
  server.operations.length = 0;
  const response = await server.graphql(query, { token: options.token, variables: options.variables ?? {} });
  expect(response.body.errors).toBeUndefined();
  expect(server.operations).toHaveLength(1);
  return { data: response.body.data, statements: server.operations[0]!.statements };
}
