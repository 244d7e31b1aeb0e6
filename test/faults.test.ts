import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config/config';
import { createDb, createPool, poolOptionsFor, type Db } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrate';
import { startTestServer, type TestServer, type GraphQLResponse } from './support/server';
import { activeStatements, openTestDb, testDatabaseUrl } from './support/db';
import { freePort, sleep, waitFor } from './support/waiting';
import { startRestartablePostgres, type RestartablePostgres } from './support/restartablePostgres';
import { createAgent, createCalls, createOrg, type TestOrg } from './support/factories';

/**
 * How the API behaves when PostgreSQL does not: a statement past its timeout,
 * an exhausted pool, idle connections killed, the whole database stopped and
 * started again under load, and a graceful shutdown. Every failure is a clear
 * JSON error, fast, and the process carries on.
 */

const AGENTS = '{ agents { totalCount } calls(first: 3) { nodes { id } } }';
const codeOf = (reply: GraphQLResponse) => reply.body.errors?.[0]?.extensions?.code;

describe('fault behaviour', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let admin: pg.Client;
  let org: TestOrg;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    org = await createOrg(db);
    const agent = await createAgent(db, org.id);
    // A month of calls, every 20 minutes: enough rows that the hourly analytics below is real work.
    const start = Date.now() - 30 * 86_400_000;
    await createCalls(
      db,
      org.id,
      Array.from({ length: 2160 }, (_, i) => ({ agentId: agent, startedAt: new Date(start + i * 1_200_000) })),
    );
  });

  afterAll(async () => {
    await admin.end();
    await closeDb();
  });

  describe('pool configuration', () => {
    it('reads PG_POOL_SIZE, PG_CONNECT_TIMEOUT_MS, PG_IDLE_TIMEOUT_MS and PG_STATEMENT_TIMEOUT_MS, and sets the timeouts on every connection', async () => {
      const names = ['PG_POOL_SIZE', 'PG_CONNECT_TIMEOUT_MS', 'PG_IDLE_TIMEOUT_MS', 'PG_STATEMENT_TIMEOUT_MS'] as const;
      const saved = names.map((name) => process.env[name]);
      Object.assign(process.env, { PG_POOL_SIZE: '3', PG_CONNECT_TIMEOUT_MS: '1234', PG_IDLE_TIMEOUT_MS: '4321', PG_STATEMENT_TIMEOUT_MS: '2500' });
      let config;
      try {
        config = loadConfig({ databaseUrl: testDatabaseUrl() });
      } finally {
        names.forEach((name, i) => (saved[i] === undefined ? delete process.env[name] : (process.env[name] = saved[i])));
      }
      expect(config).toMatchObject({ poolSize: 3, pgConnectTimeoutMs: 1234, pgIdleTimeoutMs: 4321, pgStatementTimeoutMs: 2500 });
      expect(loadConfig()).toMatchObject({ poolSize: 10, pgConnectTimeoutMs: 5000, pgIdleTimeoutMs: 30_000, pgStatementTimeoutMs: 5000 });

      const pool = createPool(poolOptionsFor(config, testDatabaseUrl()));
      const db = createDb(pool);
      try {
        expect(pool.options).toMatchObject({ max: 3, connectionTimeoutMillis: 1234, idleTimeoutMillis: 4321 });
        // No startup options (a transaction pooler refuses them): the statement itself runs under
        // the configured limit, from the server's own point of view, and idle_in_transaction comes
        // from the role's default in the database (applyConnectionDefaults, as npm start runs it).
        // The setting's name is a parameter, so this statement's text does not name it.
        const settings = () =>
          sql<{
            statement: string;
            idle: string;
          }>`select current_setting(${'statement_timeout'}) as statement, current_setting('idle_in_transaction_session_timeout') as idle`
            .execute(db)
            .then((r) => r.rows[0]);
        const both = await Promise.all([settings(), settings()]);
        expect(both).toEqual([
          { statement: '2500ms', idle: '10s' },
          { statement: '2500ms', idle: '10s' },
        ]);
        expect(Object.keys(pool.options)).not.toContain('options');
      } finally {
        await pool.end();
      }
    });
  });

  describe('a statement over statement_timeout', () => {
    let server: TestServer;
    beforeAll(async () => {
      // 1 ms: any real query overruns it, so the honest hourly analytics below is cancelled.
      server = await startTestServer({ overrides: { pgStatementTimeoutMs: 1 } });
    });
    afterAll(() => server.close());

    it('is cancelled in the database and reported as STATEMENT_TIMEOUT on its field', async () => {
      const to = new Date();
      const from = new Date(to.getTime() - 30 * 86_400_000);
      const reply = await server.graphql(
        `query Hourly($from: DateTime!, $to: DateTime!) {
          analytics(range: { between: { from: $from, to: $to } }, interval: HOUR, groupBy: AGENT) { buckets { start metrics { calls } groups { key } } }
        }`,
        { token: await server.tokenFor(org), variables: { from: from.toISOString(), to: to.toISOString() } },
      );
      expect(reply.status).toBe(200);
      expect(reply.body.errors).toEqual([
        {
          message: 'The query took too long and was cancelled',
          path: ['analytics'],
          extensions: { code: 'STATEMENT_TIMEOUT', requestId: reply.headers.get('x-request-id') },
        },
      ]);
      expect(reply.text).not.toMatch(/select|canceling statement/i);
      // The server cancelled it itself: nothing of ours is still running.
      expect(await activeStatements(admin, server.applicationName)).toBe(0);
      const logged = server.logs.find((line) => line.msg === 'database error' && line.requestId === reply.headers.get('x-request-id'));
      expect(logged).toMatchObject({ code: 'STATEMENT_TIMEOUT', level: 40 });
    });
  });

  describe('an exhausted pool', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ overrides: { poolSize: 2, pgConnectTimeoutMs: 300 } });
    });
    afterAll(() => server.close());

    it('answers DATABASE_BUSY with HTTP 503 after the connect timeout, not a hang, and recovers when connections free up', async () => {
      const token = await server.tokenFor(org);
      const held = await Promise.all([server.pool.connect(), server.pool.connect()]);
      let released = false;
      try {
        const started = Date.now();
        const reply = await server.graphql(AGENTS, { token });
        const elapsed = Date.now() - started;
        expect(reply.status).toBe(503);
        expect(reply.headers.get('retry-after')).toBe('1');
        expect(codeOf(reply)).toBe('DATABASE_BUSY');
        expect(reply.body.errors![0]!.message).toBe('The database is busy; try again shortly');
        expect(reply.body.data).toBeNull();
        expect(elapsed).toBeGreaterThanOrEqual(250);
        expect(elapsed).toBeLessThan(2000);

        const ready = await fetch(`${server.url}/health/ready`);
        expect(ready.status).toBe(503);
        expect(await ready.json()).toMatchObject({ checks: { database: 'busy' } });

        held.forEach((client) => client.release());
        released = true;
        const after = await server.graphql(AGENTS, { token });
        expect(after.status).toBe(200);
        expect(after.body.errors).toBeUndefined();
      } finally {
        if (!released) held.forEach((client) => client.release());
      }
    });
  });

  describe('idle connections killed under the pool', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer();
    });
    afterAll(() => server.close());

    it('never crashes the process: the error is logged, the pool reconnects, the next request succeeds', async () => {
      const token = await server.tokenFor(org);
      await Promise.all([server.graphql(AGENTS, { token }), server.graphql(AGENTS, { token })]);
      const idle = server.pool.idleCount;
      expect(idle).toBeGreaterThanOrEqual(1);
      const { rows } = await admin.query<{ killed: boolean }>(
        'select pg_terminate_backend(pid) as killed from pg_stat_activity where application_name = $1',
        [server.applicationName],
      );
      expect(rows.length).toBeGreaterThanOrEqual(1);
      // Every idle connection killed must have been noticed (and dropped by the pool) before the next request: under
      // a loaded CI the second one's error came after the first log line, and the request took the dead connection.
      const lost = () => server.logs.filter((line) => line.msg === 'idle database connection lost').length;
      await waitFor('a log line for every idle connection killed', () => lost() >= idle);
      const reply = await server.graphql(AGENTS, { token });
      expect(reply.status).toBe(200);
      expect(reply.body.errors).toBeUndefined();
    });
  });

  describe('the database stopped and started again under load', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-faults-pg-'));
    let postgres: RestartablePostgres | undefined;
    let server: TestServer;
    let token: string;

    beforeAll(async () => {
      postgres = await startRestartablePostgres(dir, await freePort());
      const setup = createPool({ connectionString: postgres.url, max: 1 });
      const ownDb = createDb(setup);
      await migrateToLatest(ownDb);
      const ownOrg = await createOrg(ownDb);
      const agent = await createAgent(ownDb, ownOrg.id);
      await createCalls(ownDb, ownOrg.id, [{ agentId: agent }, { agentId: agent }]);
      await setup.end();
      server = await startTestServer({ databaseUrl: postgres.url, overrides: { poolSize: 4, pgConnectTimeoutMs: 1000 } });
      token = await server.tokenFor(ownOrg);
    }, 60_000);

    afterAll(async () => {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
      await server?.close();
      await postgres?.close();
      rmSync(dir, { recursive: true, force: true });
    }, 30_000);

    it('fails fast with DATABASE_UNAVAILABLE (503) while it is down, reports not ready, and recovers within seconds without a restart', async () => {
      type Phase = 'up' | 'stopping' | 'down' | 'starting' | 'recovered';
      let phase: Phase = 'up';
      let running = true;
      const outcomes: { phase: Phase; status: number; code: unknown; ms: number }[] = [];
      const unexpected: string[] = [];

      // Four clients in a loop, each request bounded in time, the whole loop bounded in count.
      const worker = async () => {
        for (let i = 0; running && i < 5000; i++) {
          const started = Date.now();
          const at = phase;
          try {
            const reply = await server.graphql(AGENTS, { token, timeoutMs: 5000 });
            const outcome = { phase: at, status: reply.status, code: codeOf(reply), ms: Date.now() - started };
            outcomes.push(outcome);
            const fine = reply.status === 200 ? reply.body.errors === undefined : reply.status === 503 && outcome.code === 'DATABASE_UNAVAILABLE';
            if (!fine) {
              const requestId = reply.headers.get('x-request-id');
              const logged = server.logs.find((line) => line.requestId === requestId && line.err !== undefined);
              unexpected.push(`${at}: ${reply.status} ${reply.text} — logged ${JSON.stringify(logged?.err)}`);
            }
          } catch (error) {
            unexpected.push(`${at}: ${String(error)}`);
          }
          if (phase === 'down') await sleep(20);
        }
      };
      const successesIn = (p: Phase) => outcomes.filter((o) => o.phase === p && o.status === 200).length;
      const load = Promise.all([worker(), worker(), worker(), worker()]);
      try {
        await waitFor('load while up', () => successesIn('up') >= 20);

        phase = 'stopping';
        await postgres!.stop();
        phase = 'down';
        await waitFor('failures while down', () => outcomes.filter((o) => o.phase === 'down').length >= 20);
        const ready = await fetch(`${server.url}/health/ready`);
        expect(ready.status).toBe(503);
        expect(await ready.json()).toEqual({
          error: { code: 'NOT_READY', message: 'The server is not ready to serve requests' },
          status: 'not ready',
          checks: { database: 'unreachable', migrations: 'unknown', draining: false },
        });
        expect((await fetch(`${server.url}/health/live`)).status).toBe(200);

        phase = 'starting';
        const restartedAt = Date.now();
        await postgres!.start();
        phase = 'recovered';
        await waitFor('success after restart', () => successesIn('recovered') >= 1, 10_000);
        const recoveryMs = Date.now() - restartedAt;
        await waitFor('steady load after restart', () => successesIn('recovered') >= 20, 10_000);
        const readyAgain = await fetch(`${server.url}/health/ready`);
        expect(readyAgain.status).toBe(200);
        expect(recoveryMs).toBeLessThan(10_000);
      } finally {
        running = false;
        await load;
      }

      expect(unexpected).toEqual([]);
      const down = outcomes.filter((o) => o.phase === 'down');
      expect(down.every((o) => o.status === 503 && o.code === 'DATABASE_UNAVAILABLE')).toBe(true);
      // Fast: a refused connection, not a wait for the connect timeout.
      expect(Math.max(...down.map((o) => o.ms))).toBeLessThan(1000);
      // The recovered phase settled into nothing but successes.
      expect(
        outcomes
          .filter((o) => o.phase === 'recovered')
          .slice(-10)
          .every((o) => o.status === 200),
      ).toBe(true);
    }, 45_000);
  });

  describe('graceful shutdown (app.drain)', () => {
    let server: TestServer;
    beforeEach(async () => {
      // Long connect timeout: a request waiting for a held connection stays in flight.
      server = await startTestServer({ overrides: { poolSize: 1, pgConnectTimeoutMs: 10_000 } });
    });
    afterEach(() => server.close());

    it('turns readiness false, refuses new connections, and lets in-flight operations finish', async () => {
      const token = await server.tokenFor(org);
      expect((await server.app.readiness()).ready).toBe(true);
      const held = await server.pool.connect();
      let released = false;
      const release = () => {
        if (!released) held.release();
        released = true;
      };
      let drained: Promise<void>;
      let inFlight: Promise<GraphQLResponse>;
      try {
        inFlight = server.graphql(AGENTS, { token });
        await waitFor('the request to wait for a connection', () => server.pool.waitingCount >= 1);

        drained = server.app.drain(5000);
        expect(server.app.isDraining()).toBe(true);
        expect(await server.app.readiness()).toEqual({
          ready: false,
          body: { status: 'not ready', checks: { database: 'skipped', migrations: 'unknown', draining: true } },
        });
        await expect(fetch(`${server.url}/health/live`)).rejects.toThrow();
        await sleep(100);
      } finally {
        release();
      }
      const reply = await inFlight;
      expect(reply.status).toBe(200);
      expect(reply.body.data.agents.totalCount).toBe(1);
      const started = Date.now();
      await drained;
      expect(Date.now() - started).toBeLessThan(1000);
      expect(server.app.fastify.server.listening).toBe(false);
    });

    it('waits no longer than the grace period for an operation that cannot finish', async () => {
      const token = await server.tokenFor(org);
      const held = await server.pool.connect();
      try {
        const inFlight = server.graphql(AGENTS, { token }).then(
          () => 'answered',
          () => 'cut off',
        );
        await waitFor('the request to wait for a connection', () => server.pool.waitingCount >= 1);
        const started = Date.now();
        await server.app.drain(300);
        const elapsed = Date.now() - started;
        expect(elapsed).toBeGreaterThanOrEqual(250);
        expect(elapsed).toBeLessThan(2000);
        expect(await inFlight).toBe('cut off');
        expect(server.logs.some((line) => line.msg === 'shutdown grace over; closing remaining connections')).toBe(true);
      } finally {
        held.release();
      }
    });
  });
});
