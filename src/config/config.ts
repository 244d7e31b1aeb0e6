import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { protectionFromEnv, type ProtectionConfig } from './protection';
import { cachesFromEnv, type CacheConfig } from './caches';
import { providerFromEnv, type ProviderConfig } from './provider';
import { liveFromEnv, type LiveConfig } from './live';
import { envReader, type Env, type EnvReader } from './env';
import { collectConfigProblems, configProblem } from './problems';
import { DEFAULT_APP_ROLE } from '../../migrations/0010_app_role';

/**
 * Everything configurable, read once from the environment. Development
 * defaults make `npm start` work with no setup; production refuses to start
 * without the secrets it must not invent.
 */
export interface Config extends ProtectionConfig {
  env: 'development' | 'production' | 'test';
  port: number;
  /** `HOST`; 127.0.0.1 in development and test (nothing on the network sees the dev token), 0.0.0.0 in production (a container's port mapping needs it). */
  host: string;
  /**
   * External PostgreSQL for request traffic; when absent an embedded server is
   * started. May be a transaction-mode pooler (docs/deployment.md).
   */
  databaseUrl: string | undefined;
  /** Read replicas for query operations (src/db/replicas.ts, docs/deployment.md "Read replicas"). */
  replicas: ReplicaConfig;
  /**
   * `DATABASE_DIRECT_URL`: a session-level connection (never through a
   * transaction pooler) for LISTEN and migrations. Defaults to databaseUrl.
   */
  databaseDirectUrl: string | undefined;
  /**
   * `DATABASE_MIGRATION_URL`: the owner role's session connection, for
   * migrations (and the operator commands: seed, rollups, db:report).
   * Defaults to DATABASE_DIRECT_URL, then DATABASE_URL.
   */
  databaseMigrationUrl: string | undefined;
  /**
   * `PG_APP_ROLE`: the runtime role request traffic connects as, which
   * migrations grant row access to (default `switchboard_app`; docs/deployment.md
   * "Roles and grants"). The embedded server creates it.
   */
  pgAppRole: string;
  /**
   * `PG_PREPARED_STATEMENTS=on|off`: named prepared statements for the marked
   * (PREPARED) statements. Default off with DATABASE_URL (it may be a
   * pooler that cannot keep them), on for the embedded server (known direct).
   */
  pgPreparedStatements: boolean;
  dataDir: string;
  embeddedPgPort: number;
  poolSize: number;
  /**
   * How far V8 lets the heap grow past what the last full collection kept, in
   * percent (V8's --heap-growing-percent); 0 leaves V8's own choice. V8 grows
   * it up to 4x while collection is cheap: 250-270 MB of RSS under load for a
   * 40 MB live heap. 100 holds it near 175 MB for 2-4 % more CPU (BENCHMARKS.md).
   */
  heapGrowingPercent: number;
  /** Bounds opening a connection and waiting for a free one (pool exhausted). */
  pgConnectTimeoutMs: number;
  /** How long an unused pooled connection stays open. */
  pgIdleTimeoutMs: number;
  /** `statement_timeout` of every statement: the server cancels anything longer (src/db/database.ts statementTimeouts). */
  pgStatementTimeoutMs: number;
  /**
   * One request's whole budget from its arrival (`REQUEST_TIMEOUT_MS`): its
   * pool waits and statements together never outlast it (REQUEST_TIMEOUT).
   */
  requestTimeoutMs: number;
  /** Statements at or above this many milliseconds are logged with their SQL. */
  slowStatementMs: number;
  /** How long shutdown waits for in-flight requests before closing their connections. */
  shutdownGraceMs: number;
  auth: AuthConfig;
  recordings: RecordingsConfig;
  maxPageSize: number;
  defaultPageSize: number;
  /** Turns DataLoader batching off (the classic N+1 shape) for the benchmark's naive baseline. */
  batching: boolean;
  /** How far a webhook's signed timestamp may be from now, either way (`WEBHOOK_TOLERANCE_SECONDS`). */
  webhookToleranceSeconds: number;
  /** Response, entity and APQ caches and their invalidation listener (src/config/caches.ts). */
  caches: CacheConfig;
  /** The voice provider's API: URL, budgets, retries, breaker, cache (src/config/provider.ts). */
  provider: ProviderConfig;
  /** Subscriptions: connection and subscription limits, keep-alive, slow consumers (src/config/live.ts). */
  live: LiveConfig;
}

export interface ReplicaConfig {
  /** `DATABASE_READ_URL`, comma-separated; empty: every statement goes to DATABASE_URL. */
  urls: string[];
  /** `REPLICA_POLL_MS`: how often each replica's replay position (and the primary's) is read. */
  pollMs: number;
  /** `REPLICA_MAX_LAG_BYTES`: a replica further behind the primary than this is left out. */
  maxLagBytes: number;
}

