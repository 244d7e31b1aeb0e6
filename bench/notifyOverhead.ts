import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { INVALIDATION_CHANNEL } from '../src/cache/listener';
import { createDb, createPool } from '../src/db/database';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { migrateToLatest } from '../src/db/migrate';
import { seedScale } from '../src/seed/scale';
import { freePort } from './processes';

/**
 * What the cache-invalidation triggers (migration 0008) cost a bulk write:
 * the scale seeder on a throwaway embedded PostgreSQL, with a LISTENer
 * attached so every NOTIFY is really delivered, and PostgreSQL's own function
 * statistics (track_functions) timing the trigger function. Wall-clock
 * comparisons of whole seeds are too noisy on a shared 2-core machine; the
 * function's own time is not.
 * `npx tsx bench/notifyOverhead.ts [calls] [orgs]`.
 */
async function main(): Promise<void> {
  const calls = Number(process.argv[2] ?? 200_000);
  const orgs = Number(process.argv[3] ?? 4);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-notify-'));
  const server = await startEmbeddedPostgres({ dir, port: await freePort(), persistent: false });
  const admin = createPool({ connectionString: server.url, max: 1, statementTimeoutMs: 0 });
  const adminDb = createDb(admin);
  const listener = new pg.Client({ connectionString: server.url });
  const payloads: string[] = [];
  try {
    await migrateToLatest(adminDb);
    await sql`alter system set track_functions = 'pl'`.execute(adminDb);
    await sql`select pg_reload_conf()`.execute(adminDb);
    await listener.connect();
    listener.on('notification', (message) => payloads.push(message.payload ?? ''));
    await listener.query(`LISTEN ${INVALIDATION_CHANNEL}`);

    // Its own pool, ended afterwards: a backend flushes its function statistics when it exits.
    const pool = createPool({ connectionString: server.url, max: 4, statementTimeoutMs: 0 });
    const started = process.hrtime.bigint();
    const result = await seedScale(createDb(pool), { orgs, calls, prefix: 'notify', parallel: 1 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await pool.end();
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const { rows } = await sql<{ calls: string; total_ms: number }>`
      select sum(calls)::text as calls, sum(total_time)::float8 as total_ms
      from pg_stat_user_functions where funcname like 'switchboard_notify%'`.execute(adminDb);
    const triggerMs = rows[0]?.total_ms ?? 0;
    console.log(
      `seeded ${result.calls} calls, ${result.contacts} contacts, ${result.appointments} appointments in ${orgs} organisations: ${seconds.toFixed(1)} s`,
    );
    console.log(
      `invalidation triggers: ${rows[0]?.calls ?? 0} statement-level calls, ${triggerMs.toFixed(1)} ms in total ` +
        `(${((triggerMs / 1000 / seconds) * 100).toFixed(2)}% of the seed), ${payloads.length} notifications delivered`,
    );
  } finally {
    await listener.end().catch(() => {});
    await admin.end();
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
