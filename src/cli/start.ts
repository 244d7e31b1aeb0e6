import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { loadConfig } from '../config/config';
import { locateDatabase } from '../db/connect';
import { applyConnectionDefaults, createDb, createPool, openDatabase, poolOptionsFor } from '../db/database';
import { migrateToLatest } from '../db/migrate';
import { runtimeRoleProblems } from '../db/roles';
import { isStandby } from '../db/standby';
import { createLogger } from '../logger';
import { seedDemoData } from '../seed/demo';
import { createServer } from '../server/server';
import { createServices } from '../server/services';
import { activeDemoSecrets } from '../webhooks/secrets';
import { devTokenFor } from './devToken';
import { runCli } from './run';
import { LocalProvider } from '../provider/local/server';
import { giveDemoProviderKeys } from '../provider/local/demoKeys';

/**
 * `npm start`: config → database (embedded unless DATABASE_URL), migrations,
 * demo data when the database is empty → services → server → listen. SIGINT/
 * SIGTERM shut down in order: readiness false, stop accepting, finish in-flight
 * requests (SHUTDOWN_GRACE_MS), close the services (caches, pool), stop
 * PostgreSQL, exit 0.
 */
async function main(): Promise<void> {
  const startedAt = Date.now();
  const config = loadConfig();
  const logger = createLogger();
  // Read by V8 at each full collection, so setting it here, before any load, is as good as on the command line.
  if (config.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
  // Our shutdown below stops the embedded PostgreSQL, after the requests it serves have drained.
  const location = await locateDatabase(config, (line) => logger.debug({ postgres: line }), { stopOnSignals: false });
  // Migrations run as the owner (DATABASE_MIGRATION_URL); request traffic as
  // the runtime role (DATABASE_URL), whose connection defaults it sets for
  // itself over its session-level connection (DATABASE_DIRECT_URL), never
  // through a transaction pooler.
  const directUrl = location.embedded ? location.url : (config.databaseDirectUrl ?? location.url);
  // A standby takes no writes: its schema is the primary's, replayed. Migrating it
  // or setting role defaults would only fail; it serves reads and answers writes READ_ONLY.
  const standby = await standbyAt(location.migrationUrl);
  if (standby) logger.warn('the database is a read-only standby: migrations and demo seeding skipped; writes are answered READ_ONLY');
  else {
    await migrateDirect(location.migrationUrl, config.pgAppRole);
    await applyConnectionDefaults(directUrl, config.pgStatementTimeoutMs).catch((error: unknown) =>
      // Not fatal: each statement still gets its limit (a LOCAL set costs one more statement).
      logger.warn({ err: error }, 'could not set the role defaults (statement_timeout, idle_in_transaction_session_timeout, TimeZone)'),
    );
  }
  const database = openDatabase(poolOptionsFor(config, location.url));
  const { db } = database;
  const roleProblems = await runtimeRoleProblems((text) => database.pool.query(text)).catch(() => []);
  if (roleProblems.length > 0) {
    logger.warn(
      { problems: roleProblems },
      'DATABASE_URL does not connect as a least-privileged runtime role (docs/deployment.md "Roles and grants")',
    );
  }

  if (config.env === 'production') {
    // A database seeded in development keeps the demo organisations' webhook
    // secrets, printed in the README: served in production, anyone could forge
    // their call reports. Refusing (rather than revoking them silently) leaves
    // the operator to choose when the provider switches to a new secret.
    const demo = await activeDemoSecrets(db);
    if (demo.length > 0) {
      await database.close();
      await location.release();
      throw new Error(
        `refusing to start in production: the well-known demo webhook secret is active for ${demo.join(', ')}. ` +
          `Rotate it first: ${demo.map((slug) => `npm run -s webhook:secret -- --org ${slug} --grace-seconds 0`).join(' ; ')}`,
      );
    }
  }

  if (config.env !== 'production' && !standby) {
    // As the owner: seeding ends with ANALYZE, which only a table's owner may run.
    const owner = createPool({ connectionString: location.migrationUrl, max: 2, statementTimeoutMs: 0, applicationName: 'switchboard-seed' });
    try {
      const seeded = await seedDemoData(createDb(owner), { recordingsDir: recordingsDir(config) });
      if (seeded) logger.info({ ...seeded, organisations: seeded.organisations.map((o) => o.slug) }, 'seeded demo data');
    } finally {
      await owner.end();
    }
  }
  const devToken =
    config.env !== 'production' && config.auth.kind === 'hs256' ? await devTokenFor(config, db, 'acme', 'admin').catch(() => undefined) : undefined;

  // Without PROVIDER_URL, development runs the local provider (src/provider/local) in this process,
  // so provider fields work with no setup; production leaves them null instead.
  const localProvider = !config.provider.url && config.env !== 'production' ? new LocalProvider() : undefined;
  if (localProvider) {
    config.provider.url = await localProvider.listen(config.provider.localPort);
    if (!standby) await giveDemoProviderKeys(db);
    logger.info({ url: config.provider.url }, 'local voice provider started (PROVIDER_URL is unset)');
  }

  const services = await createServices(config, logger, { database, ...(devToken ? { devToken } : {}) });
  const server = await createServer(services);
  const address = await server.listen(config.port, config.host);
  const base = `http://localhost:${address.port}`;
  logger.info(
    { ms: Date.now() - startedAt, database: location.embedded ? 'embedded' : 'external', host: config.host, port: address.port },
    `Switchboard ready at ${base}/graphql — GraphiQL ${base}/graphiql` + (devToken ? ` — token (acme admin): ${devToken}` : ''),
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    // Only if something below hangs past the grace: drain itself is bounded by it.
    const force = setTimeout(() => process.exit(1), config.shutdownGraceMs + 10_000);
    force.unref();
    try {
      await server.drain(config.shutdownGraceMs);
      await services.close();
      await localProvider?.close();
      await location.release();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

function recordingsDir(config: ReturnType<typeof loadConfig>): string {
  return config.recordings.kind === 'local' ? config.recordings.dir : path.join(config.dataDir, 'recordings');
}

runCli('start', () => main());

async function migrateDirect(url: string, appRole: string): Promise<void> {
  const pool = createPool({ connectionString: url, max: 1, applicationName: 'switchboard-migrate' });
  try {
    await migrateToLatest(createDb(pool), { appRole });
  } finally {
    await pool.end();
  }
}

/** Asked over a one-connection pool of its own, so no request connection opens before the role defaults are set. */
async function standbyAt(url: string): Promise<boolean> {
  const pool = createPool({ connectionString: url, max: 1, applicationName: 'switchboard-start' });
  try {
    return await isStandby(createDb(pool));
  } finally {
    await pool.end();
  }
}
