import { createHash } from 'node:crypto';
import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { eventually, metricValue, writeAndAwaitInvalidation } from './support/caches';
import { openTestDb } from './support/db';
import { createAgent, createOrg, type TestOrg } from './support/factories';
import { redisServerAvailable, startRedis, type RedisServer } from './support/redis';
import { startTestServer, type TestServer } from './support/server';

/**
 * REDIS_URL: the response and APQ caches live in Redis, shared by every
 * instance. Runs against a real redis-server (Debian package `redis-server`,
 * installed by .ci/run); skipped, saying so, where the binary is missing.
 */
const available = redisServerAvailable();
if (!available) {
  console.warn('test/cacheShared.test.ts skipped: redis-server is not installed (apt-get install -y redis-server)');
}
const describeWithRedis = available ? describe : describe.skip;

const NOW = new Date('2026-03-10T12:00:00Z');
const AGENT = `query SharedAgent($id: ID!) { agent(id: $id) { name } }`;
const COUNT = `query SharedCount { agents { totalCount } }`;

describeWithRedis('shared cache (Redis)', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let redis: RedisServer;
  let first: TestServer;
  let second: TestServer;
  let org: TestOrg;
  let agentId: string;

  const lastStatements = (server: TestServer) => server.operations[server.operations.length - 1]!.statements.count;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    org = await createOrg(db);
    agentId = await createAgent(db, org.id, { name: 'Ada' });
    redis = await startRedis();
    const start = () =>
      startTestServer({
        clock: () => NOW,
        caches: true,
        configure: (config) => ({ ...config, caches: { ...config.caches, redisUrl: redis.url, redisKeyPrefix: `test-${org.id}` } }),
      });
    [first, second] = await Promise.all([start(), start()]);
    await eventually('both listeners up', () => first.services.caches.trusted() && second.services.caches.trusted());
  });

  afterAll(async () => {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
    await Promise.all([first?.close(), second?.close()]);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
    await redis?.stop();
    await closeDb();
  });

  it('an answer computed by one instance is served by the other, until a write anywhere moves both on', async () => {
    const variables = { id: toGlobalId('Agent', agentId) };
    // A write gives the organisation a generation both instances agree on (the writing transaction's id).
    await writeAndAwaitInvalidation([first, second], org.id, `update agents set name = 'Ada' where org_id = $1 and id = $2`, [org.id, agentId]);
    expect(first.services.caches.generationOf(org.id)).toBe(second.services.caches.generationOf(org.id));

    const computed = await first.graphql(AGENT, { token: await first.tokenFor(org), variables });
    expect(computed.body.data).toEqual({ agent: { name: 'Ada' } });
    expect(lastStatements(first)).toBeGreaterThan(0);
    // The write to Redis is in the background: wait until the other instance finds it.
    const token2 = await second.tokenFor(org);
    await eventually('the other instance to hit Redis', async () => {
      const answer = await second.graphql(AGENT, { token: token2, variables });
      expect(answer.body.data).toEqual({ agent: { name: 'Ada' } });
      return lastStatements(second) === 0;
    });

    await writeAndAwaitInvalidation([first, second], org.id, `update agents set name = 'Grace' where org_id = $1 and id = $2`, [org.id, agentId]);
    for (const [server, token] of [
      [first, await first.tokenFor(org)],
      [second, token2],
    ] as const) {
      expect((await server.graphql(AGENT, { token, variables })).body.data).toEqual({ agent: { name: 'Grace' } });
    }
  });

  it('an APQ hash registered on one instance runs on the other', async () => {
    const query = `query SharedApq { viewer { role } }`;
    const extensions = { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') } };
    const post = (server: TestServer, token: string, body: Record<string, unknown>) =>
      fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const token1 = await first.tokenFor(org);
    const token2 = await second.tokenFor(org, 'viewer');
    expect((await post(second, token2, { extensions })).status).toBe(404);
    expect((await post(first, token1, { query, extensions })).status).toBe(200);
    await eventually('the registration to reach the other instance', async () => (await post(second, token2, { extensions })).status === 200);
    const answer = (await (await post(second, token2, { extensions })).json()) as { data: unknown };
    expect(answer.data).toEqual({ viewer: { role: 'VIEWER' } });
  });

  it('a Redis outage is a miss, never an error', async () => {
    await redis.stop();
    const token = await first.tokenFor(org);
    // Asked twice: with Redis gone nothing is stored, so the second is computed again too.
    for (let i = 0; i < 2; i += 1) {
      const answer = await first.graphql(COUNT, { token });
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data).toEqual({ agents: { totalCount: 1 } });
      expect(lastStatements(first)).toBeGreaterThan(0);
    }
    expect(await metricValue(first, 'switchboard_cache_errors_total', 'cache="response"')).toBeGreaterThan(0);
  });
});
