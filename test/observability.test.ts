import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { createLogger } from '../src/logger';
import { startTestServer, type TestServer, type LogLine } from './support/server';
import { openTestDb, testDatabaseUrl } from './support/db';
import { createAgent, createCall, createCalls, createOrg, type TestOrg } from './support/factories';

/**
 * What an operator sees: health probes, Prometheus metrics, structured logs
 * with request ids and slow statements, `npm run db:report`, and the
 * development-only SQL statistics in `extensions`.
 */

const TSX = path.join(__dirname, '..', 'node_modules', '.bin', 'tsx');
const DB_REPORT = path.join(__dirname, '..', 'src', 'cli', 'dbReport.ts');

const DASHBOARD = 'query Dashboard { agents { totalCount nodes { id name } } calls(first: 5) { nodes { id agent { name } } } }';

/** Prometheus text → samples, so specs can ask for one series by labels. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

async function scrape(server: TestServer): Promise<{ contentType: string | null; text: string; samples: Sample[] }> {
  const response = await fetch(`${server.url}/metrics`);
  expect(response.status).toBe(200);
  const text = await response.text();
  return { contentType: response.headers.get('content-type'), text, samples: parseMetrics(text) };
}

const logsWith = (logs: LogLine[], msg: string) => logs.filter((line) => line.msg === msg);

describe('observability', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;
  let brokenCallId: string;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer({ overrides: { poolSize: 4 } });
    org = await createOrg(db, { name: 'Observed Org' });
    token = await server.tokenFor(org);
    const agent = await createAgent(db, org.id);
    await createCalls(db, org.id, [{ agentId: agent }, { agentId: agent }, { agentId: agent }]);
    // Its recording key lies outside the organisation: signing it is an internal error.
    brokenCallId = toGlobalId('Call', await createCall(db, org.id, { agentId: agent, recordingKey: 'orgs/0/elsewhere.wav' }));
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  describe('health', () => {
    it('/health/live answers while the process is up', async () => {
      const response = await fetch(`${server.url}/health/live`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ok' });
    });

    it('/health/ready is 200 with its checks when the database answers and is migrated', async () => {
      const response = await fetch(`${server.url}/health/ready`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({
        status: 'ready',
        checks: { database: 'ok', migrations: 'current', draining: false },
      });
    });

    it('/health/ready is 503 on a reachable database whose migrations have not run', async () => {
      const name = `switchboard_unmigrated_${process.pid}`;
      const admin = new pg.Client({ connectionString: testDatabaseUrl() });
      await admin.connect();
      await admin.query(`drop database if exists ${name}`);
      await admin.query(`create database ${name}`);
      const url = new URL(testDatabaseUrl());
      url.pathname = `/${name}`;
      const unmigrated = await startTestServer({ databaseUrl: url.toString() });
      try {
        const response = await fetch(`${unmigrated.url}/health/ready`);
        expect(response.status).toBe(503);
        expect(await response.json()).toEqual({
          error: { code: 'NOT_READY', message: 'The server is not ready to serve requests' },
          status: 'not ready',
          checks: { database: 'ok', migrations: 'pending', draining: false },
        });
      } finally {
        await unmigrated.close();
        await admin.query(`drop database if exists ${name}`);
        await admin.end();
      }
    });
  });

  describe('GET /metrics', () => {
    it('serves Prometheus text with request, error, statement, query, pool and Node metrics — and no tenant in any label', async () => {
      expect((await server.graphql(DASHBOARD, { token })).status).toBe(200);
      expect((await server.graphql('{ viewer { role } }', { token })).status).toBe(200);
      expect((await server.graphql('query Broken { nope }', { token })).status).toBe(400);
      expect((await server.graphql('query NoToken { viewer { role } }')).status).toBe(401);

      const { contentType, text, samples } = await scrape(server);
      expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);

      const dashboard = { operation: 'Dashboard', type: 'query' };
      expect(value(samples, 'switchboard_graphql_request_duration_seconds_count', dashboard)).toBe(1);
      expect(value(samples, 'switchboard_graphql_request_duration_seconds_sum', dashboard)).toBeGreaterThan(0);
      expect(value(samples, 'switchboard_graphql_request_duration_seconds_count', { operation: 'anonymous', type: 'query' })).toBe(1);
      // A document that did not validate never lends its (client-chosen) name to a label.
      expect(value(samples, 'switchboard_graphql_request_duration_seconds_count', { operation: 'unknown', type: 'unknown' })).toBe(1);
      expect(samples.some((s) => s.labels.operation === 'Broken')).toBe(false);

      // The dashboard ran a handful of statements (batched), never zero.
      expect(value(samples, 'switchboard_graphql_sql_statements_count', dashboard)).toBe(1);
      const statements = value(samples, 'switchboard_graphql_sql_statements_sum', dashboard)!;
      expect(statements).toBeGreaterThanOrEqual(2);
      expect(statements).toBeLessThanOrEqual(10);

      expect(value(samples, 'switchboard_graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
      expect(value(samples, 'switchboard_graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);

      expect(value(samples, 'switchboard_db_query_duration_seconds_count', { outcome: 'ok' })).toBeGreaterThanOrEqual(statements);
      expect(value(samples, 'switchboard_db_pool_max')).toBe(4);
      expect(value(samples, 'switchboard_db_pool_total')).toBeGreaterThanOrEqual(1);
      expect(value(samples, 'switchboard_db_pool_idle')).toBeGreaterThanOrEqual(0);
      expect(value(samples, 'switchboard_db_pool_waiting')).toBe(0);
      // The scrape itself is in flight.
      expect(value(samples, 'switchboard_http_requests_in_flight')).toBe(1);

      // Node defaults.
      expect(value(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(value(samples, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);

      // Labels are a closed set; none is an organisation.
      const ours = samples.filter((s) => s.name.startsWith('switchboard_'));
      const labelNames = new Set(ours.flatMap((s) => Object.keys(s.labels)));
      // `state`: the provider breakers gauge (closed / open / half_open), counted over accounts.
      expect([...labelNames].sort()).toEqual(['cache', 'code', 'le', 'operation', 'outcome', 'state', 'type']);
      const labelValues = new Set(
        ours.flatMap((s) =>
          Object.entries(s.labels)
            .filter(([k]) => k !== 'le')
            .map(([, v]) => v),
        ),
      );
      for (const tenant of [org.id, org.slug, 'Observed Org']) expect(labelValues.has(tenant)).toBe(false);
      expect(text).not.toContain(org.slug);
    });

    it('caps distinct operation names: past the cap they share the label "other"', async () => {
      const names = Array.from({ length: 110 }, (_, i) => `Capped${i}`);
      for (let i = 0; i < names.length; i += 22) {
        await Promise.all(names.slice(i, i + 22).map((name) => server.graphql(`query ${name} { viewer { role } }`, { token })));
      }
      const { samples } = await scrape(server);
      const operations = new Set(
        samples.filter((s) => s.name === 'switchboard_graphql_request_duration_seconds_count').map((s) => s.labels.operation),
      );
      // 100 real names at most, plus the fixed labels.
      expect([...operations].filter((name) => !['anonymous', 'unknown', 'other'].includes(name!)).length).toBeLessThanOrEqual(100);
      expect(value(samples, 'switchboard_graphql_request_duration_seconds_count', { operation: 'other', type: 'query' })).toBeGreaterThanOrEqual(10);
    });

    it('each app has its own registry: a second server starts cleanly and counts only its own operations', async () => {
      const second = await startTestServer();
      try {
        await second.graphql('query OnlyOnSecond { viewer { role } }', { token: await second.tokenFor(org) });
        const mine = (await scrape(second)).samples;
        expect(value(mine, 'switchboard_graphql_request_duration_seconds_count', { operation: 'OnlyOnSecond' })).toBe(1);
        expect(value(mine, 'switchboard_graphql_request_duration_seconds_count', { operation: 'Dashboard' })).toBeUndefined();
        const first = (await scrape(server)).samples;
        expect(value(first, 'switchboard_graphql_request_duration_seconds_count', { operation: 'OnlyOnSecond' })).toBeUndefined();
      } finally {
        await second.close();
      }
    });
  });

  describe('logs', () => {
    it('writes one line per operation: request id (as in x-request-id), name, type, duration, statement count', async () => {
      const reply = await server.graphql(DASHBOARD, { token });
      const requestId = reply.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      const line = logsWith(server.logs, 'graphql operation').find((l) => l.requestId === requestId);
      expect(line).toMatchObject({ operation: 'Dashboard', type: 'query', status: 200, level: 30 });
      expect(line!.durationMs).toEqual(expect.any(Number));
      expect(line!.statements).toBe(reply.body.extensions?.sql && (reply.body.extensions.sql as { statements: number }).statements);
      expect(line!.dbMs).toEqual(expect.any(Number));
      // Variables, documents and tokens are not logged.
      expect(JSON.stringify(server.logs)).not.toContain(token);
    });

    it('masks an internal error with a request id that the error log line carries', async () => {
      const reply = await server.graphql(`{ call(id: "${brokenCallId}") { id recordingUrl } }`, { token });
      expect(reply.status).toBe(200);
      const error = reply.body.errors![0]!;
      expect(error).toMatchObject({ message: 'Internal server error', path: ['call', 'recordingUrl'] });
      expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: reply.headers.get('x-request-id') });
      const logged = logsWith(server.logs, 'internal error').find((l) => l.requestId === error.extensions!.requestId);
      expect(logged).toBeDefined();
      expect(logged!.level).toBe(50);
      expect(reply.text).not.toMatch(/orgs\/0|elsewhere/);
    });

    it('logs statements slower than SLOW_STATEMENT_MS with their SQL, duration and request id — never their parameters', async () => {
      const everything = await startTestServer({ overrides: { slowStatementMs: 0 } });
      try {
        const reply = await everything.graphql(DASHBOARD, { token: await everything.tokenFor(org) });
        const requestId = reply.headers.get('x-request-id');
        const slow = logsWith(everything.logs, 'slow statement').filter((l) => l.requestId === requestId);
        expect(slow.length).toBeGreaterThanOrEqual(2);
        for (const line of slow) {
          expect(line.level).toBe(40);
          expect(line.sql).toMatch(/^(\/\* prepared \*\/\s*)?select /i);
          expect(line.durationMs).toEqual(expect.any(Number));
          expect(line).not.toHaveProperty('parameters');
        }
      } finally {
        await everything.close();
      }
      // At the default (100 ms) a small dashboard logs nothing.
      await server.graphql(DASHBOARD, { token });
      expect(server.config.slowStatementMs).toBe(100);
      expect(logsWith(server.logs, 'slow statement')).toEqual([]);
    });

    it('redacts tokens, authorization headers, cookies, passwords and secrets at any depth', () => {
      const lines: string[] = [];
      const logger = createLogger({ destination: { write: (line: string) => void lines.push(line) } });
      logger.info(
        {
          token: 'tok-1',
          req: { headers: { authorization: 'Bearer tok-2', cookie: 'session=tok-3', host: 'example.test' } },
          user: { password: 'tok-4', profile: { secret: 'tok-5', accessToken: 'tok-6' } },
        },
        'something happened',
      );
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toMatch(/tok-\d/);
      expect(JSON.parse(lines[0]!)).toMatchObject({ token: '[redacted]', req: { headers: { host: 'example.test' } } });
    });
  });

  describe('SQL statistics in extensions', () => {
    it('development responses carry the statement count and database time', async () => {
      const reply = await server.graphql(DASHBOARD, { token });
      expect(reply.body.extensions?.sql).toEqual({ statements: expect.any(Number), durationMs: expect.any(Number) });
    });

    it('production responses never do', async () => {
      const production = await startTestServer({ overrides: { env: 'production' } });
      try {
        const reply = await production.graphql(DASHBOARD, { token: await production.tokenFor(org) });
        expect(reply.status).toBe(200);
        expect(reply.body.data.agents.totalCount).toBe(1);
        expect(reply.body.extensions?.sql).toBeUndefined();
        expect(reply.text).not.toMatch(/"statements"|durationMs/);
      } finally {
        await production.close();
      }
    });
  });

  describe('npm run db:report', () => {
    it('prints the top statements from pg_stat_statements, index usage and the cache hit ratio', () => {
      const result = spawnSync(TSX, [DB_REPORT, '--limit', '5'], {
        env: { ...process.env, DATABASE_URL: testDatabaseUrl(), SWITCHBOARD_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'switchboard-report-')) },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.stderr).not.toMatch(/db:report:/);
      expect(result.status).toBe(0);
      const out = result.stdout;
      expect(out).toContain('Top 5 statements by total time (pg_stat_statements)');
      const statementRows = out
        .split('\n\n')[0]!
        .split('\n')
        .filter((line) => /^\s+\d+\s+\d+\.\d\d\s+\d+\.\d\s+\d+\s+\S/.test(line));
      expect(statementRows.length).toBeGreaterThanOrEqual(1);
      expect(statementRows.length).toBeLessThanOrEqual(5);
      expect(out).toMatch(/calls\s+mean ms\s+total ms\s+rows\s+query/);
      expect(out).toContain('Index usage');
      expect(out).toMatch(/\bcalls_by_started\b/);
      expect(out).toMatch(/Cache hit ratio: \d+\.\d\d% overall/);
    }, 60_000);
  });
});
