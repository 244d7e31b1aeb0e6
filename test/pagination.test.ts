import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { openTestDb } from './support/db';
import { createAgent, createCalls, createContact, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type GraphQLResponse, type TestServer } from './support/server';

/**
 * Keyset pagination as a client sees it: walking a list page by page, in either
 * direction, visits every row exactly once and in order — even when many rows
 * share a sort value — and bad paging arguments are the client's error.
 */

interface PageArgs {
  first?: number;
  after?: string;
  last?: number;
  before?: string;
}
interface Page {
  edges: { cursor: string; node: { id: string } }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}
type Fetch = (args: PageArgs) => Promise<Page>;
/** A fixture row: its global id, local id and sort value. */
interface Row {
  gid: string;
  local: string;
  key: number | string;
}

const PAGE_FIELDS = 'edges { cursor node { id } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }';
const compare = (a: number | string | bigint, b: number | string | bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** The order the API promises: sort value, ties broken by id, both in `direction`. */
function expectedOrder(rows: Row[], direction: 'ASC' | 'DESC'): string[] {
  const sign = direction === 'ASC' ? 1 : -1;
  return [...rows].sort((a, b) => sign * (compare(a.key, b.key) || compare(BigInt(a.local), BigInt(b.local)))).map((row) => row.gid);
}

function expectCursorsMatchEdges(page: Page): void {
  expect(page.pageInfo.startCursor).toBe(page.edges[0]?.cursor ?? null);
  expect(page.pageInfo.endCursor).toBe(page.edges[page.edges.length - 1]?.cursor ?? null);
}

async function walkForward(fetch: Fetch, size: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (let i = 0; i < 200; i++) {
    const page = await fetch(after ? { first: size, after } : { first: size });
    expectCursorsMatchEdges(page);
    expect(page.pageInfo.hasPreviousPage).toBe(after !== undefined);
    ids.push(...page.edges.map((edge) => edge.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    expect(page.edges).toHaveLength(size);
    after = page.pageInfo.endCursor!;
  }
  throw new Error('walking forward never reached a page without hasNextPage');
}

async function walkBackward(fetch: Fetch, size: number): Promise<string[]> {
  const ids: string[] = [];
  let before: string | undefined;
  for (let i = 0; i < 200; i++) {
    const page = await fetch(before ? { last: size, before } : { last: size });
    expectCursorsMatchEdges(page);
    expect(page.pageInfo.hasNextPage).toBe(before !== undefined);
    ids.unshift(...page.edges.map((edge) => edge.node.id));
    if (!page.pageInfo.hasPreviousPage) return ids;
    expect(page.edges).toHaveLength(size);
    before = page.pageInfo.startCursor!;
  }
  throw new Error('walking backward never reached a page without hasPreviousPage');
}

/** Re-encodes a cursor with one part changed: deliberately forges the opaque format. */
function forge(cursor: string, edit: (parts: unknown[]) => unknown[]): string {
  const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
  return Buffer.from(JSON.stringify(edit(parts)), 'utf8').toString('base64url');
}

function expectBadUserInput(response: GraphQLResponse, field = 'list'): void {
  const errors = response.body.errors ?? [];
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors) {
    expect(error.extensions?.code).toBe('BAD_USER_INPUT');
    expect(error.message).not.toMatch(/\bselect\b|\bwhere\b|syntax|::|int8|timestamptz/i);
  }
  expect(response.body.data?.[field] ?? null).toBeNull();
}

describe('pagination: keyset connections visit every row exactly once, in order', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;
  const calls: Row[] = [];
  const inboundCalls: Row[] = [];
  const callsByAgent: Row[][] = [[], []];
  const agents: Row[] = [];
  const contacts: { gid: string; local: string; name: string; score: number; created: number }[] = [];

  const base = Date.UTC(2026, 2, 1, 9);
  const CALLS = 46;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    token = await server.tokenFor(org);

    // Agents are listed by name: duplicate names make ties broken by id.
    for (const name of ['Echo', 'Alpha', 'Delta', 'Alpha', 'Charlie', 'Bravo', 'Alpha', 'Foxtrot', 'Delta']) {
      const local = await createAgent(db, org.id, { name });
      agents.push({ gid: toGlobalId('Agent', local), local, key: name });
    }

    // Insertion (id) order is shuffled against time; the first twelve time slots
    // are one shared instant, the rest come in groups of four.
    const inputs = Array.from({ length: CALLS }, (_, k) => {
      const position = (k * 17) % CALLS;
      const slot = position < 12 ? 0 : 1 + Math.floor((position - 12) / 4);
      return {
        agentId: agents[k % 2]!.local,
        direction: k % 3 === 0 ? ('inbound' as const) : ('outbound' as const),
        startedAt: new Date(base + slot * 60_000),
      };
    });
    const ids = await createCalls(db, org.id, inputs);
    ids.forEach((local, k) => {
      const row = { gid: toGlobalId('Call', local), local, key: inputs[k]!.startedAt.getTime() };
      calls.push(row);
      callsByAgent[k % 2]!.push(row);
      if (inputs[k]!.direction === 'inbound') inboundCalls.push(row);
    });

    for (let i = 0; i < 23; i++) {
      const name = `Name ${['kilo', 'alpha', 'mike', 'bravo', 'zulu'][i % 5]}`;
      const score = [50, 10, 50, 90, 50, 0, 100, 50, 70][i % 9]!;
      const created = Date.UTC(2025, 10, 1) + Math.floor(((i * 7) % 23) / 4) * 86_400_000;
      const local = await createContact(db, org.id, { name, leadScore: score, createdAt: new Date(created) });
      contacts.push({ gid: toGlobalId('Contact', local), local, name, score, created });
    }
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  /** Fetches one page of a root list; `extra` holds any other arguments. */
  function root(field: 'calls' | 'agents' | 'contacts', extra = ''): Fetch {
    const query = `query P($first: Int, $after: String, $last: Int, $before: String) {
      list: ${field}(${extra} first: $first, after: $after, last: $last, before: $before) { ${PAGE_FIELDS} } }`;
    return async (args) => {
      const response = await server.graphql(query, { token, variables: { ...args } });
      expect(response.body.errors).toBeUndefined();
      return response.body.data.list as Page;
    };
  }

  function agentCalls(agent: Row, extra = ''): Fetch {
    const query = `query A($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      agent(id: $id) { calls(${extra} first: $first, after: $after, last: $last, before: $before) { ${PAGE_FIELDS} } } }`;
    return async (args) => {
      const response = await server.graphql(query, { token, variables: { id: agent.gid, ...args } });
      expect(response.body.errors).toBeUndefined();
      return response.body.data.agent.calls as Page;
    };
  }

  const raw = (query: string, variables?: Record<string, unknown>) => server.graphql(query, { token, variables });

  describe('walking every page', () => {
    it('calls forward (newest first) visit every call once, even when a dozen share one startedAt', async () => {
      expect(await walkForward(root('calls'), 5)).toEqual(expectedOrder(calls, 'DESC'));
    });

    it('calls backward with last/before visit every call once, in the same order', async () => {
      expect(await walkBackward(root('calls'), 5)).toEqual(expectedOrder(calls, 'DESC'));
    });

    it('calls ordered ASC visit every call once, oldest first, in both directions', async () => {
      const asc = root('calls', 'orderBy: { field: STARTED_AT, direction: ASC },');
      expect(await walkForward(asc, 7)).toEqual(expectedOrder(calls, 'ASC'));
      expect(await walkBackward(asc, 7)).toEqual(expectedOrder(calls, 'ASC'));
    });

    it('agents (by name, ties by id) visit every agent once in both directions', async () => {
      expect(await walkForward(root('agents'), 2)).toEqual(expectedOrder(agents, 'ASC'));
      expect(await walkBackward(root('agents'), 2)).toEqual(expectedOrder(agents, 'ASC'));
    });

    it.each([
      ['CREATED_AT', 'DESC'],
      ['CREATED_AT', 'ASC'],
      ['NAME', 'ASC'],
      ['NAME', 'DESC'],
      ['LEAD_SCORE', 'DESC'],
      ['LEAD_SCORE', 'ASC'],
    ] as const)('contacts ordered by %s %s visit every contact once in both directions', async (field, direction) => {
      const keyOf = { CREATED_AT: 'created', NAME: 'name', LEAD_SCORE: 'score' } as const;
      const rows = contacts.map((c) => ({ gid: c.gid, local: c.local, key: c[keyOf[field]] }));
      const fetch = root('contacts', `orderBy: { field: ${field}, direction: ${direction} },`);
      expect(await walkForward(fetch, 4)).toEqual(expectedOrder(rows, direction));
      expect(await walkBackward(fetch, 4)).toEqual(expectedOrder(rows, direction));
    });

    it('contacts default to newest created first', async () => {
      const rows = contacts.map((c) => ({ gid: c.gid, local: c.local, key: c.created }));
      expect(await walkForward(root('contacts'), 6)).toEqual(expectedOrder(rows, 'DESC'));
    });
  });

  describe('a page in the middle', () => {
    it('after + before returns exactly the rows strictly between the two cursors', async () => {
      const all = await root('calls')({ first: 100 });
      const after = all.edges[8]!.cursor;
      const before = all.edges[21]!.cursor;
      const expected = all.edges.slice(9, 21).map((edge) => edge.node.id);
      const forward = await root('calls')({ first: 100, after, before });
      expect(forward.edges.map((edge) => edge.node.id)).toEqual(expected);
      const backward = await root('calls')({ last: 5, after, before });
      expect(backward.edges.map((edge) => edge.node.id)).toEqual(expected.slice(-5));
      expect(backward.pageInfo.hasPreviousPage).toBe(true);
    });
  });

  describe('pageInfo at the ends', () => {
    it('the first page has no previous page and the last full page has no next page', async () => {
      const first = await root('calls')({ first: 10 });
      expect(first.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
      const everything = await root('calls')({ first: CALLS });
      expect(everything.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
      const allButOne = await root('calls')({ first: CALLS - 1 });
      expect(allButOne.pageInfo.hasNextPage).toBe(true);
      const last = await root('calls')({ last: 10 });
      expect(last.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
      expect(last.edges.map((edge) => edge.node.id)).toEqual(expectedOrder(calls, 'DESC').slice(-10));
    });

    it('an empty result has no pages either way and null cursors', async () => {
      const empty = await root('calls', 'filter: { status: [] },')({ first: 5 });
      expect(empty.edges).toEqual([]);
      expect(empty.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null });
      const past = await root('calls')({ first: 5, after: (await root('calls')({ last: 1 })).pageInfo.endCursor! });
      expect(past.edges).toEqual([]);
      expect(past.pageInfo).toMatchObject({ hasNextPage: false, startCursor: null, endCursor: null });
    });
  });

  describe('page sizes', () => {
    it('first defaults to 20', async () => {
      const page = await root('calls')({});
      expect(page.edges).toHaveLength(20);
      expect(page.pageInfo.hasNextPage).toBe(true);
    });

    it('first: 100 is allowed', async () => {
      expect((await root('calls')({ first: 100 })).edges).toHaveLength(CALLS);
    });

    it('first: 101 is BAD_USER_INPUT with no rows, inline or as a variable, root or nested', async () => {
      expectBadUserInput(await raw('{ list: calls(first: 101) { edges { node { id } } } }'));
      expectBadUserInput(await raw('query Q($n: Int) { list: calls(first: $n) { nodes { id } } }', { n: 101 }));
      expectBadUserInput(await raw('{ list: contacts(last: 101) { nodes { id } } }'));
      expectBadUserInput(await raw('query Q($id: ID!) { list: agent(id: $id) { calls(first: 101) { nodes { id } } } }', { id: agents[0]!.gid }));
    });

    it('negative first or last is BAD_USER_INPUT', async () => {
      expectBadUserInput(await raw('{ list: calls(first: -1) { nodes { id } } }'));
      expectBadUserInput(await raw('{ list: agents(last: -3) { nodes { id } } }'));
    });

    it('first and last together is BAD_USER_INPUT', async () => {
      expectBadUserInput(await raw('{ list: calls(first: 5, last: 5) { nodes { id } } }'));
    });
  });

  describe('invalid cursors are BAD_USER_INPUT, never an internal error', () => {
    const junkJson = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

    it.each([
      ['a garbage string', 'this is not a cursor!'],
      ['base64 that is not JSON', 'Z2FyYmFnZQ'],
      ['base64 of a JSON object', junkJson('{"id":1}')],
      ['base64 of a JSON array of junk', junkJson('[1,2,3]')],
      ['a very long string', 'A'.repeat(20_000)],
    ])('%s', async (_name, cursor) => {
      for (const argument of ['after', 'before']) {
        expectBadUserInput(await raw(`query Q($c: String) { list: calls(${argument}: $c) { nodes { id } } }`, { c: cursor }));
      }
    });

    it('a cursor from the contacts list used on calls, or an agents cursor on contacts by name', async () => {
      const contactCursor = (await root('contacts')({ first: 1 })).pageInfo.endCursor!;
      expectBadUserInput(await raw('query Q($c: String) { list: calls(after: $c) { nodes { id } } }', { c: contactCursor }));
      const agentCursor = (await root('agents')({ first: 1 })).pageInfo.endCursor!;
      expectBadUserInput(
        await raw('query Q($c: String) { list: contacts(orderBy: { field: NAME, direction: ASC }, after: $c) { nodes { id } } }', {
          c: agentCursor,
        }),
      );
    });

    it('a calls cursor from the default DESC order used with orderBy ASC', async () => {
      const cursor = (await root('calls')({ first: 3 })).pageInfo.endCursor!;
      expectBadUserInput(await raw('query Q($c: String) { list: calls(orderBy: { direction: ASC }, after: $c) { nodes { id } } }', { c: cursor }));
    });

    it('a forged cursor with a non-numeric id or a non-date value', async () => {
      const cursor = (await root('calls')({ first: 3 })).pageInfo.endCursor!;
      const query = 'query Q($c: String) { list: calls(first: 100, after: $c) { nodes { id } } }';
      // The forging itself is sound: an unchanged re-encoding still works.
      const unchanged = await raw(query, { c: forge(cursor, (parts) => parts) });
      expect(unchanged.body.errors).toBeUndefined();
      expect(unchanged.body.data.list.nodes).toHaveLength(CALLS - 3);
      expectBadUserInput(await raw(query, { c: forge(cursor, ([o, v]) => [o, v, 'abc']) }));
      expectBadUserInput(await raw(query, { c: forge(cursor, ([o, v]) => [o, v, '1); drop table calls; --']) }));
      expectBadUserInput(await raw(query, { c: forge(cursor, ([o, v]) => [o, v, '99999999999999999999999']) }));
      expectBadUserInput(await raw(query, { c: forge(cursor, ([o, , id]) => [o, 'yesterday', id]) }));
    });
  });

  describe('totalCount', () => {
    it('matches the filter and does not depend on the page', async () => {
      const query = `query Q($after: String) {
        calls(filter: { direction: INBOUND }, first: 3, after: $after) { totalCount edges { node { id } } pageInfo { endCursor } } }`;
      const first = await raw(query);
      expect(first.body.data.calls.totalCount).toBe(inboundCalls.length);
      const second = await raw(query, { after: first.body.data.calls.pageInfo.endCursor });
      expect(second.body.data.calls.totalCount).toBe(inboundCalls.length);
      expect(second.body.data.calls.edges).toHaveLength(3);
      const all = await raw('{ calls(first: 1) { totalCount } agents(first: 1) { totalCount } contacts(first: 1) { totalCount } }');
      expect(all.body.data).toEqual({
        calls: { totalCount: CALLS },
        agents: { totalCount: agents.length },
        contacts: { totalCount: contacts.length },
      });
    });

    it('runs no count statement unless totalCount is selected', async () => {
      const statementsFor = async (query: string) => {
        server.operations.length = 0;
        const response = await raw(query);
        expect(response.body.errors).toBeUndefined();
        expect(server.operations).toHaveLength(1);
        return server.operations[0]!.statements.count;
      };
      expect(await statementsFor('{ calls(first: 5) { edges { node { id } } } }')).toBe(1);
      expect(await statementsFor('{ calls(first: 5) { totalCount edges { node { id } } } }')).toBe(2);
      expect(await statementsFor('{ contacts(first: 5) { nodes { id } pageInfo { hasNextPage } } }')).toBe(1);
      expect(await statementsFor('{ agents(first: 5) { nodes { id } } }')).toBe(1);
      expect(await statementsFor('{ agents(first: 5) { totalCount nodes { id } } }')).toBe(2);
    });
  });

  describe('nested Agent.calls', () => {
    it("walks each agent's calls with its own cursors, forward and backward", async () => {
      for (const [index, agent] of agents.slice(0, 2).entries()) {
        const expected = expectedOrder(callsByAgent[index]!, 'DESC');
        expect(await walkForward(agentCalls(agent), 4)).toEqual(expected);
        expect(await walkBackward(agentCalls(agent), 4)).toEqual(expected);
      }
      const asc = agentCalls(agents[1]!, 'orderBy: { direction: ASC },');
      expect(await walkForward(asc, 6)).toEqual(expectedOrder(callsByAgent[1]!, 'ASC'));
    });

    it('defaults to 20 calls per agent', async () => {
      const page = await agentCalls(agents[0]!)({});
      expect(page.edges).toHaveLength(20);
      expect(page.pageInfo.hasNextPage).toBe(true);
    });

    it('two agents paged with different cursors in one request each get their own next page', async () => {
      const [a, b] = [agents[0]!, agents[1]!];
      const firstA = await agentCalls(a)({ first: 7 });
      const firstB = await agentCalls(b)({ first: 3 });
      const response = await raw(
        `query Q($a: ID!, $b: ID!, $ca: String, $cb: String) {
          a: agent(id: $a) { calls(first: 5, after: $ca) { nodes { id } } }
          b: agent(id: $b) { calls(first: 5, after: $cb) { nodes { id } } } }`,
        { a: a.gid, b: b.gid, ca: firstA.pageInfo.endCursor, cb: firstB.pageInfo.endCursor },
      );
      expect(response.body.errors).toBeUndefined();
      const ids = (connection: { nodes: { id: string }[] }) => connection.nodes.map((node) => node.id);
      expect(ids(response.body.data.a.calls)).toEqual(expectedOrder(callsByAgent[0]!, 'DESC').slice(7, 12));
      expect(ids(response.body.data.b.calls)).toEqual(expectedOrder(callsByAgent[1]!, 'DESC').slice(3, 8));
    });
  });
});
