import pg from 'pg';
import { sql, type Transaction } from 'kysely';
import type { Database } from '../src/db/schema';
import { applyConnectionDefaults, createDb, createPool, type Db } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrate';
import { testDatabaseUrl } from './support/db';
import { createOrg, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';

/**
 * Statistics plans hold at every organisation size: whole days come from the
 * rollups, and the partial stretches at a range's ends are read by an index
 * range on the organisation's time — never by reading the organisation's
 * calls and filtering them. Checked by EXPLAIN ANALYZE of each statement the
 * server runs, on a small and a 100× larger organisation in the same database,
 * with the plan PostgreSQL picks for the literal values (custom) and the one a
 * prepared statement may switch to (generic): rows read from `calls` and
 * `appointments` must stay within the calls near the range's ends, whatever
 * the organisation's size. (An index test that only forbids sequential scans
 * cannot see an index scan over the whole organisation.)
 *
 * The two organisations get a database of their own: a generic plan estimates
 * `org_id = $n` at (rows / organisations), so in the shared test database,
 * full of other specs' small organisations, every estimate is tiny and the
 * risky plan never comes up. Alone, two organisations of 30,300 calls make it
 * ~15,000 rows per organisation — the few-large-tenants statistics under which
 * the dashboard's generic plan once joined its periods against ALL of an
 * organisation's calls (issue 12).
 */

const NOW = new Date('2026-06-30T12:00:00Z');
const DAY_MS = 86_400_000;
const SIZES = { small: 300, large: 30_000 };
const RAW_TABLES: ReadonlySet<string> = new Set(['calls', 'appointments']);
/** A list's joined rows are primary-key probes, one per row of its page: never a scan of the organisation's agents or contacts. */
const LIST_TABLES = ['calls', 'agents', 'contacts'] as const;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Join Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/**
 * Rows a plan read from the raw tables: what its scans produced plus what their filters threw away, over all
 * loops, plus what joins over them threw away (a join filter is a range applied after reading the rows).
 */
function rawRowsRead(node: PlanNode, tables: ReadonlySet<string> = RAW_TABLES): number {
  let read = (node.Plans ?? []).some((child) => readsDirectly(child, tables))
    ? (node['Rows Removed by Join Filter'] ?? 0) * (node['Actual Loops'] ?? 1)
    : 0;
  if (tables.has(node['Relation Name'] ?? '')) {
    const perLoop = (node['Actual Rows'] ?? 0) + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0);
    read += perLoop * (node['Actual Loops'] ?? 1);
  }
  for (const child of node.Plans ?? []) read += rawRowsRead(child, tables);
  return read;
}

/** A scan of one of the tables, or one fed straight through a Materialize, Memoize or Hash of it: a join over it filters raw rows. */
function readsDirectly(node: PlanNode, tables: ReadonlySet<string>): boolean {
  if (tables.has(node['Relation Name'] ?? '')) return true;
  return ['Materialize', 'Memoize', 'Hash'].includes(node['Node Type']) && (node.Plans ?? []).some((child) => readsDirectly(child, tables));
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (Array.isArray(value)) return `'{${value.map(String).join(',')}}'`;
  if (typeof value === 'number') return String(value);
  const text = typeof value === 'string' || typeof value === 'bigint' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return `'${text.replace(/'/g, "''")}'`;
}

async function seedCalls(db: Db | Transaction<Database>, org: TestOrg, count: number): Promise<void> {
  await sql`insert into agents (org_id, name, provider, provider_agent_id)
    select ${org.id}::int8, 'Agent ' || g, 'retell', 'ag-' || g from generate_series(1, 20) g`.execute(db);
  await sql`insert into contacts (org_id, name, phone, created_at)
    select ${org.id}::int8, 'Contact ' || g, '+1555' || lpad(g::text, 7, '0'), timestamptz '2026-01-01' + g * interval '1 hour'
    from generate_series(1, 200) g`.execute(db);
  // Spread evenly over the 91 days up to NOW, so every day has calls and partial days have some, and in an
  // order unrelated to time (g * 7919 mod count, 7919 prime, is a permutation): calls arrive out of order in
  // production too, and with the heap sorted by time PostgreSQL would rate any index scan as cheap.
  await sql`insert into calls (org_id, agent_id, contact_id, direction, status, from_number, to_number, started_at,
                               duration_seconds, cost, sentiment, outcome)
    select ${org.id}::int8, a.ids[1 + g % 20], c.ids[1 + g % 200],
           case when g % 5 < 2 then 'inbound' else 'outbound' end,
           (array['completed','completed','no_answer','failed'])[1 + g % 4],
           '+15550000001', '+15550000002',
           ${NOW}::timestamptz - (((g::int8 * 7919) % ${count}) + 1)::float8 / ${count} * interval '91 days',
           g % 600, (g % 100) / 100.0,
           (array['positive','neutral','negative'])[1 + g % 3],
           (array['appointment_booked','interested','no_outcome'])[1 + g % 3]
    from generate_series(1, ${count}) g,
         (select array_agg(id order by id) ids from agents where org_id = ${org.id}::int8) a,
         (select array_agg(id order by id) ids from contacts where org_id = ${org.id}::int8) c`.execute(db);
  await sql`insert into appointments (org_id, contact_id, call_id, agent_id, scheduled_at, value, created_at)
    select org_id, contact_id, id, agent_id, started_at + interval '2 days', 200, started_at
    from calls where org_id = ${org.id}::int8 and outcome = 'appointment_booked' and id % 10 = 0`.execute(db);
}

