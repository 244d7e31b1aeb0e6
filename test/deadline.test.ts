import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config/config';
import { bindRequest, createDb, createPool, type Db } from '../src/db/database';
import { newStatementLog, type OperationStatements, type StatementRecord } from '../src/db/statementLog';
import { toGlobalId } from '../src/graphql/globalId';
import { activeStatements, openTestDb, testDatabaseUrl } from './support/db';
import { sleep, waitFor } from './support/waiting';
import {
  createAgent,
  createCalls,
  createContact,
  createOrg,
  createProviderAgent,
  createWebhookSecret,
  type ProviderAgent,
  type TestOrg,
} from './support/factories';
import { startTestServer, type TestServer } from './support/server';
import { callEvent, deliver, newCallScript } from './support/webhooks';

/**
 * One deadline per request (REQUEST_TIMEOUT_MS, from its arrival) covers its
 * pool waits and its statements together: however many of them a request
 * meets, it is answered within the deadline plus a small margin, with
 * REQUEST_TIMEOUT. PostgreSQL itself cancels a statement at the remaining
 * budget, and a request with time to spare pays no extra round trip for it.
 *
 * Slowness is made with real locks on this spec's own rows (held by separate
 * admin connections) and by holding the app's pool connections: no sleeps in
 * the API, no mocks.
 */

/** The deadline contract, not a performance target: answered within the deadline plus this. */
const MARGIN_MS = 400;

const AGENTS = '{ agents { totalCount } calls(first: 3) { nodes { id } } }';
const UPDATE_CONTACT = 'mutation Touch($input: UpdateContactInput!) { updateContact(input: $input) { contact { id name } } }';
const codeOf = (reply: { body: { errors?: { extensions?: Record<string, unknown> }[] } }) => reply.body.errors?.[0]?.extensions?.code;

/** A connection of its own holding a transaction open: the locks it takes stay until `end`. */
async function lockHolder(): Promise<{ client: pg.Client; end: (how: 'commit' | 'rollback') => Promise<void> }> {
  const client = new pg.Client({ connectionString: testDatabaseUrl(), application_name: 'switchboard-deadline-locks' });
  await client.connect();
  await client.query('begin');
  let ended = false;
  return {
    client,
    async end(how) {
      if (ended) return;
      ended = true;
      await client.query(how);
      await client.end();
    },
  };
}

/**
 * What AGENTS and UPDATE_CONTACT run (statements as Kysely logs them), measured
 * before the deadline existed; the write's fourth is its durable-commit setting
 * (src/db/durable.ts), which came with the same issue.
 */
const READ_STATEMENTS = 3;
const WRITE_STATEMENTS = 4;

const isTimeoutSetting = (statement: StatementRecord) => statement.sql.includes('statement_timeout');

