import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { openTestDb } from './support/db';
import { createAgent, createAppointment, createCalls, createContact, createOrg, type TestOrg } from './support/factories';
import { runOperation, startTestServer, type TestServer } from './support/server';

/**
 * The agents board — a page of agents, each with its first page of calls —
 * is one statement: the agents list reads every agent's calls (and their
 * contacts) through a LATERAL join and hands each page to the agent's `calls`
 * field. Its answers are exactly what each agent's calls read alone are.
 */

const CALL_FIELDS = `id startedAt status outcome hasRecording agent { id name } contact { id name phone }`;
const CALLS_CONNECTION = `edges { cursor node { ${CALL_FIELDS} } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }`;

interface CallsPage {
  edges: { cursor: string; node: { id: string; status: string } }[];
  pageInfo: { hasNextPage: boolean };
}
interface BoardAgent {
  id: string;
  name: string;
  calls: CallsPage;
}

describe('agents board: agents and their calls in one statement', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let other: TestOrg;
  let token: string;
  let quietAgent: string;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    [org, other] = await Promise.all([createOrg(db), createOrg(db)]);
    token = await server.tokenFor(org);
    // Named so the agents' order (by name) is known: the quiet one, with no calls, is in the middle.
    const agents = await Promise.all(['Ada', 'Bo', 'Cy', 'Di', 'Ed'].map((name) => createAgent(db, org.id, { name: `Board ${name}` })));
    quietAgent = agents[2]!;
    const busy = agents.filter((id) => id !== quietAgent);
    const contacts = await Promise.all(Array.from({ length: 7 }, () => createContact(db, org.id)));
    await createCalls(
      db,
      org.id,
      Array.from({ length: 60 }, (_, i) => ({
        agentId: busy[i % busy.length]!,
        contactId: i % 6 === 0 ? null : contacts[i % contacts.length]!,
        status: i % 3 === 0 ? ('failed' as const) : ('completed' as const),
        outcome: i % 4 === 0 ? null : ('interested' as const),
        recordingKey: i % 5 === 0 ? `rec/${i}.wav` : null,
        startedAt: new Date(Date.UTC(2026, 5, 1) + i * 600_000),
      })),
    );
    // Another organisation's agent sorts first and has calls interleaved with ours.
    const foreign = await createAgent(db, other.id, { name: 'Board Aaa' });
    await createCalls(
      db,
      other.id,
      Array.from({ length: 20 }, (_, i) => ({ agentId: foreign, startedAt: new Date(Date.UTC(2026, 5, 1) + i * 600_000 + 1000) })),
    );
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const run = (query: string, variables: Record<string, unknown> = {}) => runOperation(server, query, { token, variables });

  /** Each agent's calls read on their own, through `agent(id)`: the loader's own statement, no board. */
  async function alone(agentId: string, callsArgs: string, filter: unknown = null): Promise<CallsPage> {
    const globalId = Buffer.from(`Agent:${agentId}`).toString('base64url');
    const { data } = await run(
      `query Alone($id: ID!, $f: CallFilter) { agent(id: $id) { calls(${callsArgs}, filter: $f) { ${CALLS_CONNECTION} } } }`,
      { id: globalId, f: filter },
    );
    return data.agent.calls as CallsPage;
  }

  function localId(globalId: string): string {
    return Buffer.from(globalId, 'base64url').toString().split(':')[1]!;
  }

  it('runs one statement, whatever the page sizes', async () => {
    const board = `query Board($a: Int!, $c: Int!) {
      agents(first: $a) { nodes { id name calls(first: $c) { nodes { id startedAt status contact { id name } } } } }
    }`;
    const small = await run(board, { a: 2, c: 2 });
    const large = await run(board, { a: 5, c: 20 });
    expect(small.data.agents.nodes).toHaveLength(2);
    expect(large.data.agents.nodes).toHaveLength(5);
    const sizes = (large.data.agents.nodes as { calls: { nodes: unknown[] } }[]).map((agent) => agent.calls.nodes.length);
    expect(sizes).toEqual([15, 15, 0, 15, 15]);
    expect(small.statements.count).toBe(1);
    expect(large.statements.count).toBe(1);
  });

  it('orders calls that started at the same instant by id as numbers, also where the id gains a digit', async () => {
    const tied = await createOrg(db);
    const agent = await createAgent(db, tied.id, { name: 'Tied' });
    // Two calls with ids 10^k - 1 and 10^k: compared as text, 10^k would sort below 10^k - 1. 10^k is at least
    // ten times the ids used so far, and the sequence is moved past it first (only ever forward: other specs
    // insert at the same time), so no call of theirs can take either id.
    const { rows } = await sql<{ last: string }>`select last_value::text as last from calls_id_seq`.execute(db);
    const boundary = 10n ** BigInt(rows[0]!.last.length + 1);
    await sql`select setval('calls_id_seq', greatest((select last_value from calls_id_seq), ${String(boundary)}::int8))`.execute(db);
    const at = new Date(Date.UTC(2026, 5, 2));
    await sql`insert into calls (id, org_id, agent_id, direction, status, from_number, to_number, started_at)
      overriding system value
      values (${String(boundary - 1n)}::int8, ${tied.id}::int8, ${agent}::int8, 'outbound', 'completed', '+15550000001', '+15550000002', ${at}),
             (${String(boundary)}::int8, ${tied.id}::int8, ${agent}::int8, 'outbound', 'completed', '+15550000001', '+15550000002', ${at})`.execute(
      db,
    );
    const board = await runOperation(server, `{ agents(first: 1) { nodes { calls(first: 2) { nodes { id } } } } }`, {
      token: await server.tokenFor(tied),
    });
    expect(board.statements.count).toBe(1);
    const ids = (board.data.agents.nodes[0].calls.nodes as { id: string }[]).map((call) => localId(call.id));
    expect(ids).toEqual([String(boundary), String(boundary - 1n)]);
  });

  it('answers each agent’s calls exactly as reading them alone does, with a filter, cursors and page info', async () => {
    const filter = { status: ['COMPLETED'] };
    const { data, statements } = await run(
      `query Board($f: CallFilter) { agents(first: 10) { nodes { id name calls(first: 4, filter: $f) { ${CALLS_CONNECTION} } } } }`,
      { f: filter },
    );
    expect(statements.count).toBe(1);
    const agents = data.agents.nodes as BoardAgent[];
    expect(agents.map((agent) => agent.name)).toEqual(['Board Ada', 'Board Bo', 'Board Cy', 'Board Di', 'Board Ed']);
    for (const agent of agents) {
      expect(agent.calls).toEqual(await alone(localId(agent.id), 'first: 4', filter));
      for (const { node } of agent.calls.edges) expect(node.status).toBe('COMPLETED');
    }
  });

  it('answers every agent field as loading the agent by id does, and each call’s agent is its parent', async () => {
    const AGENT_FIELDS = `id name status provider providerAgentId language createdAt updatedAt`;
    const { data, statements } = await run(
      `{ agents(first: 10) { nodes { ${AGENT_FIELDS} calls(first: 3) { nodes { agent { ${AGENT_FIELDS} } } } } } }`,
    );
    expect(statements.count).toBe(1);
    const agents = data.agents.nodes as { id: string; calls: { nodes: { agent: unknown }[] } }[];
    const byId = await run(`query ById($ids: [ID!]!) { nodes(ids: $ids) { ... on Agent { ${AGENT_FIELDS} } } }`, {
      ids: agents.map((agent) => agent.id),
    });
    agents.forEach(({ calls, ...agent }, index) => {
      expect(agent).toEqual(byId.data.nodes[index]);
      for (const call of calls.nodes) expect(call.agent).toEqual(agent);
    });
  });

  it('reads only the agent columns its selection needs, and never lets those narrow rows answer a load by id', async () => {
    const AGENT_FIELDS = `id name status provider providerAgentId language createdAt updatedAt`;
    // The first agent's newest call books an appointment with that agent: reached again through it, the agent
    // is loaded by id after the board has run, so a narrow board row primed into the loader would answer it.
    const first = await run(`{ agents(first: 1) { nodes { id calls(first: 1) { nodes { id contact { id } } } } } }`);
    const agent = first.data.agents.nodes[0] as { id: string; calls: { nodes: { id: string; contact: { id: string } | null }[] } };
    const call = agent.calls.nodes[0]!;
    const contactId = call.contact ? localId(call.contact.id) : await createContact(db, org.id);
    await createAppointment(db, org.id, { contactId, callId: localId(call.id), agentId: localId(agent.id) });

    const { data, statements } = await run(`{
      agents(first: 1) { nodes { id name calls(first: 1) { nodes { id appointment { agent { ${AGENT_FIELDS} } } } } } }
    }`);
    const board = statements.statements!.find((statement) => statement.sql.includes('json_build_array'))!;
    expect(board.sql).not.toMatch(/"a"\."(language|created_at|provider)"/);
    const alone = await run(`query ById($id: ID!) { node(id: $id) { ... on Agent { ${AGENT_FIELDS} } } }`, { id: agent.id });
    expect(data.agents.nodes[0].calls.nodes[0].appointment.agent).toEqual(alone.data.node);
  });

  it('gives an agent without calls an empty page, and reads no calls for the agent past the page', async () => {
    const { data, statements } = await run(`{
      agents(first: 3) { pageInfo { hasNextPage } nodes { id calls(first: 5, orderBy: { direction: ASC }) { ${CALLS_CONNECTION} } } }
    }`);
    expect(statements.count).toBe(1);
    expect(data.agents.pageInfo.hasNextPage).toBe(true);
    const agents = data.agents.nodes as BoardAgent[];
    expect(agents.map((agent) => localId(agent.id))).toContain(quietAgent);
    for (const agent of agents) {
      expect(agent.calls).toEqual(await alone(localId(agent.id), 'first: 5, orderBy: { direction: ASC }'));
      if (localId(agent.id) === quietAgent) expect(agent.calls.edges).toEqual([]);
      else expect(agent.calls.pageInfo.hasNextPage).toBe(true);
    }
    // The statement cut the agents page at 3 (plus the look-ahead) and gates each agent's calls scan on its position.
    const sql = statements.statements![0]!.sql;
    expect(sql).toMatch(/a\.position <= \$\d+::int8/);
  });

  it('pages agents backward by cursor with the same answers', async () => {
    const forward = await run(`{ agents(first: 10) { edges { cursor node { id } } } }`);
    const cursor = forward.data.agents.edges[4].cursor as string;
    const { data, statements } = await run(
      `query Back($before: String!) { agents(last: 2, before: $before) { nodes { id calls(first: 3) { ${CALLS_CONNECTION} } } } }`,
      { before: cursor },
    );
    expect(statements.count).toBe(1);
    const ids = (data.agents.nodes as BoardAgent[]).map((agent) => agent.id);
    expect(ids).toEqual((forward.data.agents.edges as { node: { id: string } }[]).slice(2, 4).map((edge) => edge.node.id));
    for (const agent of data.agents.nodes as BoardAgent[]) expect(agent.calls).toEqual(await alone(localId(agent.id), 'first: 3'));
  });

  it('leaves nested calls paged by cursor or from the end to their own loader, with the same answers', async () => {
    const first = (await alone(localId((await run(`{ agents(first: 1) { nodes { id } } }`)).data.agents.nodes[0].id), 'first: 2')).edges;
    const after = first[1]!.cursor;
    for (const callsArgs of [`first: 3, after: "${after}"`, 'last: 2']) {
      const { data, statements } = await run(`{ agents(first: 10) { nodes { id calls(${callsArgs}) { ${CALLS_CONNECTION} } } } }`);
      // The agents page, then one batched statement for every agent's calls.
      expect(statements.count).toBe(2);
      for (const agent of data.agents.nodes as BoardAgent[]) expect(agent.calls).toEqual(await alone(localId(agent.id), callsArgs));
    }
  });

  it('fails a nested calls field with bad arguments at that field, as it would without a board', async () => {
    server.operations.length = 0;
    const response = await server.graphql(
      `{ agents(first: 2) { nodes { id calls(first: 5, filter: { contactId: "not-an-id" }) { nodes { id } } } } }`,
      {
        token,
      },
    );
    expect(response.status).toBe(200);
    const errors = response.body.errors!;
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errors[0]!.path).toEqual(['agents', 'nodes', 0, 'calls']);
  });

  it('reads only the caller organisation’s agents, calls and contacts', async () => {
    const { data, statements } = await run(`{ agents(first: 10) { nodes { name calls(first: 50) { nodes { agent { id } contact { id } } } } } }`);
    const agents = data.agents.nodes as { name: string; calls: { nodes: { agent: { id: string } }[] } }[];
    expect(agents.map((agent) => agent.name)).not.toContain('Board Aaa');
    expect(agents.reduce((sum, agent) => sum + agent.calls.nodes.length, 0)).toBe(60);
    for (const statement of statements.statements!) expect(statement.parameters).toContain(org.id);
  });
});