describe('statistics plans hold at every organisation size (EXPLAIN ANALYZE)', () => {
  let db: Db;
  let pool: pg.Pool;
  let name: string;
  let server: TestServer;
  const orgs: Record<keyof typeof SIZES, { org: TestOrg; token: string }> = {} as never;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    name = `switchboard_plans_${process.pid}`;
    await admin.query(`drop database if exists ${name}`);
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(testDatabaseUrl());
    url.pathname = `/${name}`;
    pool = createPool({ connectionString: url.toString(), max: 4 });
    db = createDb(pool);
    await migrateToLatest(db);
    await applyConnectionDefaults(url.toString(), 5000);
    server = await startTestServer({ databaseUrl: url.toString(), clock: () => NOW });
    for (const [size, count] of Object.entries(SIZES) as [keyof typeof SIZES, number][]) {
      const org = await createOrg(db, { timezone: 'America/New_York' });
      // One set-based insert of 30,000 calls (rollup triggers included) may outlast the pool's statement_timeout on a busy machine.
      await db.transaction().execute(async (trx) => {
        await sql`set local statement_timeout = 0`.execute(trx);
        await seedCalls(trx, org, count);
      });
      orgs[size] = { org, token: await server.tokenFor(org) };
    }
    await sql`analyze calls, appointments`.execute(db);
  }, 120_000);

  afterAll(async () => {
    await server.close();
    await pool.end();
    // On a TEST_DATABASE_URL server the database would otherwise outlive the run.
    const admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  });

  /** The org's calls within two days of any of the instants: all a partial stretch at a range's end may hold. */
  async function callsNear(orgId: string, instants: Date[]): Promise<number> {
    let total = 0;
    for (const at of instants) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from calls where org_id = ${orgId}::int8
        and started_at >= ${new Date(at.getTime() - 2 * DAY_MS)} and started_at < ${new Date(at.getTime() + 2 * DAY_MS)}`.execute(db);
      total += rows[0]!.n;
    }
    return total;
  }

  const from = new Date('2026-05-01T13:30:00Z');
  const to = new Date('2026-05-20T08:00:00Z');
  const previousFrom = new Date(from.getTime() - (to.getTime() - from.getTime()));
  const last30 = [new Date(NOW.getTime() - 60 * DAY_MS), new Date(NOW.getTime() - 30 * DAY_MS), new Date(NOW.getTime() + DAY_MS)];
  const last7 = [new Date(NOW.getTime() - 7 * DAY_MS), new Date(NOW.getTime() + DAY_MS)];
  const last90 = [new Date(NOW.getTime() - 90 * DAY_MS), new Date(NOW.getTime() + DAY_MS)];
  const panels: [string, string, Date[]][] = [
    [
      'dashboard, last 30 days',
      `{ dashboard(range: { preset: LAST_30_DAYS }) { totalCalls { current previous } callsByStatus { key count } } }`,
      last30,
    ],
    [
      'dashboard, partial days at both ends',
      `{ dashboard(range: { between: { from: "${from.toISOString()}", to: "${to.toISOString()}" } }) { totalCalls { current previous } pipelineValue { current } } }`,
      [previousFrom, from, to],
    ],
    [
      'analytics, 90 days by day',
      `{ analytics(range: { preset: LAST_90_DAYS }, interval: DAY, groupBy: AGENT) { buckets { metrics { calls } } } }`,
      last90,
    ],
    [
      'leaderboard, last 30 days',
      `{ agentLeaderboard(range: { preset: LAST_30_DAYS }, metric: CONVERSION_RATE, first: 50) { rank stats { calls } } }`,
      last30,
    ],
    ['agent stats, last 7 days', `{ agents(first: 20) { nodes { stats(range: { preset: LAST_7_DAYS }) { calls } } } }`, last7],
  ];

  /**
   * Rows a statement of the server read from the raw tables, run as a prepared statement with the plan
   * PostgreSQL picks for its values (custom) or the one it may switch to after five runs (generic).
   */
  async function rowsReadAs(statement: { sql: string; parameters: readonly unknown[] }, planMode: 'custom' | 'generic'): Promise<number> {
    return rawRowsRead(await planOf(statement, planMode));
  }

  async function planOf(statement: { sql: string; parameters: readonly unknown[] }, planMode: 'custom' | 'generic'): Promise<PlanNode> {
    return db.connection().execute(async (connection) => {
      const args = statement.parameters.map(literal).join(', ');
      await sql`set plan_cache_mode = ${sql.raw(planMode === 'generic' ? 'force_generic_plan' : 'force_custom_plan')}`.execute(connection);
      try {
        await sql`prepare plan_spec as ${sql.raw(statement.sql)}`.execute(connection);
        const { rows } = await sql<{ 'QUERY PLAN': { Plan: PlanNode }[] }>`explain (analyze, format json) execute plan_spec${sql.raw(
          args ? `(${args})` : '',
        )}`.execute(connection);
        return rows[0]!['QUERY PLAN'][0]!.Plan;
      } finally {
        await sql`deallocate all`.execute(connection);
        await sql`reset plan_cache_mode`.execute(connection);
      }
    });
  }

  // The unfiltered lists run as named prepared statements (PG_PREPARED_STATEMENTS): their generic plan must read
  // a page, not the organisation, from calls and from the agents and contacts they join (each organisation has
  // 200 contacts). Allowed from each table: the rows the page(s) hold, plus look-ahead rows.
  const lists: [string, (token: string) => Promise<string>, number][] = [
    ['calls page with agent and contact', async () => `{ calls(first: 50) { edges { node { id startedAt agent { name } contact { name } } } } }`, 51],
    [
      'calls page after a cursor',
      async (token) => {
        const first = await server.graphql(`{ calls(first: 100) { pageInfo { endCursor } } }`, { token });
        const cursor = (first.body.data as { calls: { pageInfo: { endCursor: string } } }).calls.pageInfo.endCursor;
        return `{ calls(first: 50, after: "${cursor}") { edges { node { id contact { name } } } } }`;
      },
      51,
    ],
    ['agents board', async () => `{ agents(first: 10) { nodes { name calls(first: 5) { nodes { id contact { name } } } } } }`, 10 * 6],
    // A narrow selection of the joined rows fits the contacts' and agents' name indexes: no reason to read them whole.
    ['calls page with narrow joins', async () => `{ calls(first: 50) { nodes { agent { id name } contact { id name } } } }`, 51],
  ];

  describe.each(['custom', 'generic'] as const)('%s plans of the unfiltered lists', (planMode) => {
    it.each(lists)('%s: reads its page, small and large organisation alike', async (_name, query, pageRows) => {
      for (const { token } of Object.values(orgs)) {
        const document = await query(token);
        server.operations.length = 0;
        const response = await server.graphql(document, { token });
        expect(response.body.errors).toBeUndefined();
        for (const statement of server.operations[0]!.statements.statements!) {
          const plan = await planOf(statement, planMode);
          for (const table of LIST_TABLES) {
            const read = rawRowsRead(plan, new Set([table]));
            expect({ sql: statement.sql, table, read: Math.min(read, pageRows + 20) }).toEqual({ sql: statement.sql, table, read });
          }
        }
      }
    });
  });

  describe.each(['custom', 'generic'] as const)('%s plans', (planMode) => {
    it.each(panels)('%s: rows read from calls stay within the range ends, small and large organisation alike', async (_name, query, ends) => {
      for (const { org, token } of Object.values(orgs)) {
        server.operations.length = 0;
        const response = await server.graphql(query, { token });
        expect(response.body.errors).toBeUndefined();
        const statements = server.operations[0]!.statements.statements!;
        const allowed = (await callsNear(org.id, ends)) * 2 + 50;
        for (const statement of statements) {
          const read = await rowsReadAs(statement, planMode);
          expect({ sql: statement.sql, read: Math.min(read, allowed) }).toEqual({ sql: statement.sql, read });
        }
      }
    });
  });
});