describe('request deadline (REQUEST_TIMEOUT_MS)', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let admin: pg.Client;
  let org: TestOrg;
  let contactId: string;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    admin = new pg.Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    org = await createOrg(db);
    const agent = await createAgent(db, org.id);
    await createCalls(db, org.id, [{ agentId: agent }, { agentId: agent }]);
    contactId = await createContact(db, org.id);
  });

  afterAll(async () => {
    await admin.end();
    await closeDb();
  });

  describe('configuration', () => {
    it('reads REQUEST_TIMEOUT_MS (default 8000) and refuses zero', () => {
      const saved = process.env.REQUEST_TIMEOUT_MS;
      try {
        delete process.env.REQUEST_TIMEOUT_MS;
        expect(loadConfig().requestTimeoutMs).toBe(8000);
        process.env.REQUEST_TIMEOUT_MS = '2500';
        expect(loadConfig().requestTimeoutMs).toBe(2500);
        process.env.REQUEST_TIMEOUT_MS = '0';
        expect(() => loadConfig()).toThrow('REQUEST_TIMEOUT_MS must be a positive integer, got "0"');
        process.env.REQUEST_TIMEOUT_MS = '-5';
        expect(() => loadConfig()).toThrow(/REQUEST_TIMEOUT_MS must be/);
      } finally {
        if (saved === undefined) delete process.env.REQUEST_TIMEOUT_MS;
        else process.env.REQUEST_TIMEOUT_MS = saved;
      }
    });
  });

  describe('a request that waits for the pool and then for a slow statement', () => {
    // Each bound alone (800 ms) is longer than the whole budget (500 ms): without
    // one deadline over both, this request would take 300 + 800 ms.
    const BUDGET_MS = 500;
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({
        overrides: { poolSize: 1, pgConnectTimeoutMs: 800, pgStatementTimeoutMs: 800, requestTimeoutMs: BUDGET_MS },
      });
      // Warm: the first request of a process pays for cold code paths on both ends, which is not what these specs time.
      expect((await server.graphql(AGENTS, { token: await server.tokenFor(org) })).status).toBe(200);
    });
    afterAll(() => server.close());

    it('is answered REQUEST_TIMEOUT (503, Retry-After) at the deadline; PostgreSQL cancelled the statement at the remaining budget', async () => {
      const token = await server.tokenFor(org);
      const locks = await lockHolder();
      const held = await server.pool.connect();
      let released = false;
      try {
        await locks.client.query('select id from contacts where id = $1 for update', [contactId]);
        const started = performance.now();
        const replying = server.graphql(UPDATE_CONTACT, {
          token,
          variables: { input: { id: toGlobalId('Contact', contactId), name: 'Renamed under a deadline' } },
        });
        await waitFor('the request to wait for the pool', () => server.pool.waitingCount >= 1);
        // 300 ms of the 500 ms budget go to waiting for a connection; the update then waits on the row lock.
        await sleep(Math.max(0, 300 - (performance.now() - started)));
        held.release();
        released = true;
        const reply = await replying;
        const elapsed = performance.now() - started;
        // Nothing the database kept us from serving stays running: the server's own cancel, not ours in JS.
        const stillActive = await activeStatements(admin, server.applicationName);

        expect(codeOf(reply)).toBe('REQUEST_TIMEOUT');
        expect(reply.status).toBe(503);
        expect(reply.headers.get('retry-after')).toBe('1');
        expect(reply.body.errors).toEqual([
          {
            message: 'The request ran out of time waiting for the database; try again shortly',
            path: ['updateContact'],
            extensions: { code: 'REQUEST_TIMEOUT', requestId: reply.headers.get('x-request-id') },
          },
        ]);
        expect(reply.text).not.toMatch(/update |canceling statement/i);
        expect(elapsed).toBeGreaterThanOrEqual(BUDGET_MS - 50);
        expect(elapsed).toBeLessThan(BUDGET_MS + MARGIN_MS);
        // The statement had 800 ms of statement_timeout and started ~300 ms in: PostgreSQL ended it at ~200 ms.
        expect(stillActive).toBe(0);
        const logged = server.logs.find((line) => line.msg === 'database error' && line.requestId === reply.headers.get('x-request-id'));
        expect(logged).toMatchObject({
          code: 'REQUEST_TIMEOUT',
          err: { message: expect.stringMatching(/in a statement: canceling statement due to statement timeout/) },
        });
      } finally {
        if (!released) held.release();
        await locks.end('rollback');
      }
    });

    it('a pool wait alone is cut at the deadline, and the connection that frees up later goes back to the pool', async () => {
      const token = await server.tokenFor(org);
      const held = await server.pool.connect();
      let released = false;
      try {
        const started = performance.now();
        const reply = await server.graphql(AGENTS, { token });
        const elapsed = performance.now() - started;
        expect(reply.status).toBe(503);
        expect(codeOf(reply)).toBe('REQUEST_TIMEOUT');
        expect(reply.body.data).toBeNull();
        expect(elapsed).toBeLessThan(BUDGET_MS + MARGIN_MS);

        held.release();
        released = true;
        // Both root fields' abandoned waits were served the connection in turn and released it.
        await waitFor('the pool to settle', () => server.pool.waitingCount === 0 && server.pool.idleCount === 1, 2000);
        expect(server.pool.totalCount).toBe(1);
        const after = await server.graphql(AGENTS, { token });
        expect(after.status).toBe(200);
        expect(after.body.errors).toBeUndefined();
      } finally {
        if (!released) held.release();
      }
    });
  });

  describe('a webhook delivery whose statements are each slow (several in sequence)', () => {
    // Each statement waits 350 ms, under the 400 ms statement_timeout: every one
    // would succeed, and the delivery would take over a second without a deadline.
    const BUDGET_MS = 500;
    let server: TestServer;
    let secret: string;
    let agent: ProviderAgent;
    beforeAll(async () => {
      server = await startTestServer({ overrides: { pgStatementTimeoutMs: 400, requestTimeoutMs: BUDGET_MS } });
      secret = await createWebhookSecret(db, org.id);
      agent = await createProviderAgent(db, org.id);
    });
    afterAll(() => server.close());

    it('gets the same deadline: 503 REQUEST_TIMEOUT within it, nothing written', async () => {
      const script = newCallScript(agent);
      // The call and its transcript exist, so the delivery below meets row locks on both.
      for (const type of ['call.started', 'call.transcript_ready'] as const) {
        const setup = await deliver(server.url, org.slug, callEvent(script, type), { secrets: [secret] });
        expect(setup.status).toBe(200);
      }
      const { rows } = await admin.query<{ id: string }>('select id from calls where org_id = $1 and provider_call_id = $2', [org.id, script.callId]);
      const callId = rows[0]!.id;
      const event = callEvent(script, 'call.transcript_ready', { secondsIn: 240 });

      // 1. the event row: an uncommitted insert of the same event id; 2. the call row; 3. the transcript row.
      const eventLock = await lockHolder();
      const callLock = await lockHolder();
      const transcriptLock = await lockHolder();
      const timers: NodeJS.Timeout[] = [];
      const ended: Promise<void>[] = [];
      try {
        await eventLock.client.query(`insert into webhook_events (org_id, event_id, type, payload) values ($1, $2, 'call.transcript_ready', '{}')`, [
          org.id,
          event.id,
        ]);
        await callLock.client.query('select id from calls where id = $1 for update', [callId]);
        await transcriptLock.client.query('select call_id from call_transcripts where org_id = $1 and call_id = $2 for update', [org.id, callId]);

        const started = performance.now();
        const releaseAt = (ms: number, lock: Awaited<ReturnType<typeof lockHolder>>, how: 'commit' | 'rollback') =>
          ended.push(new Promise<void>((resolve) => timers.push(setTimeout(() => void lock.end(how).then(resolve, resolve), ms))));
        releaseAt(350, eventLock, 'rollback');
        releaseAt(700, callLock, 'commit');
        releaseAt(1050, transcriptLock, 'commit');
        const reply = await deliver(server.url, org.slug, event, { secrets: [secret] });
        const elapsed = performance.now() - started;

        expect(reply.body.error?.code).toBe('REQUEST_TIMEOUT');
        expect(reply.status).toBe(503);
        expect(reply.headers.get('retry-after')).toBe('1');
        expect(elapsed).toBeLessThan(BUDGET_MS + MARGIN_MS);
        expect(await activeStatements(admin, server.applicationName)).toBe(0);
        // One transaction: the event was not stored.
        await Promise.all(ended);
        const stored = await admin.query('select 1 from webhook_events where org_id = $1 and event_id = $2', [org.id, event.id]);
        expect(stored.rowCount).toBe(0);
      } finally {
        timers.forEach(clearTimeout);
        await Promise.all([eventLock.end('rollback'), callLock.end('rollback'), transcriptLock.end('rollback')]);
      }
    });
  });

  describe('the pool adapter', () => {
    let pool: pg.Pool;
    let ownDb: Db;
    beforeEach(() => {
      pool = createPool({ connectionString: testDatabaseUrl(), max: 1, statementTimeoutMs: 300 });
      ownDb = createDb(pool);
    });
    afterEach(() => pool.end());

    /** Runs `fn` on `handle` bound to a request with `remainingMs` of budget left. */
    const inRequest = <T>(remainingMs: number, fn: (db: Db) => Promise<T>, handle: Db = ownDb, statements?: OperationStatements) =>
      fn(bindRequest(handle, { requestId: 'spec', deadline: performance.now() + remainingMs, ...(statements ? { statements } : {}) }));
    // Parameterised, so this statement's own text does not name the setting.
    const currentTimeout = (handle: Db) =>
      sql<{ ms: number }>`select setting::int as ms from pg_settings where name = ${'statement_timeout'}`.execute(handle).then((r) => r.rows[0]!.ms);

    it('fails at once, without touching the database, once the budget is spent', async () => {
      const spent = () => inRequest(-1, (db) => db.selectFrom('organisations').select('id').execute());
      await expect(spent()).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
      await expect(inRequest(-1, (db) => db.transaction().execute((trx) => currentTimeout(trx)))).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
      // No connection was ever opened.
      expect(pool.totalCount).toBe(0);
    });

    it('runs each statement under the remaining budget when it is shorter, and the startup value again afterwards, through commits and rollbacks', async () => {
      expect(await currentTimeout(ownDb)).toBe(300);
      // One statement with 150 ms left: the session value follows the budget…
      const short = await inRequest(150, (db) => currentTimeout(db));
      expect(short).toBeLessThanOrEqual(150);
      expect(short).toBeGreaterThan(50);
      // …and the next statement outside any request has the startup value again.
      expect(await currentTimeout(ownDb)).toBe(300);

      // In a transaction the value is LOCAL: neither rollback nor commit leaves it behind.
      let inside = Number.NaN;
      const rolledBack = inRequest(150, (db) =>
        db.transaction().execute(async (trx) => {
          inside = await currentTimeout(trx);
          throw new Error('roll back');
        }),
      );
      await expect(rolledBack).rejects.toThrow('roll back');
      expect(inside).toBeLessThanOrEqual(150);
      expect(inside).toBeGreaterThan(50);
      expect(await currentTimeout(ownDb)).toBe(300);
      const committed = await inRequest(150, (db) => db.transaction().execute((trx) => currentTimeout(trx)));
      expect(committed).toBeLessThanOrEqual(150);
      expect(await inRequest(10_000, (db) => currentTimeout(db))).toBe(300);

      // A statement cancelled at the budget, not at statement_timeout, is REQUEST_TIMEOUT…
      await expect(inRequest(100, (db) => sql`select pg_sleep(1)`.execute(db))).rejects.toMatchObject({
        code: 'REQUEST_TIMEOUT',
        cause: { code: '57014' },
      });
      // …and one cancelled at statement_timeout stays STATEMENT_TIMEOUT's 57014.
      await expect(inRequest(10_000, (db) => sql`select pg_sleep(1)`.execute(db))).rejects.toMatchObject({ code: '57014' });
    });

    it('sets the value only when it must: no extra statement when the limit is the role default and the budget is longer', async () => {
      // A pool whose limit is the role's default in the database (5000 ms, applyConnectionDefaults in globalSetup).
      const defaultPool = createPool({ connectionString: testDatabaseUrl(), max: 1, statementTimeoutMs: 5000 });
      const defaultDb = createDb(defaultPool);
      const statementsIn = async (remainingMs: number, handle: Db, work: (db: Db) => Promise<unknown>) => {
        const log = newStatementLog(true);
        await inRequest(remainingMs, work, handle, log);
        return log.statements!;
      };
      try {
        const ample = await statementsIn(10_000, defaultDb, (db) => db.transaction().execute((trx) => currentTimeout(trx)));
        expect(ample.filter(isTimeoutSetting)).toEqual([]);
        const tight = await statementsIn(200, defaultDb, (db) => db.transaction().execute((trx) => currentTimeout(trx)));
        // begin needs no limit; the statement in the transaction gets a LOCAL one, which commit drops.
        expect(tight.filter(isTimeoutSetting).map((s) => s.sql)).toEqual(['set statement_timeout (local)']);
        const again = await statementsIn(10_000, defaultDb, (db) => currentTimeout(db));
        expect(again.filter(isTimeoutSetting)).toEqual([]);
        expect(again).toHaveLength(1);
        // A limit other than the default costs one LOCAL set per transaction, and a single statement is wrapped in one.
        const other = await statementsIn(10_000, ownDb, (db) => db.transaction().execute((trx) => currentTimeout(trx)));
        expect(other.filter(isTimeoutSetting).map((s) => s.sql)).toEqual(['set statement_timeout (local)']);
      } finally {
        await defaultPool.end();
      }
    });
  });

  describe('the normal path (budget longer than statement_timeout)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer();
    });
    afterAll(() => server.close());

    it('adds no statement to a query or a mutation: the same statements as without a deadline', async () => {
      const token = await server.tokenFor(org);
      const read = await server.graphql(AGENTS, { token });
      expect(read.body.errors).toBeUndefined();
      const write = await server.graphql(UPDATE_CONTACT, { token, variables: { input: { id: toGlobalId('Contact', contactId), name: 'Renamed' } } });
      expect(write.body.errors).toBeUndefined();
      const [readOp, writeOp] = server.operations.slice(-2);
      expect(readOp!.statements.statements!.filter(isTimeoutSetting)).toEqual([]);
      expect(writeOp!.statements.statements!.filter(isTimeoutSetting)).toEqual([]);
      // What these operations ran before the deadline existed (measured on the previous commit).
      expect([readOp!.statements.count, writeOp!.statements.count]).toEqual([READ_STATEMENTS, WRITE_STATEMENTS]);
    });
  });
});
