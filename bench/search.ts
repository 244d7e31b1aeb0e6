import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { percentile } from './percentile';
import pg from 'pg';
import { signToken } from '../src/auth/tokens';
import { loadConfig } from '../src/config/config';
import { cachesOff } from '../src/config/caches';
import { applyConnectionDefaults, createDb, createPool, openDatabase, poolOptionsFor } from '../src/db/database';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { migrateToLatest } from '../src/db/migrate';
import { createLogger } from '../src/logger';
import { encodeCursor } from '../src/pagination/cursor';
import { callOrdering } from '../src/queries/calls';
import { seedScale } from '../src/seed/scale';
import { createServer } from '../src/server/server';
import { createServices } from '../src/server/services';

/**
 * `npm run bench:search` (issue 16): call search, sorted pages at depth and
 * the streaming export, on a scale-seeded dataset (default 1M calls over 4
 * organisations, the first holding half) plus generated transcripts for a
 * third of the calls. The server runs in this process with caches off; each
 * scenario is sequential requests after a warm-up, so the figures are
 * per-request latency, not throughput under concurrency. The export's RSS
 * growth is the peak process RSS during the download minus the RSS just before
 * it (the client side only counts bytes).
 */

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000000' },
    orgs: { type: 'string', default: '4' },
    requests: { type: 'string', default: '200' },
    smoke: { type: 'boolean', default: false },
  },
});
const SMOKE = args.smoke;
const CALLS = SMOKE ? 4000 : Number(args.calls);
const ORGS = SMOKE ? 2 : Number(args.orgs);
const REQUESTS = SMOKE ? 5 : Number(args.requests);
const log = (line: string) => console.log(`[bench:search] ${line}`);

/** Transcript vocabulary: a few common words and many rare ones, so searches span selectivities. */
const COMMON = ['hello', 'thanks', 'appointment', 'call', 'please', 'yes', 'time', 'today'];
const RARE = Array.from({ length: 400 }, (_, i) => `term${i.toString(36)}`);

function summary(name: string, timings: number[]): string {
  const sorted = [...timings].sort((a, b) => a - b);
  return `${name}: n=${sorted.length} p50=${percentile(sorted, 50).toFixed(1)} ms p95=${percentile(sorted, 95).toFixed(1)} ms p99=${percentile(sorted, 99).toFixed(1)} ms`;
}

