import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded';
import { freePort } from './waiting';
import { applyConnectionDefaults, createDb, createPool } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrate';
import { ensureAppRole, urlAs } from '../../src/db/roles';
import { DEFAULT_APP_ROLE } from '../../migrations/0010_app_role';

declare global {
  // Shared with globalTeardown, which runs in the same process.
  var __embeddedPostgres: EmbeddedPostgres | undefined;
}

/**
 * One PostgreSQL for the whole run: a throwaway embedded cluster, or a fresh
 * database on TEST_DATABASE_URL's server. Test files share it and stay apart
 * by creating their own organisations — tenant isolation doing its job.
 */
export default async function globalSetup(): Promise<void> {
  let url = process.env.TEST_DATABASE_URL;
  let appUrl: string;
  if (url) {
    url = await freshDatabase(url);
    appUrl = await runtimeRoleOn(url);
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-test-pg-'));
    const port = await freePort();
    const server = await startEmbeddedPostgres({ dir, port, persistent: false, database: 'switchboard_test' });
    globalThis.__embeddedPostgres = server;
    url = server.url;
    appUrl = server.appUrl;
  }
  // As `npm start` does: migrations as the owner, which grant the runtime role its rights (migration 0010).
  const pool = createPool({ connectionString: url, max: 1 });
  await migrateToLatest(createDb(pool));
  await pool.end();
  // As `npm start` does for the runtime role: every connection (direct or through PgBouncer) starts with the
  // configured defaults. The owner gets them too, so fixtures and direct checks run under the server's limits.
  await applyConnectionDefaults(appUrl, 5000);
  await applyConnectionDefaults(url, 5000);
  // Fixtures (factories, truncation, direct checks) use the owner; test servers the runtime role (test/support/server.ts).
  process.env.SWITCHBOARD_TEST_DATABASE_URL = url;
  process.env.SWITCHBOARD_TEST_APP_DATABASE_URL = appUrl;
}

/** On TEST_DATABASE_URL's server, the runtime role as the embedded server makes it (needs a superuser URL, as creating databases does). */
async function runtimeRoleOn(url: string): Promise<string> {
  const password = randomBytes(18).toString('base64url');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await ensureAppRole(admin, { role: DEFAULT_APP_ROLE, password, database: new URL(url).pathname.slice(1) });
  } finally {
    await admin.end();
  }
  return urlAs(url, DEFAULT_APP_ROLE, password);
}

async function freshDatabase(serverUrl: string): Promise<string> {
  const name = `switchboard_test_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name}`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
