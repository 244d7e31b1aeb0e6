import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { openTestDb } from './support/db';
import { createAgent, createCalls, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type GraphQLResponse, type TestServer } from './support/server';

/**
 * Sorting calls and agents by any column a dashboard shows: every order walks
 * forward and backward page by page through every row exactly once, in the
 * promised order — ties broken by id, calls without an end last in both
 * directions — and a cursor only works with the order it came from.
 */

interface Page {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}
type Fetch = (args: string) => Promise<Page>;
interface Row {
  gid: string;
  local: string;
  /** Sort value; null sorts last in either direction. */
  key: number | null;
}

/** What the queries below select: a calls or agents page, or agents with their nested calls. */
interface Data {
  calls: Page;
  agents: Page & { nodes: { id: string; calls: Page }[] };
}

const PAGE_FIELDS = 'edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';
const SIZE = 4;

function expectedOrder(rows: Row[], direction: 'ASC' | 'DESC'): string[] {
  const sign = direction === 'ASC' ? 1 : -1;
  const compare = (a: number | bigint, b: number | bigint) => (a < b ? -1 : a > b ? 1 : 0);
  return [...rows]
    .sort((a, b) => {
      if (a.key === null || b.key === null) {
        if (a.key !== b.key) return a.key === null ? 1 : -1;
      } else if (a.key !== b.key) return sign * compare(a.key, b.key);
      return sign * compare(BigInt(a.local), BigInt(b.local));
    })
    .map((row) => row.gid);
}

async function walkForward(fetch: Fetch): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await fetch(after ? `first: ${SIZE}, after: "${after}"` : `first: ${SIZE}`);
    ids.push(...page.edges.map((edge) => edge.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor!;
  }
  throw new Error('never reached the last page');
}

async function walkBackward(fetch: Fetch): Promise<string[]> {
  const ids: string[] = [];
  let before: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await fetch(before ? `last: ${SIZE}, before: "${before}"` : `last: ${SIZE}`);
    ids.unshift(...page.edges.map((edge) => edge.node.id));
    if (!page.pageInfo.hasPreviousPage) return ids;
    before = page.pageInfo.startCursor!;
  }
  throw new Error('never reached the first page');
}

function expectBadUserInput(response: GraphQLResponse): void {
  const errors = response.body.errors ?? [];
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors) expect(error.extensions?.code).toBe('BAD_USER_INPUT');
}