async function main(): Promise<void> {
  const embedded = await startEmbeddedPostgres({
    dir: path.join(loadConfig().dataDir, 'bench-search-postgres'),
    port: Number(process.env.BENCH_SEARCH_PG_PORT ?? 61530),
    persistent: true,
    database: 'postgres',
  });
  try {
    const name = `switchboard_bench_search_${SMOKE ? 'smoke' : CALLS}`;
    const admin = new pg.Client({ connectionString: embedded.url });
    await admin.connect();
    if ((await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 0) await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(embedded.url);
    url.pathname = `/${name}`;
    const databaseUrl = url.toString();

    const setupPool = createPool({ connectionString: databaseUrl, max: 2, statementTimeoutMs: 0 });
    const db = createDb(setupPool);
    await migrateToLatest(db);
    const seeded = await seedScale(db, { orgs: ORGS, calls: CALLS, prefix: 'bsearch', skew: 0.5, log: (line) => log(`seed: ${line}`) });
    const { rows: have } = await sql<{ n: number }>`select count(*)::int as n from call_transcripts`.execute(db);
    if (have[0]?.n === 0) {
      const started = performance.now();
      // Every third call gets ~40 words: three common, the rest drawn from the rare vocabulary by the call id.
      await sql`insert into call_transcripts (org_id, call_id, text)
        select c.org_id, c.id, ${COMMON.join(' ')} || ' ' || (
          select string_agg((${RARE}::text[])[1 + ((c.id * 7919 + w * 104729) % ${RARE.length})], ' ') from generate_series(1, 32) w)
        from calls c where c.id % 3 = 0`.execute(db);
      await sql`vacuum analyze`.execute(db);
      log(`transcripts generated in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    await applyConnectionDefaults(databaseUrl, 5000);
    await setupPool.end();
    const org = seeded.organisations[0];
    if (!org) throw new Error('the seeder made no organisation');
    log(`dataset: ${seeded.calls} calls (${seeded.reused ? 'reused' : 'seeded'}); organisation ${org.slug} has ${org.calls}`);

    const config = loadConfig({
      databaseUrl,
      env: 'production',
      auth: { kind: 'hs256', secret: randomBytes(32), issuer: 'switchboard', audience: 'switchboard-api' },
      poolSize: 10,
    });
    config.caches = cachesOff(config.caches);
    const database = openDatabase({ ...poolOptionsFor(config, databaseUrl), applicationName: 'switchboard-bench-search' });
    const services = await createServices(config, createLogger({ level: 'error' }), { database });
    const server = await createServer(services);
    const address = await server.listen(0, '127.0.0.1');
    const base = `http://127.0.0.1:${address.port}`;
    const { rows: members } = await sql<{
      user_id: string;
    }>`select user_id from memberships where org_id = ${org.id}::int8 and role = 'admin' limit 1`.execute(database.db);
    const admin0 = members[0];
    if (!admin0) throw new Error('the organisation has no admin');
    const token = await signToken(config.auth.kind === 'hs256' ? config.auth.secret : new Uint8Array(), config.auth, {
      userId: admin0.user_id,
      orgId: org.id,
      role: 'admin',
    });

    const graphql = async (query: string, variables: Record<string, unknown>) => {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
    };
    const timed = async (count: number, run: (i: number) => Promise<void>) => {
      for (let i = 0; i < Math.min(10, count); i++) await run(i);
      const timings: number[] = [];
      for (let i = 0; i < count; i++) {
        const started = performance.now();
        await run(i);
        timings.push(performance.now() - started);
      }
      return timings;
    };

    const SEARCH = `query($s: String) { calls(first: 20, filter: { search: $s }) { edges { highlight node { id startedAt durationSeconds agent { name } contact { name } } } } }`;
    const words = [...COMMON.slice(0, 2), ...RARE.slice(0, 20), 'term1 term2', 'hello term3'];
    log(summary('transcript search, first page (with highlights)', await timed(REQUESTS, (i) => graphql(SEARCH, { s: words[i % words.length] }))));

    const PAGE = `query($after: String, $field: CallOrderField!) { calls(first: 50, after: $after, orderBy: { field: $field, direction: DESC }) { nodes { id durationSeconds cost agent { name } } pageInfo { endCursor } } }`;
    for (const [field, sortField] of [
      ['DURATION', 'duration_seconds'],
      ['COST', 'cost'],
    ] as const) {
      const cursors: (string | null)[] = [null];
      for (const depth of [1000, 10_000, 100_000, Math.floor(org.calls * 0.9)]) {
        if (depth >= org.calls) continue;
        const { rows } = await sql<{ id: string; value: number }>`select id, ${sql.ref(sortField)}::float8 as value from calls
          where org_id = ${org.id}::int8 order by ${sql.ref(sortField)} desc, id desc offset ${depth} limit 1`.execute(database.db);
        if (rows[0]) cursors.push(encodeCursor(callOrdering({ field: sortField, direction: 'desc' }), rows[0].value, rows[0].id));
      }
      const timings = await timed(REQUESTS, (i) => graphql(PAGE, { after: cursors[i % cursors.length], field }));
      log(summary(`calls by ${field} desc, 50 rows, depths 0..90% (${cursors.length} depths)`, timings));
    }

    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const started = performance.now();
    const response = await fetch(`${base}/export/calls.csv`, { headers: { authorization: `Bearer ${token}` } });
    let bytes = 0;
    let lines = 0;
    if (!response.body) throw new Error('the export has no body');
    const reader = response.body.getReader();
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      const chunk = next.value as Uint8Array;
      bytes += chunk.length;
      for (const byte of chunk) if (byte === 10) lines++;
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const rows = lines - 1;
    log(
      `export calls.csv: ${rows} rows, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(2)} s = ${Math.round(rows / seconds)} rows/s; ` +
        `RSS growth ${((peak - before) / 1e6).toFixed(1)} MB (peak ${(peak / 1e6).toFixed(0)} MB)`,
    );

    await server.close();
    await services.close();
  } finally {
    await embedded.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
