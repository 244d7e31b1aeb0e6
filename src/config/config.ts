import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { protectionFromEnv, type ProtectionConfig } from './protection';
import { cachesFromEnv, type CacheConfig } from './caches';
import { collectConfigProblems, configProblem } from './problems';

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
  /** External PostgreSQL; when absent an embedded server is started. */
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  poolSize: number;
  /** Bounds opening a connection and waiting for a free one (pool exhausted). */
  pgConnectTimeoutMs: number;
  /** How long an unused pooled connection stays open. */
  pgIdleTimeoutMs: number;
  /** `statement_timeout` on every connection: the server cancels anything longer. */
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

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    configProblem(`${name} must be a non-negative integer, got "${raw}"`);
    return fallback;
  }
  return value;
}

/** For durations where zero means "already over": a request deadline, a JWKS timeout or window. */
function positiveIntFromEnv(name: string, fallback: number): number {
  const value = intFromEnv(name, fallback);
  if (value !== 0) return value;
  configProblem(`${name} must be a positive integer, got "0"`);
  return fallback;
}

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

function secretFromEnv(name: string, env: Config['env'], dataDir: string, localName: string): Uint8Array {
  const value = process.env[name];
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
export function loadConfig(overrides: Partial<Config> = {}): Config {
  return collectConfigProblems(() => readConfig(overrides));
}

function readConfig(overrides: Partial<Config>): Config {
  const nodeEnv = process.env.NODE_ENV;
  const env: Config['env'] = nodeEnv === 'production' ? 'production' : nodeEnv === 'test' ? 'test' : 'development';
  const dataDir = path.resolve(process.env.SWITCHBOARD_DATA_DIR ?? path.join(PROJECT_ROOT, '.data'));
  const issuer = process.env.JWT_ISSUER ?? 'switchboard';
  const audience = process.env.JWT_AUDIENCE ?? 'switchboard-api';

  const auth: AuthConfig = process.env.JWKS_URL
    ? {
        kind: 'jwks',
        jwksUrl: process.env.JWKS_URL,
        issuer,
        audience,
        timeoutMs: positiveIntFromEnv('JWKS_TIMEOUT_MS', DEFAULT_JWKS_TIMING.timeoutMs),
        refreshIntervalMs: positiveIntFromEnv('JWKS_REFRESH_INTERVAL_SECONDS', DEFAULT_JWKS_TIMING.refreshIntervalMs / 1000) * 1000,
        maxStaleMs: positiveIntFromEnv('JWKS_MAX_STALE_SECONDS', DEFAULT_JWKS_TIMING.maxStaleMs / 1000) * 1000,
        cooldownMs: positiveIntFromEnv('JWKS_COOLDOWN_SECONDS', DEFAULT_JWKS_TIMING.cooldownMs / 1000) * 1000,
      }
    : { kind: 'hs256', secret: secretFromEnv('JWT_SECRET', env, dataDir, 'jwt'), issuer, audience };

  const defaultExpiresInSeconds = intFromEnv('RECORDING_URL_TTL_SECONDS', 900);
  const store = process.env.RECORDINGS_STORE;
  if (store && store !== 'local' && store !== 's3') configProblem(`RECORDINGS_STORE must be local or s3, got "${store}"`);
  const recordings: RecordingsConfig =
    store === 's3'
      ? {
          kind: 's3',
          bucket: required('S3_BUCKET', 'with RECORDINGS_STORE=s3: the bucket holding the recordings'),
          region: process.env.S3_REGION ?? 'us-east-1',
          endpoint: process.env.S3_ENDPOINT || undefined,
          forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
          defaultExpiresInSeconds,
        }
      : {
          kind: 'local',
          dir: path.resolve(process.env.RECORDINGS_DIR ?? path.join(dataDir, 'recordings')),
          secret: secretFromEnv('RECORDINGS_SECRET', env, dataDir, 'recordings'),
          publicBaseUrl: process.env.PUBLIC_BASE_URL || undefined,
          defaultExpiresInSeconds,
        };

  return {
    env,
    port: intFromEnv('PORT', 4000),
    host: process.env.HOST || (env === 'production' ? '0.0.0.0' : '127.0.0.1'),
    databaseUrl: process.env.DATABASE_URL || undefined,
    dataDir,
    embeddedPgPort: intFromEnv('EMBEDDED_PG_PORT', 54329),
    poolSize: intFromEnv('PG_POOL_SIZE', 10),
    pgConnectTimeoutMs: intFromEnv('PG_CONNECT_TIMEOUT_MS', 5000),
    pgIdleTimeoutMs: intFromEnv('PG_IDLE_TIMEOUT_MS', 30_000),
    pgStatementTimeoutMs: intFromEnv('PG_STATEMENT_TIMEOUT_MS', 5000),
    // 8 s: above each single 5 s bound (pool wait, statement), so a request that
    // hits only one still gets that one's error, and below their 10 s sum, so
    // a pool wait followed by a slow statement (or several slow statements) is
    // cut off well inside the common 10 s client and proxy timeouts.
    requestTimeoutMs: positiveIntFromEnv('REQUEST_TIMEOUT_MS', 8000),
    slowStatementMs: intFromEnv('SLOW_STATEMENT_MS', 100),
    shutdownGraceMs: intFromEnv('SHUTDOWN_GRACE_MS', 10_000),
    auth,
    recordings,
    maxPageSize: 100,
    defaultPageSize: 20,
    batching: process.env.SWITCHBOARD_BATCHING !== 'off',
    webhookToleranceSeconds: intFromEnv('WEBHOOK_TOLERANCE_SECONDS', 300),
    caches: cachesFromEnv(),
    // Query limits, trusted documents, CORS and the body limit (src/config/protection.ts).
    ...protectionFromEnv(),
    ...overrides,
  };
}

function required(name: string, why: string): string {
  const value = process.env[name];
  if (!value) configProblem(`${name} is required ${why}`);
  return value ?? '';
}