export type AuthConfig =
  | { kind: 'hs256'; secret: Uint8Array; issuer: string; audience: string }
  | ({ kind: 'jwks'; jwksUrl: string; issuer: string; audience: string } & Partial<JwksTiming>);

/**
 * How the JWKS key set (src/auth/jwks.ts) is kept. Optional in AuthConfig so a
 * caller may name only the URL; loadConfig fills them from the environment.
 */
export interface JwksTiming {
  /** Bounds every fetch of the key set, the one at start included (`JWKS_TIMEOUT_MS`). */
  timeoutMs: number;
  /** Background refresh period while fetches succeed (`JWKS_REFRESH_INTERVAL_SECONDS`). */
  refreshIntervalMs: number;
  /** How long the last good keys stay in use while refreshes fail (`JWKS_MAX_STALE_SECONDS`). */
  maxStaleMs: number;
  /** At most one on-demand fetch (unknown `kid`, no usable keys) per this (`JWKS_COOLDOWN_SECONDS`). */
  cooldownMs: number;
}

export const DEFAULT_JWKS_TIMING: JwksTiming = {
  timeoutMs: 2000,
  refreshIntervalMs: 300_000,
  maxStaleMs: 86_400_000,
  cooldownMs: 30_000,
};

export type RecordingsConfig =
  | { kind: 'local'; dir: string; secret: Uint8Array; publicBaseUrl: string | undefined; defaultExpiresInSeconds: number }
  | {
      kind: 's3';
      bucket: string;
      region: string;
      endpoint: string | undefined;
      forcePathStyle: boolean;
      defaultExpiresInSeconds: number;
    };

export const PROJECT_ROOT = path.resolve(__dirname, existsSync(path.resolve(__dirname, '../../package.json')) ? '../..' : '../../..');

/**
 * A secret that development generates once and keeps in the data directory,
 * so tokens and signed URLs survive restarts without anyone configuring them.
 */
function localSecret(dataDir: string, name: string): Uint8Array {
  const file = path.join(dataDir, 'secrets', name);
  if (!existsSync(file)) {
    // The data directory stays traversable (the embedded PostgreSQL runs as
    // another user when we are root); only the secrets folder is private.
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600 });
  }
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
}

function secretFromEnv(read: EnvReader, name: string, env: Config['env'], dataDir: string, localName: string): Uint8Array {
  const value = read.string(name);
  if (value) {
    if (value.length < 32) configProblem(`${name} must be at least 32 characters, got ${value.length}`);
    return new TextEncoder().encode(value);
  }
  if (env === 'production') {
    configProblem(`${name} is required in production: ${PRODUCTION_SECRETS[name] ?? 'at least 32 characters'}`);
    // Never used: the problem makes loadConfig throw.
    return new Uint8Array();
  }
  return localSecret(dataDir, localName);
}

/** What each production secret is, and the alternative to setting it, for the message that it is missing. */
const PRODUCTION_SECRETS: Record<string, string> = {
  JWT_SECRET: 'the HS256 token key, at least 32 characters (or set JWKS_URL to verify tokens against a JWKS instead)',
  RECORDINGS_SECRET: 'the key signing local recording URLs, at least 32 characters (or set RECORDINGS_STORE=s3 and S3_BUCKET)',
};

/**
 * Every setting is read and every problem reported at once (src/config/problems.ts):
 * a ConfigError listing one line per wrong or missing variable.
 */
export function loadConfig(overrides: Partial<Config> = {}, env: Env = process.env): Config {
  return collectConfigProblems(() => readConfig(overrides, env));
}