describe('sorting: every order paginates both ways without gaps or duplicates', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;
  const agents: Row[] = [];
  const agentCreated: Row[] = [];
  const calls: { row: Row; agent: number; duration: number; cost: number; started: number; ended: number | null }[] = [];

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    token = await server.tokenFor(org);

    const names = ['Echo', 'Alpha', 'Delta', 'Alpha', 'Bravo', 'Alpha'];
    for (const [i, name] of names.entries()) {
      const local = await createAgent(db, org.id, { name });
      // Three agents share one creation instant: ties by id.
      const created = Date.UTC(2026, 0, 1 + (i % 3 === 0 ? 0 : i));
      await sql`update agents set created_at = ${new Date(created)} where org_id = ${org.id}::int8 and id = ${local}::int8`.execute(db);
      agents.push({ gid: toGlobalId('Agent', local), local, key: [...names].sort().indexOf(name) });
      agentCreated.push({ gid: toGlobalId('Agent', local), local, key: created });
    }

    // Few distinct durations and costs (many ties), ids shuffled against every
    // order, and every fifth call still without an end.
    const inputs = Array.from({ length: 31 }, (_, k) => ({
      agentId: agents[k % 2]!.local,
      durationSeconds: [30, 120, 30, 0, 600][(k * 7) % 5]!,
      cost: [0.25, 0.1, 0.1, 1.5][(k * 3) % 4]!,
      startedAt: new Date(Date.UTC(2026, 2, 1, 9) + ((k * 11) % 7) * 60_000),
    }));
    const ids = await createCalls(db, org.id, inputs);
    for (const [k, local] of ids.entries()) {
      const input = inputs[k]!;
      let ended: number | null = input.startedAt.getTime() + input.durationSeconds * 1000;
      if (k % 5 === 0) {
        ended = null;
        await sql`update calls set ended_at = null where org_id = ${org.id}::int8 and id = ${local}::int8`.execute(db);
      }
      calls.push({
        row: { gid: toGlobalId('Call', local), local, key: null },
        agent: k % 2,
        duration: input.durationSeconds,
        cost: input.cost,
        started: input.startedAt.getTime(),
        ended,
      });
    }
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const keyOf: Record<string, (call: (typeof calls)[number]) => number | null> = {
    STARTED_AT: (call) => call.started,
    DURATION: (call) => call.duration,
    COST: (call) => call.cost,
    ENDED_AT: (call) => call.ended,
  };
  const orders = Object.keys(keyOf).flatMap((field) => (['ASC', 'DESC'] as const).map((direction) => [field, direction] as const));

  async function page(query: string, pick: (data: Data) => Page): Promise<Page> {
    const response = await server.graphql(query, { token });
    expect(response.body.errors).toBeUndefined();
    return pick(response.body.data);
  }

  it.each(orders)('calls by %s %s', async (field, direction) => {
    const expected = expectedOrder(
      calls.map((call) => ({ ...call.row, key: keyOf[field]!(call) })),
      direction,
    );
    const fetch: Fetch = (args) =>
      page(`{ calls(${args}, orderBy: { field: ${field}, direction: ${direction} }) { ${PAGE_FIELDS} } }`, (data) => data.calls);
    expect(await walkForward(fetch)).toEqual(expected);
    expect(await walkBackward(fetch)).toEqual(expected);
  });

  it.each(orders)("an agent's nested calls by %s %s", async (field, direction) => {
    const mine = calls.filter((call) => call.agent === 1);
    const expected = expectedOrder(
      mine.map((call) => ({ ...call.row, key: keyOf[field]!(call) })),
      direction,
    );
    const fetch: Fetch = (args) =>
      page(
        `{ agents(first: 10) { nodes { id calls(${args}, orderBy: { field: ${field}, direction: ${direction} }) { ${PAGE_FIELDS} } } } }`,
        (data) => data.agents.nodes.find((agent) => agent.id === agents[1]!.gid)!.calls,
      );
    expect(await walkForward(fetch)).toEqual(expected);
    expect(await walkBackward(fetch)).toEqual(expected);
  });

  it.each([
    ['NAME', 'ASC'],
    ['NAME', 'DESC'],
    ['CREATED_AT', 'ASC'],
    ['CREATED_AT', 'DESC'],
  ] as const)('agents by %s %s', async (field, direction) => {
    const expected = expectedOrder(field === 'NAME' ? agents : agentCreated, direction);
    const fetch: Fetch = (args) =>
      page(`{ agents(${args}, orderBy: { field: ${field}, direction: ${direction} }) { ${PAGE_FIELDS} } }`, (data) => data.agents);
    expect(await walkForward(fetch)).toEqual(expected);
    expect(await walkBackward(fetch)).toEqual(expected);
  });

  it('a cursor from one order is refused by another, as BAD_USER_INPUT', async () => {
    const first = await page(`{ calls(first: 2, orderBy: { field: DURATION, direction: ASC }) { ${PAGE_FIELDS} } }`, (data) => data.calls);
    const cursor = first.pageInfo.endCursor!;
    for (const order of ['{ field: DURATION, direction: DESC }', '{ field: COST, direction: ASC }', '{ field: STARTED_AT, direction: ASC }']) {
      expectBadUserInput(await server.graphql(`{ calls(first: 2, after: "${cursor}", orderBy: ${order}) { ${PAGE_FIELDS} } }`, { token }));
    }
    const agentsPage = await page(`{ agents(first: 2) { ${PAGE_FIELDS} } }`, (data) => data.agents);
    expectBadUserInput(
      await server.graphql(`{ agents(first: 2, after: "${agentsPage.pageInfo.endCursor!}", orderBy: { field: CREATED_AT }) { ${PAGE_FIELDS} } }`, {
        token,
      }),
    );
  });

  it('RELEVANCE without a search is BAD_USER_INPUT', async () => {
    expectBadUserInput(await server.graphql(`{ calls(first: 2, orderBy: { field: RELEVANCE }) { ${PAGE_FIELDS} } }`, { token }));
  });
});
