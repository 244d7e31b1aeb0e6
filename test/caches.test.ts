import { createHash } from 'node:crypto';
import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import {
  afterInvalidation,
  eventually,
  listenForInvalidations,
  manualClock,
  metricValue,
  writeAndAwaitInvalidation,
  writeElsewhere,
} from './support/caches';
import { openTestDb } from './support/db';
import { createAgent, createCalls, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';

/**
 * Caches that are never wrong: every answer from a cache equals what the
 * database says now (give or take the NOTIFY's flight time for writes this
 * instance did not serve), and nothing cached for one tenant is ever served
 * to another. Writes here come "from another process": raw SQL on a
 * connection no server shares.
 */

// Statistics "today" is pinned, so cache keys (which carry the quarter hour) are stable during a spec.
const NOW = new Date('2026-03-10T12:00:00Z');
const clock = () => NOW;

const DASHBOARD = `query Panel { dashboard(range: { preset: TODAY }) { totalCalls { current } } }`;
const AGENT = `query AgentName($id: ID!) { agent(id: $id) { name status } }`;

async function startCached(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  return startTestServer({ clock, caches: true, ...options });
}

/** Statements the server's last operation ran. */
function lastStatements(server: TestServer): number {
  return server.operations[server.operations.length - 1]!.statements.count;
}

describe('caches', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let org: TestOrg;
  let other: TestOrg;
  let agentId: string;
  let otherAgentId: string;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    org = await createOrg(db);
    other = await createOrg(db);
    agentId = await createAgent(db, org.id, { name: 'Ada' });
    otherAgentId = await createAgent(db, other.id, { name: 'Ada' });
    await createCalls(db, org.id, [
      { agentId, startedAt: new Date('2026-03-10T10:00:00Z') },
      { agentId, startedAt: new Date('2026-03-10T10:05:00Z') },
    ]);
    await createCalls(db, other.id, [{ agentId: otherAgentId, startedAt: new Date('2026-03-10T10:00:00Z') }]);
  });

  afterAll(async () => {
    await closeDb();
  });

  describe('invalidation comes from the database', () => {
    it('publishes one NOTIFY per organisation and table per transaction, however many statements and rows', async () => {
      const listener = await listenForInvalidations();
      try {
        await writeElsewhere(
          `
          begin;
          insert into calls (org_id, agent_id, direction, status, from_number, to_number, started_at)
            select $1::int8, $2::int8, 'outbound', 'completed', '+15550000001', '+15550000002', '2026-01-05T10:00:00Z'::timestamptz + g * interval '1 minute'
            from generate_series(1, 200) g;
          update calls set summary = 'bulk' where org_id = $1::int8 and started_at >= '2026-01-05' and started_at < '2026-01-06';
          delete from calls where org_id = $1::int8 and started_at >= '2026-01-05' and started_at < '2026-01-06';
          commit;`
            .replace(/\$1::int8/g, org.id)
            .replace(/\$2::int8/g, agentId),
        );
        await eventually('the notifications to arrive', () => listener.received.some((n) => n.table === 'calls'));
        // Let anything else in flight arrive before counting.
        await new Promise((resolve) => setTimeout(resolve, 50));
        // One per table the transaction wrote: the calls, and the rollups its triggers maintained (they feed the panels).
        const ours = listener.received.filter((n) => n.orgId === org.id);
        const plain = ours.filter((n) => n.callIds === undefined);
        expect(plain.map((n) => n.table).sort()).toEqual(['call_daily_agent_rollups', 'call_daily_org_rollups', 'calls']);
        // Besides, for live subscriptions (migration 0012): the calls the update changed, by id, in one chunk
        // (the inserted calls were not live, the deleted ones are named by the plain notification).
        expect(ours.filter((n) => n.callIds !== undefined).map((n) => [n.table, (n.callIds as string[]).length])).toEqual([['calls', 200]]);
        // All carry the writing transaction's id: the organisation's new generation.
        expect(new Set(ours.map((n) => n.generation)).size).toBe(1);
      } finally {
        await listener.close();
      }
    });

    it('a user renamed is announced to every organisation the user belongs to', async () => {
      const listener = await listenForInvalidations();
      try {
        await writeElsewhere(`update users set name = name where id = $1`, [org.users.viewer]);
        await eventually('the users notification', () => listener.received.some((n) => n.table === 'users'));
        const orgs = listener.received.filter((n) => n.table === 'users').map((n) => n.orgId);
        expect(orgs).toContain(org.id);
        expect(orgs).not.toContain(other.id);
      } finally {
        await listener.close();
      }
    });
  });

  describe('response cache', () => {
    let first: TestServer;
    let second: TestServer;
    let token: string;

    beforeAll(async () => {
      [first, second] = await Promise.all([startCached(), startCached()]);
      token = await first.tokenFor(org);
      await eventually('both listeners up', () => first.services.caches.trusted() && second.services.caches.trusted());
    });

    afterAll(async () => {
      await Promise.all([first.close(), second.close()]);
    });

    it('answers a repeated query without running SQL', async () => {
      const answer = await first.graphql(DASHBOARD, { token: await first.tokenFor(org) });
      expect(answer.body.errors).toBeUndefined();
      expect(lastStatements(first)).toBeGreaterThan(0);
      const again = await first.graphql(DASHBOARD, { token });
      expect(again.body.data).toEqual(answer.body.data);
      expect(lastStatements(first)).toBe(0);
      // Never an HTTP caching header: only this server knows the answer depends on the token.
      expect(again.headers.get('cache-control')).toBe('no-store');
    });

    it('read → raw SQL write from another connection → read returns the new value, on two instances', async () => {
      const token2 = await second.tokenFor(org);
      const variables = { id: toGlobalId('Agent', agentId) };
      for (const [server, t] of [
        [first, token],
        [second, token2],
      ] as const) {
        await server.graphql(AGENT, { token: t, variables });
        await server.graphql(DASHBOARD, { token: t });
        expect((await server.graphql(AGENT, { token: t, variables })).body.data.agent.name).toBe('Ada');
        expect(lastStatements(server)).toBe(0);
      }

      await writeAndAwaitInvalidation([first, second], org.id, `update agents set name = 'Grace' where org_id = $1 and id = $2`, [org.id, agentId]);
      for (const [server, t] of [
        [first, token],
        [second, token2],
      ] as const) {
        expect((await server.graphql(AGENT, { token: t, variables })).body.data.agent).toEqual({ name: 'Grace', status: 'ACTIVE' });
        expect(lastStatements(server)).toBeGreaterThan(0);
      }

      await writeAndAwaitInvalidation(
        [first, second],
        org.id,
        `insert into calls (org_id, agent_id, direction, status, from_number, to_number, started_at)
         values ($1, $2, 'inbound', 'completed', '+15550000001', '+15550000002', '2026-03-10T11:00:00Z')`,
        [org.id, agentId],
      );
      for (const [server, t] of [
        [first, token],
        [second, token2],
      ] as const) {
        expect((await server.graphql(DASHBOARD, { token: t })).body.data.dashboard.totalCalls.current).toBe(3);
      }
      await writeElsewhere(`update agents set name = 'Ada' where org_id = $1 and id = $2`, [org.id, agentId]);
    });

    it('a write to another organisation leaves this one cached', async () => {
      await first.graphql(DASHBOARD, { token });
      await writeAndAwaitInvalidation([first], other.id, `update agents set name = 'Other' where org_id = $1 and id = $2`, [other.id, otherAgentId]);
      await first.graphql(DASHBOARD, { token });
      expect(lastStatements(first)).toBe(0);
    });

    it('does not cache errors', async () => {
      const failing = `{ agentLeaderboard(range: { preset: TODAY }, first: 1000) { rank } }`;
      const hitsBefore = await metricValue(first, 'switchboard_cache_hits_total', 'cache="response"');
      for (let i = 0; i < 2; i += 1) {
        const answer = await first.graphql(failing, { token });
        expect(answer.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
      expect(await metricValue(first, 'switchboard_cache_hits_total', 'cache="response"')).toBe(hitsBefore);
    });

    it('never caches a signed recording URL (maxAge 0): the call is read again every time', async () => {
      const [callId] = await afterInvalidation([first], org.id, () =>
        createCalls(db, org.id, [{ agentId, startedAt: new Date('2026-02-01T10:00:00Z'), recordingKey: `orgs/${org.id}/calls/1.wav` }]),
      );
      const query = `query Rec($id: ID!) { call(id: $id) { hasRecording recordingUrl } }`;
      const variables = { id: toGlobalId('Call', callId!) };
      for (let i = 0; i < 2; i += 1) {
        const answer = await first.graphql(query, { token, variables });
        expect(answer.body.data.call.recordingUrl).toMatch(/^http/);
        expect(lastStatements(first)).toBeGreaterThan(0);
      }
      // Without recordingUrl the same call is cacheable.
      const plain = `query NoRec($id: ID!) { call(id: $id) { hasRecording } }`;
      await first.graphql(plain, { token, variables });
      await first.graphql(plain, { token, variables });
      expect(lastStatements(first)).toBe(0);
    });

    it('counts hits and misses in /metrics, labelled by cache name only', async () => {
      const text = await (await fetch(`${first.url}/metrics`)).text();
      expect(await metricValue(first, 'switchboard_cache_hits_total', 'cache="response"')).toBeGreaterThan(0);
      expect(await metricValue(first, 'switchboard_cache_misses_total', 'cache="response"')).toBeGreaterThan(0);
      expect(await metricValue(first, 'switchboard_cache_listener_up')).toBe(1);
      const cacheLines = text.split('\n').filter((line) => line.startsWith('switchboard_cache_'));
      expect(cacheLines.length).toBeGreaterThan(0);
      for (const line of cacheLines) expect(line).toMatch(/^switchboard_cache_[a-z_]+(\{cache="[a-z0-9_]+"\})? \d+$/);
      expect(cacheLines.some((line) => line.startsWith('switchboard_cache_evictions_total{cache="agents"}'))).toBe(true);
    });
  });

  describe('tenant separation of cache keys', () => {
    let cached: TestServer;
    let oracle: TestServer;

    beforeAll(async () => {
      [cached, oracle] = await Promise.all([startCached(), startTestServer({ clock })]);
      await eventually('listener up', () => cached.services.caches.trusted());
    });

    afterAll(async () => {
      await Promise.all([cached.close(), oracle.close()]);
    });

    // Same text, same variables, for everybody: only the token differs.
    const SHARED = `query Shared($id: ID!) {
      viewer { role user { id name } organisation { id name } }
      agent(id: $id) { id name }
      node(id: $id) { id }
      agents(first: 5) { nodes { id name } }
      dashboard(range: { preset: TODAY }) { totalCalls { current } }
    }`;

    async function get(server: TestServer, token: string, params: Record<string, unknown>) {
      const search = new URLSearchParams();
      for (const [name, value] of Object.entries(params)) search.set(name, typeof value === 'string' ? value : JSON.stringify(value));
      const response = await fetch(`${server.url}/graphql?${search.toString()}`, {
        headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
      });
      return (await response.json()) as { data?: unknown; errors?: unknown };
    }

    it('the same query, variables and persisted id from other organisations, users and roles never gets another caller’s answer', async () => {
      const hash = createHash('sha256').update(SHARED).digest('hex');
      const apq = { persistedQuery: { version: 1, sha256Hash: hash } };
      // Org A's agent id for everyone: for org B it must behave like a nonexistent id.
      const variables = { id: toGlobalId('Agent', agentId) };
      const callers = [
        [org, 'admin'],
        [org, 'member'],
        [org, 'viewer'],
        [other, 'admin'],
        [other, 'viewer'],
      ] as const;

      // Warm the cache as org A's admin through every transport first, so any leak would be a hit.
      const adminA = await cached.tokenFor(org, 'admin');
      await cached.graphql(SHARED, { token: adminA, variables });
      await fetch(`${cached.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminA}` },
        body: JSON.stringify({ query: SHARED, variables, extensions: apq }),
      });

      for (let round = 0; round < 2; round += 1) {
        for (const [tenant, role] of callers) {
          const token = await cached.tokenFor(tenant, role);
          const truth = await oracle.graphql(SHARED, { token: await oracle.tokenFor(tenant, role), variables });
          expect(truth.body.errors).toBeUndefined();

          const post = await cached.graphql(SHARED, { token, variables });
          expect(post.body.data).toEqual(truth.body.data);
          const viaGet = await get(cached, token, { query: SHARED, variables });
          expect(viaGet.data).toEqual(truth.body.data);
          const viaHash = await get(cached, token, { extensions: apq, variables });
          expect(viaHash.data).toEqual(truth.body.data);
          const viaPostHash = await fetch(`${cached.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ extensions: apq, variables }),
          });
          expect(((await viaPostHash.json()) as { data: unknown }).data).toEqual(truth.body.data);
        }
      }
      // And the cache was really in play: the second round was served from it.
      expect(await metricValue(cached, 'switchboard_cache_hits_total', 'cache="response"')).toBeGreaterThanOrEqual(callers.length * 4);
    });

    it('another organisation’s id is exactly a nonexistent id, cached or not', async () => {
      const token = await cached.tokenFor(other);
      const query = `query One($id: ID!) { agent(id: $id) { id name } }`;
      const foreign = await cached.graphql(query, { token, variables: { id: toGlobalId('Agent', agentId) } });
      const missing = await cached.graphql(query, { token, variables: { id: toGlobalId('Agent', '999999999') } });
      const foreignAgain = await cached.graphql(query, { token, variables: { id: toGlobalId('Agent', agentId) } });
      for (const answer of [foreign, missing, foreignAgain]) {
        expect(answer.status).toBe(200);
        expect(answer.body.errors).toBeUndefined();
        expect(answer.body.data).toEqual({ agent: null });
      }
    });
  });

  describe('entity caches', () => {
    let server: TestServer;
    let token: string;
    const ttl = manualClock();

    beforeAll(async () => {
      server = await startTestServer({
        clock,
        caches: true,
        cacheClock: ttl,
        configure: (config) => ({ ...config, caches: { ...config.caches, responseCache: false, entityCacheTtlMs: 60_000 } }),
      });
      token = await server.tokenFor(org, 'member');
      await eventually('listener up', () => server.services.caches.trusted());
    });

    afterAll(async () => {
      await server.close();
    });

    const VIEWER = `{ viewer { user { name } organisation { name timezone } } }`;

    it('save the per-request organisation and member statements, and a write evicts only what it touched', async () => {
      await server.graphql(VIEWER, { token });
      expect(lastStatements(server)).toBe(2);
      await server.graphql(VIEWER, { token });
      expect(lastStatements(server)).toBe(0);

      await writeAndAwaitInvalidation([server], org.id, `update organisations set timezone = 'Europe/Paris' where id = $1`, [org.id]);
      const answer = await server.graphql(VIEWER, { token });
      expect(answer.body.data.viewer.organisation.timezone).toBe('Europe/Paris');
      // The organisation was read again; the member was not touched and is still cached.
      expect(lastStatements(server)).toBe(1);
      await writeAndAwaitInvalidation([server], org.id, `update organisations set timezone = 'America/New_York' where id = $1`, [org.id]);
    });

    it('save the agents statement of a calls list once its agents are known', async () => {
      const list = `{ calls(first: 5) { nodes { id agent { name } } } }`;
      await server.graphql(list, { token });
      const cold = lastStatements(server);
      await server.graphql(list, { token });
      expect(lastStatements(server)).toBe(cold - 1);
    });

    it('expire after their TTL', async () => {
      await server.graphql(VIEWER, { token });
      await server.graphql(VIEWER, { token });
      expect(lastStatements(server)).toBe(0);
      ttl.advance(60_001);
      await server.graphql(VIEWER, { token });
      expect(lastStatements(server)).toBe(2);
    });
  });

  describe('bounds', () => {
    it('an entity cache holds at most its configured number of entries', async () => {
      // Written before the server listens, so no invalidation races the assertions.
      const ids = [agentId, ...(await Promise.all([createAgent(db, org.id), createAgent(db, org.id)]))];
      const server = await startTestServer({
        clock,
        caches: true,
        configure: (config) => ({ ...config, caches: { ...config.caches, responseCache: false, entityCacheMaxEntries: 2 } }),
      });
      try {
        await eventually('listener up', () => server.services.caches.trusted());
        const token = await server.tokenFor(org);
        const query = `query Many($ids: [ID!]!) { nodes(ids: $ids) { id } }`;
        await server.graphql(query, { token, variables: { ids: ids.map((id) => toGlobalId('Agent', id)) } });
        expect(server.services.caches.entities.agents.size).toBe(2);
        expect(await metricValue(server, 'switchboard_cache_evictions_total', 'cache="agents"')).toBe(1);
      } finally {
        await server.close();
      }
    });

    it('the response cache holds at most its configured bytes, and its entries expire after maxAge', async () => {
      const ttl = manualClock();
      const server = await startTestServer({
        clock,
        caches: true,
        cacheClock: ttl,
        configure: (config) => ({ ...config, caches: { ...config.caches, entityCache: false, responseCacheMaxBytes: 4096 } }),
      });
      try {
        await eventually('listener up', () => server.services.caches.trusted());
        const token = await server.tokenFor(org);
        // Agent: maxAge 120 s.
        const variables = { id: toGlobalId('Agent', agentId) };
        await server.graphql(AGENT, { token, variables });
        await server.graphql(AGENT, { token, variables });
        expect(lastStatements(server)).toBe(0);
        ttl.advance(119_000);
        await server.graphql(AGENT, { token, variables });
        expect(lastStatements(server)).toBe(0);
        ttl.advance(2_000);
        await server.graphql(AGENT, { token, variables });
        expect(lastStatements(server)).toBeGreaterThan(0);

        // Many distinct answers of ~1 KB overflow 4 KB: the oldest are evicted, the bound holds.
        const big = `query Big($n: Int!) { agents(first: $n) { nodes { id name provider providerAgentId language createdAt updatedAt } } }`;
        for (let n = 1; n <= 12; n += 1) await server.graphql(big, { token, variables: { n } });
        expect(await metricValue(server, 'switchboard_cache_evictions_total', 'cache="response"')).toBeGreaterThan(0);
        await server.graphql(big, { token, variables: { n: 1 } });
        expect(lastStatements(server)).toBeGreaterThan(0);
      } finally {
        await server.close();
      }
    });
  });

  describe('a lost LISTEN connection', () => {
    it('bypasses caches while it is down, then reconnects and flushes what it could have missed', async () => {
      const server = await startCached({
        configure: (config) => ({ ...config, caches: { ...config.caches, listenerBackoffMs: 400, listenerBackoffMaxMs: 400 } }),
      });
      try {
        await eventually('listener up', () => server.services.caches.trusted());
        const token = await server.tokenFor(org);
        const variables = { id: toGlobalId('Agent', agentId) };
        const VIEWER_AND_AGENT = `query Both($id: ID!) { viewer { organisation { name } } agent(id: $id) { name } }`;
        await server.graphql(VIEWER_AND_AGENT, { token, variables });
        await server.graphql(VIEWER_AND_AGENT, { token, variables });
        expect(lastStatements(server)).toBe(0);

        const pid = server.services.caches.listener!.backendPid;
        await writeElsewhere('select pg_terminate_backend($1)', [pid]);
        await eventually('the loss to be noticed', () => !server.services.caches.trusted());

        // Written while nobody listens: this instance never hears of it.
        await writeElsewhere(`update agents set name = 'Hopper' where org_id = $1 and id = $2`, [org.id, agentId]);
        const during = await server.graphql(VIEWER_AND_AGENT, { token, variables });
        expect(during.body.data.agent.name).toBe('Hopper');
        expect(lastStatements(server)).toBeGreaterThan(0);

        await eventually('the listener to reconnect', () => server.services.caches.trusted() && server.services.caches.listener!.connections === 2);
        expect(server.services.caches.listener!.backendPid).not.toBe(pid);
        const after = await server.graphql(VIEWER_AND_AGENT, { token, variables });
        expect(after.body.data.agent.name).toBe('Hopper');
        expect(await metricValue(server, 'switchboard_cache_listener_connections_total')).toBe(2);
        expect(await metricValue(server, 'switchboard_cache_flushes_total', 'cache="agents"')).toBeGreaterThanOrEqual(1);

        // And invalidation works again on the new connection.
        await writeAndAwaitInvalidation([server], org.id, `update agents set name = 'Ada' where org_id = $1 and id = $2`, [org.id, agentId]);
        expect((await server.graphql(VIEWER_AND_AGENT, { token, variables })).body.data.agent.name).toBe('Ada');
      } finally {
        await server.close();
      }
    });
  });
});