function readConfig(overrides: Partial<Config>, environment: Env): Config {
  const read = envReader(environment);
  const nodeEnv = read.string('NODE_ENV');
  const env: Config['env'] = nodeEnv === 'production' ? 'production' : nodeEnv === 'test' ? 'test' : 'development';
  const dataDir = path.resolve(read.string('SWITCHBOARD_DATA_DIR') ?? path.join(PROJECT_ROOT, '.data'));
  const issuer = read.string('JWT_ISSUER') ?? 'switchboard';
  const audience = read.string('JWT_AUDIENCE') ?? 'switchboard-api';
  // Zero would mean "already over" for these: a request deadline, a JWKS timeout or window.
  const positive = { min: 1 };

  const jwksUrl = read.string('JWKS_URL');
  const auth: AuthConfig = jwksUrl
    ? {
        kind: 'jwks',
        jwksUrl,
        issuer,
        audience,
        timeoutMs: read.int('JWKS_TIMEOUT_MS', DEFAULT_JWKS_TIMING.timeoutMs, positive),
        refreshIntervalMs: read.int('JWKS_REFRESH_INTERVAL_SECONDS', DEFAULT_JWKS_TIMING.refreshIntervalMs / 1000, positive) * 1000,
        maxStaleMs: read.int('JWKS_MAX_STALE_SECONDS', DEFAULT_JWKS_TIMING.maxStaleMs / 1000, positive) * 1000,
        cooldownMs: read.int('JWKS_COOLDOWN_SECONDS', DEFAULT_JWKS_TIMING.cooldownMs / 1000, positive) * 1000,
      }
    : { kind: 'hs256', secret: secretFromEnv(read, 'JWT_SECRET', env, dataDir, 'jwt'), issuer, audience };

  const defaultExpiresInSeconds = read.int('RECORDING_URL_TTL_SECONDS', 900);
  const recordings: RecordingsConfig =
    read.oneOf('RECORDINGS_STORE', ['local', 's3'], 'local') === 's3'
      ? {
          kind: 's3',
          bucket: read.required('S3_BUCKET', 'with RECORDINGS_STORE=s3: the bucket holding the recordings'),
          region: read.string('S3_REGION') ?? 'us-east-1',
          endpoint: read.string('S3_ENDPOINT'),
          forcePathStyle: read.string('S3_FORCE_PATH_STYLE') === 'true',
          defaultExpiresInSeconds,
        }
      : {
          kind: 'local',
          dir: path.resolve(read.string('RECORDINGS_DIR') ?? path.join(dataDir, 'recordings')),
          secret: secretFromEnv(read, 'RECORDINGS_SECRET', env, dataDir, 'recordings'),
          publicBaseUrl: read.string('PUBLIC_BASE_URL'),
          defaultExpiresInSeconds,
        };

  return {
    env,
    port: read.int('PORT', 4000),
    host: read.string('HOST') ?? (env === 'production' ? '0.0.0.0' : '127.0.0.1'),
    databaseUrl: read.string('DATABASE_URL'),
    replicas: {
      urls: (read.string('DATABASE_READ_URL') ?? '')
        .split(',')
        .map((url) => url.trim())
        .filter(Boolean),
      pollMs: read.int('REPLICA_POLL_MS', 250, positive),
      // 16 MiB: one WAL segment; a replica that far behind is seconds, not milliseconds, stale.
      maxLagBytes: read.int('REPLICA_MAX_LAG_BYTES', 16 * 1024 * 1024),
    },
    databaseDirectUrl: read.string('DATABASE_DIRECT_URL') ?? read.string('DATABASE_URL'),
    databaseMigrationUrl: read.string('DATABASE_MIGRATION_URL') ?? read.string('DATABASE_DIRECT_URL') ?? read.string('DATABASE_URL'),
    pgAppRole: read.string('PG_APP_ROLE') ?? DEFAULT_APP_ROLE,
    pgPreparedStatements: read.onOff('PG_PREPARED_STATEMENTS', read.string('DATABASE_URL') === undefined),
    dataDir,
    embeddedPgPort: read.int('EMBEDDED_PG_PORT', 54329),
    poolSize: read.int('PG_POOL_SIZE', 10),
    heapGrowingPercent: read.int('HEAP_GROWING_PERCENT', 100),
    pgConnectTimeoutMs: read.int('PG_CONNECT_TIMEOUT_MS', 5000),
    pgIdleTimeoutMs: read.int('PG_IDLE_TIMEOUT_MS', 30_000),
    pgStatementTimeoutMs: read.int('PG_STATEMENT_TIMEOUT_MS', 5000),
    // 8 s: above each single 5 s bound (pool wait, statement), so a request that
    // hits only one still gets that one's error, and below their 10 s sum, so
    // a pool wait followed by a slow statement (or several slow statements) is
    // cut off well inside the common 10 s client and proxy timeouts.
    requestTimeoutMs: read.int('REQUEST_TIMEOUT_MS', 8000, positive),
    slowStatementMs: read.int('SLOW_STATEMENT_MS', 100),
    shutdownGraceMs: read.int('SHUTDOWN_GRACE_MS', 10_000),
    auth,
    recordings,
    maxPageSize: 100,
    defaultPageSize: 20,
    // Anything but `off` keeps batching on (the benchmark's switch; never refused).
    batching: read.string('SWITCHBOARD_BATCHING') !== 'off',
    webhookToleranceSeconds: read.int('WEBHOOK_TOLERANCE_SECONDS', 300),
    caches: cachesFromEnv(environment),
    provider: providerFromEnv(environment),
    live: liveFromEnv(environment),
    // Query limits, trusted documents, CORS and the body limit (src/config/protection.ts).
    ...protectionFromEnv(environment),
    ...overrides,
  };
}
