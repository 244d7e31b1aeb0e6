import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { sql } from 'kysely';
import { loadConfig } from '../src/config/config';
import { bindRequest, openDatabase, type Db } from '../src/db/database';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { migrateToLatest } from '../src/db/migrate';
import { tenantScope, type TenantScope } from '../src/db/tenant';
import { newStatementLog } from '../src/db/statementLog';
import { seedScale } from '../src/seed/scale';
import { dashboardFigures } from '../src/stats/dashboard';
import { analyticsSeries } from '../src/stats/analytics';
import { agentLeaderboard } from '../src/stats/agents';
import { percentile } from './percentile';

/**
 * Statistics panels by organisation size (issue 12): organisations of very
 * different sizes in ONE database (so they share the table statistics, as
 * tenants do in production), each panel timed on one connection, with named
 * prepared statements (generic plans after the fifth run) and unnamed ones
 * (custom plans), plus the rows each panel's plan read from `calls`.
 *
 *   npm run bench:plans -- [--sizes 1000,100000,1000000] [--runs 200] [--warmup 10]
 *
 * The cluster lives in .data/plans-postgres (BENCH_PG_PORT, default 57510);
 * a size already seeded is reused.
 */

const { values: args } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,100000,1000000' },
    runs: { type: 'string', default: '200' },
    warmup: { type: 'string', default: '10' },
    modes: { type: 'string', default: 'named,unnamed' },
    panels: { type: 'string', default: 'dashboard,analytics,leaderboard' },
  },
});
const SIZES = args.sizes.split(',').map(Number);
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);
const NOW = new Date();

const log = (line: string) => process.stderr.write(`[bench:plans] ${line}\n`);
const prefixOf = (calls: number) => `size-${calls}`;

type Panel = (scope: TenantScope) => Promise<unknown>;
const PANELS: Record<string, Panel> = {
  dashboard: (s) => dashboardFigures(s, { kind: 'preset', preset: 'last_30_days' }, NOW),
  analytics: (s) => analyticsSeries(s, { kind: 'preset', preset: 'last_90_days' }, 'day', 'none', NOW),
  leaderboard: (s) => agentLeaderboard(s, { kind: 'preset', preset: 'last_30_days' }, 'conversion_rate', 50, NOW),
};

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Rows scans of `calls` produced or threw away, over all loops, plus join-filter rejects above them. */
function callRowsRead(node: PlanNode): number {
  let read = (node['Rows Removed by Join Filter'] ?? 0) * (node['Actual Loops'] ?? 1);
  if (node['Relation Name'] === 'calls') {
    read +=
      ((node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) *
      (node['Actual Loops'] ?? 1);
  }
  for (const child of node.Plans ?? []) read += callRowsRead(child);
  return read;
}

async function main(): Promise<void> {
  const embedded = await startEmbeddedPostgres({
    dir: path.join(loadConfig().dataDir, 'plans-postgres'),
    port: Number(process.env.BENCH_PG_PORT ?? 57510),
    persistent: true,
    database: 'postgres',
  });
  try {
    const admin = new pg.Client({ connectionString: embedded.url });
    await admin.connect();
    const exists = await admin.query(`select 1 from pg_database where datname = 'switchboard_plans'`);
    if (exists.rowCount === 0) await admin.query('create database switchboard_plans');
    await admin.end();
    const url = new URL(embedded.url);
    url.pathname = '/switchboard_plans';

    const seeding = openDatabase({ connectionString: url.toString(), max: 3, statementTimeoutMs: 0 });
    const orgs: { calls: number; orgId: string }[] = [];
    try {
      await migrateToLatest(seeding.db);
      for (const calls of SIZES) {
        const result = await seedScale(seeding.db, { orgs: 1, calls, prefix: prefixOf(calls), log: (l) => log(`seed ${calls}: ${l}`) });
        log(`${calls} calls: ${result.reused ? 'reused' : `seeded in ${result.seconds.toFixed(1)} s`}`);
        const [org] = result.organisations;
        if (!org) throw new Error(`no organisation seeded for ${calls} calls`);
        orgs.push({ calls, orgId: org.id });
      }
    } finally {
      await seeding.close();
    }

    const lines = [
      '| panel | org calls | statements | p50 ms | p99 ms | rows read from calls (custom / generic plan) |',
      '|---|---|---|---|---|---|',
    ];
    for (const mode of args.modes.split(',')) {
      for (const { calls, orgId } of orgs) {
        // A fresh pool per organisation and mode: named statements are prepared anew, as after a restart.
        const handle = openDatabase({ connectionString: url.toString(), max: 1, preparedStatements: mode === 'named', statementTimeoutMs: 30_000 });
        try {
          const scope = tenantScope(handle.db, orgId);
          for (const name of args.panels.split(',')) {
            const panel = PANELS[name];
            if (!panel) throw new Error(`unknown panel ${name}`);
            for (let i = 0; i < WARMUP; i++) await panel(scope);
            const times: number[] = [];
            for (let i = 0; i < RUNS; i++) {
              const t0 = performance.now();
              await panel(scope);
              times.push(performance.now() - t0);
            }
            times.sort((a, b) => a - b);
            const recorded = newStatementLog(true);
            await panel(tenantScope(bindRequest(handle.db, { requestId: 'bench', statements: recorded }), orgId));
            const statement = recorded.statements?.at(-1);
            const read = statement ? await rowsRead(handle.db, statement) : undefined;
            lines.push(
              `| ${name} | ${calls.toLocaleString('en')} | ${mode} | ${percentile(times, 50).toFixed(1)} | ${percentile(times, 99).toFixed(1)} | ${
                read ? `${read.custom} / ${read.generic}` : '?'
              } |`,
            );
            log(lines.at(-1) ?? '');
          }
        } finally {
          await handle.close();
        }
      }
    }
    process.stdout.write(`\n${NOW.toISOString()}, runs ${RUNS} after ${WARMUP} warm-up, one connection\n\n${lines.join('\n')}\n`);
  } finally {
    await embedded.stop();
  }
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (Array.isArray(value)) return `'{${value.map(String).join(',')}}'`;
  if (typeof value === 'number') return String(value);
  const text = typeof value === 'string' || typeof value === 'bigint' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return `'${text.replace(/'/g, "''")}'`;
}

/** EXPLAIN ANALYZE of the statement with a custom and with a generic plan: rows read from calls by each. */
async function rowsRead(db: Db, statement: { sql: string; parameters: readonly unknown[] }): Promise<{ custom: number; generic: number }> {
  const text = statement.sql.replace('/* prepared */', '');
  const args = statement.parameters.map(literal).join(', ');
  const read = async (mode: string) =>
    db.connection().execute(async (connection) => {
      await sql`set plan_cache_mode = ${sql.raw(mode)}`.execute(connection);
      try {
        await sql`prepare plans_bench as ${sql.raw(text)}`.execute(connection);
        const { rows } = await sql<{
          'QUERY PLAN': { Plan: PlanNode }[];
        }>`explain (analyze, format json) execute plans_bench${sql.raw(args ? `(${args})` : '')}`.execute(connection);
        const plan = rows[0]?.['QUERY PLAN'][0]?.Plan;
        if (!plan) throw new Error('EXPLAIN returned no plan');
        return callRowsRead(plan);
      } finally {
        await sql`deallocate all`.execute(connection);
        await sql`reset plan_cache_mode`.execute(connection);
      }
    });
  return { custom: await read('force_custom_plan'), generic: await read('force_generic_plan') };
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
