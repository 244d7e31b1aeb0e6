import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/db/embedded';
import { applyConnectionDefaults, createDb, createPool } from '../../src/db/database';
import { migrateToLatest } from '../../src/db/migrate';

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
  if (url) {
    url = await freshDatabase(url);
  } else {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-test-pg-'));
    const port = 56000 + Math.floor(Math.random() * 4000);
    const server = await startEmbeddedPostgres({ dir, port, persistent: false, database: 'switchboard_test' });
    globalThis.__embeddedPostgres = server;
    url = server.url;
  }
  const pool = createPool({ connectionString: url, max: 1 });
  await migrateToLatest(createDb(pool));
  await pool.end();
  // As `npm start` does: every connection (direct or through PgBouncer) starts with the configured defaults.
  await applyConnectionDefaults(url, 5000);
  process.env.SWITCHBOARD_TEST_DATABASE_URL = url;
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
