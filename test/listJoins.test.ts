import { Kind, parse, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode } from 'graphql';
import type { Db } from '../src/db/database';
import { connectionNodeSelection } from '../src/graphql/selection';
import { callReadSpec } from '../src/resolvers/calls';
import { openTestDb } from './support/db';
import { createAgent, createAppointments, createCalls, createContact, createOrg, type TestOrg } from './support/factories';
import { runOperation, startTestServer, type TestServer } from './support/server';

/**
 * A list of calls that selects its agent and contact reads them in its own
 * statement (joined, then primed into the by-id loaders), and reads only the
 * call columns its selection needs. Same answers as loading each row by id.
 */

const CALL_SCALARS = `id direction status fromNumber toNumber startedAt endedAt durationSeconds cost sentiment outcome summary notes updatedAt hasRecording`;
const AGENT_FIELDS = `id name status provider providerAgentId language createdAt updatedAt`;
const CONTACT_FIELDS = `id name phone email leadScore tier status tags createdAt updatedAt lastContactedAt`;

describe('list reads: agent and contact joined into the calls statement', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let other: TestOrg;
  let token: string;
  let agents: string[];
  let contacts: string[];

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    [org, other] = await Promise.all([createOrg(db), createOrg(db)]);
    token = await server.tokenFor(org);
    agents = await Promise.all(Array.from({ length: 4 }, () => createAgent(db, org.id)));
    contacts = await Promise.all(Array.from({ length: 30 }, (_, i) => createContact(db, org.id, { leadScore: (i * 7) % 100 })));
    await createCalls(
      db,
      org.id,
      Array.from({ length: 80 }, (_, i) => ({
        agentId: agents[i % agents.length]!,
        // Every fifth call has no contact: the contact join must not drop it.
        contactId: i % 5 === 0 ? null : contacts[i % contacts.length]!,
        startedAt: new Date(Date.UTC(2026, 4, 1) + i * 3_600_000),
        summary: i % 2 === 0 ? `summary ${i}` : null,
        outcome: i % 3 === 0 ? null : 'interested',
        recordingKey: i % 4 === 0 ? `rec/${i}.wav` : null,
      })),
    );
    // Another organisation with rows of its own, interleaved in time with ours.
    const foreignAgent = await createAgent(db, other.id);
    const foreignContact = await createContact(db, other.id);
    await createCalls(
      db,
      other.id,
      Array.from({ length: 40 }, (_, i) => ({
        agentId: foreignAgent,
        contactId: foreignContact,
        startedAt: new Date(Date.UTC(2026, 4, 1) + i * 3_600_000 + 1000),
      })),
    );
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const run = (query: string, variables: Record<string, unknown> = {}) => runOperation(server, query, { token, variables });

  const callsPage = `query Page($n: Int!) {
    calls(first: $n) { edges { cursor node { id startedAt status hasRecording agent { id name } contact { id name phone } } } pageInfo { hasNextPage endCursor } }
  }`;

  it('runs one statement for a page with agent and contact, at 5 and at 50 rows', async () => {
    const small = await run(callsPage, { n: 5 });
    const large = await run(callsPage, { n: 50 });
    expect(small.data.calls.edges).toHaveLength(5);
    expect(large.data.calls.edges).toHaveLength(50);
    expect(large.statements.count).toBe(small.statements.count);
    expect(large.statements.count).toBeLessThanOrEqual(2);
    expect(large.statements.count).toBe(1);
  });

  it('answers every field of calls, agents and contacts exactly as loading each by id does', async () => {
    const listed = await run(`{
      calls(first: 50) { nodes { ${CALL_SCALARS} agent { ${AGENT_FIELDS} } contact { ${CONTACT_FIELDS} } } }
    }`);
    const nodes = listed.data.calls.nodes as { id: string; agent: { id: string }; contact: { id: string } | null }[];
    expect(nodes.filter((call) => call.contact === null).length).toBeGreaterThan(0);

    const byId = await run(
      `query ById($calls: [ID!]!, $agents: [ID!]!, $contacts: [ID!]!) {
        calls: nodes(ids: $calls) { ... on Call { ${CALL_SCALARS} } }
        agents: nodes(ids: $agents) { ... on Agent { ${AGENT_FIELDS} } }
        contacts: nodes(ids: $contacts) { ... on Contact { ${CONTACT_FIELDS} } }
      }`,
      {
        calls: nodes.map((call) => call.id),
        agents: nodes.map((call) => call.agent.id),
        contacts: nodes.flatMap((call) => (call.contact ? [call.contact.id] : [])),
      },
    );
    const loadedContacts = byId.data.contacts as { id: string }[];
    let contactIndex = 0;
    nodes.forEach((call, index) => {
      const { agent, contact, ...scalars } = call;
      expect(scalars).toEqual(byId.data.calls[index]);
      expect(agent).toEqual(byId.data.agents[index]);
      if (contact) expect(contact).toEqual(loadedContacts[contactIndex++]);
    });
  });

  it('reads of the joined agent and contact only the columns their own selections ask for', async () => {
    const { data, statements } = await run(`{ calls(first: 10) { nodes { agent { name } contact { name tier } } } }`);
    expect(data.calls.nodes).toHaveLength(10);
    expect(statements.count).toBe(1);
    const text = statements.statements![0]!.sql;
    for (const column of ['"a"."id"', '"a"."name"', '"ct"."id"', '"ct"."name"', '"ct"."lead_score"']) expect(text).toContain(column);
    for (const column of ['language', 'provider_agent_id', 'created_at', 'updated_at']) expect(text).not.toContain(`"a"."${column}"`);
    for (const column of ['email', 'phone', 'tags', 'created_at', 'last_contacted_at']) expect(text).not.toContain(`"ct"."${column}"`);
  });

  it('a row joined narrowly never answers another path to the same call, agent or contact in the operation', async () => {
    // Appointments reach their call, contact and agent through the by-id loaders, after the list has run:
    // a narrow joined row kept by those loaders would answer them with fields missing.
    const newest = await run(`{ calls(first: 3) { nodes { id } } }`);
    const callIds = (newest.data.calls.nodes as { id: string }[]).map((call) => Buffer.from(call.id, 'base64url').toString().split(':')[1]!);
    const rows = await db
      .selectFrom('calls')
      .select(['id', 'agent_id', 'contact_id'])
      .where('org_id', '=', org.id)
      .where('id', 'in', callIds)
      .execute();
    const withContact = rows.filter((row) => row.contact_id !== null);
    expect(withContact.length).toBeGreaterThan(0);
    await createAppointments(
      db,
      org.id,
      withContact.map((row) => ({ callId: row.id, contactId: row.contact_id!, agentId: row.agent_id })),
    );

    const { data } = await run(`{
      calls(first: 3) { nodes { ${CALL_SCALARS} agent { name } contact { name }
        appointment { call { ${CALL_SCALARS} agent { ${AGENT_FIELDS} } contact { ${CONTACT_FIELDS} } } agent { ${AGENT_FIELDS} } contact { ${CONTACT_FIELDS} } } } }
    }`);
    interface Whole {
      id: string;
      agent: Record<string, unknown>;
      contact: Record<string, unknown> | null;
    }
    const nodes = data.calls.nodes as (Whole & {
      appointment: { call: Whole; agent: Record<string, unknown>; contact: Record<string, unknown> } | null;
    })[];
    const booked = nodes.filter((call) => call.appointment);
    expect(booked).toHaveLength(withContact.length);
    const byId = await run(
      `query ById($calls: [ID!]!) { nodes(ids: $calls) { ... on Call { ${CALL_SCALARS} agent { ${AGENT_FIELDS} } contact { ${CONTACT_FIELDS} } } } }`,
      { calls: booked.map((call) => call.id) },
    );
    booked.forEach((call, index) => {
      const loaded = byId.data.nodes[index] as Whole;
      expect(call.appointment!.call).toEqual(loaded);
      expect(call.appointment!.agent).toEqual(loaded.agent);
      expect(call.appointment!.contact).toEqual(loaded.contact);
      expect(call.contact).toEqual({ name: loaded.contact!.name });
    });
  });

  it('joins only rows of the caller organisation', async () => {
    const { data, statements } = await run(`{ calls(first: 100) { nodes { agent { id } contact { id } } } }`);
    const ownAgents = new Set(agents.map((id) => Buffer.from(`Agent:${id}`).toString('base64url')));
    const ownContacts = new Set(contacts.map((id) => Buffer.from(`Contact:${id}`).toString('base64url')));
    const nodes = data.calls.nodes as { agent: { id: string }; contact: { id: string } | null }[];
    expect(nodes).toHaveLength(80);
    for (const call of nodes) {
      expect(ownAgents.has(call.agent.id)).toBe(true);
      if (call.contact) expect(ownContacts.has(call.contact.id)).toBe(true);
    }
    for (const statement of statements.statements!) expect(statement.parameters).toContain(org.id);
  });

  it('still joins through fragments, inline fragments and aliases', async () => {
    const { data, statements } = await run(`
      query Fragments {
        calls(first: 10) { edges { node { ...CallCard } } }
      }
      fragment CallCard on Call {
        id
        ... on Call { who: agent { ...AgentName } }
        contact { ...on Contact { label: name } }
        again: agent { id }
      }
      fragment AgentName on Agent { name }`);
    const edges = data.calls.edges as { node: { who: { name: string }; again: { id: string }; contact: { label: string } | null } }[];
    expect(edges).toHaveLength(10);
    for (const { node } of edges) {
      expect(typeof node.who.name).toBe('string');
      expect(typeof node.again.id).toBe('string');
      if (node.contact) expect(typeof node.contact.label).toBe('string');
    }
    expect(statements.count).toBe(1);
  });

  it('runs the count only when totalCount is selected', async () => {
    const without = await run(`{ calls(first: 5) { nodes { id } } }`);
    const withCount = await run(`{ calls(first: 5) { totalCount nodes { id } } }`);
    expect(without.statements.count).toBe(1);
    expect(withCount.statements.count).toBe(2);
    expect(withCount.data.calls.totalCount).toBe(80);
  });

  it('an agents board with each agent’s calls and their contacts runs one statement, whatever the page sizes', async () => {
    const board = `query Board($a: Int!, $c: Int!) {
      agents(first: $a) { nodes { id name calls(first: $c) { nodes { id startedAt status contact { id name } } } } }
    }`;
    const small = await run(board, { a: 2, c: 2 });
    const large = await run(board, { a: 4, c: 15 });
    expect(large.data.agents.nodes).toHaveLength(4);
    for (const agent of large.data.agents.nodes as { calls: { nodes: unknown[] } }[]) expect(agent.calls.nodes).toHaveLength(15);
    expect(small.statements.count).toBe(1);
    expect(large.statements.count).toBe(1);
  });

  it('reads the look-ahead row only when the operation asks whether more rows follow', async () => {
    // The LIMIT is the statement's only number parameter.
    const limits = (statements: { statements?: { parameters: readonly unknown[] }[] }) =>
      statements.statements!.flatMap((statement) => statement.parameters.filter((value) => typeof value === 'number'));

    const bare = await run(`{ calls(first: 5) { nodes { id } } }`);
    expect(bare.data.calls.nodes).toHaveLength(5);
    expect(limits(bare.statements)).toEqual([5]);
    const asking = await run(`{ calls(first: 5) { pageInfo { hasNextPage } nodes { id } } }`);
    expect(asking.data.calls.pageInfo.hasNextPage).toBe(true);
    expect(limits(asking.statements)).toEqual([6]);
    // Through a fragment, and at the exact end of the list (the organisation has 80 calls).
    const fragment = `fragment More on CallConnection { pageInfo { ... on PageInfo { hasNextPage } } }`;
    expect((await run(`{ calls(first: 80) { ...More } } ${fragment}`)).data.calls.pageInfo.hasNextPage).toBe(false);
    expect((await run(`{ calls(first: 79) { ...More } } ${fragment}`)).data.calls.pageInfo.hasNextPage).toBe(true);
    // A cursor alone needs no look-ahead.
    expect(limits((await run(`{ calls(first: 5) { pageInfo { endCursor } } }`)).statements)).toEqual([5]);

    // The board: neither the agents nor their calls look ahead unless asked, and each answers when asked.
    const board = await run(`{ agents(first: 2) { nodes { calls(first: 3) { nodes { id } } } } }`);
    expect(limits(board.statements)).toEqual(expect.arrayContaining([2, 3]));
    expect(limits(board.statements)).not.toContain(4);
    const asked = await run(`{ agents(first: 2) { pageInfo { hasNextPage } nodes { calls(first: 3) { pageInfo { hasNextPage } nodes { id } } } } }`);
    expect(asked.data.agents.pageInfo.hasNextPage).toBe(true);
    for (const agent of asked.data.agents.nodes as { calls: { pageInfo: { hasNextPage: boolean } } }[]) {
      expect(agent.calls.pageInfo.hasNextPage).toBe(true);
    }
    // Two fields on one agent, one asking and one not, do not share a page.
    const both = await run(`{ agents(first: 1) { nodes { a: calls(first: 3) { nodes { id } } b: calls(first: 3) { pageInfo { hasNextPage } } } } }`);
    expect(both.data.agents.nodes[0].a.nodes).toHaveLength(3);
    expect(both.data.agents.nodes[0].b.pageInfo.hasNextPage).toBe(true);
  });

  it('a backward page keeps its order with the joins', async () => {
    const forward = await run(`{ calls(first: 20) { nodes { id contact { name } } } }`);
    const last = forward.data.calls.nodes[19].id as string;
    const cursorPage = await run(`{ calls(first: 20) { edges { cursor node { id } } } }`);
    const cursor = cursorPage.data.calls.edges[19].cursor as string;
    const backward = await run(`query Back($before: String!) { calls(last: 5, before: $before) { nodes { id agent { id } contact { name } } } }`, {
      before: cursor,
    });
    const ids = (forward.data.calls.nodes as { id: string }[]).slice(14, 19).map((call) => call.id);
    expect((backward.data.calls.nodes as { id: string }[]).map((call) => call.id)).toEqual(ids);
    expect(ids).not.toContain(last);
  });
});

describe('connection node selection', () => {
  function selectionOf(document: string) {
    const parsed = parse(document);
    const operation = parsed.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    const fragments = Object.fromEntries(
      parsed.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
    );
    const field = operation.selectionSet.selections[0] as FieldNode;
    return connectionNodeSelection([field], fragments);
  }

  it('reads fields under nodes and edges.node, with aliases folded', () => {
    const { fields } = selectionOf(`{ calls { totalCount nodes { id a: agent { id } } edges { cursor node { status } } } }`);
    expect([...fields].sort()).toEqual(['agent', 'id', 'status']);
  });

  it('follows fragment spreads and inline fragments at every level', () => {
    const { fields } = selectionOf(`
      { calls { ...Conn } }
      fragment Conn on CallConnection { edges { ... on CallEdge { node { ...Card } } } }
      fragment Card on Call { contact { name } ... { outcome } }`);
    expect([...fields].sort()).toEqual(['contact', 'outcome']);
  });

  it('is empty when no node field is selected', () => {
    expect(selectionOf(`{ calls { totalCount pageInfo { hasNextPage } } }`).fields.size).toBe(0);
  });

  it('turns into the columns and joins a calls statement needs, joined rows narrowed to their own selection', () => {
    expect(callReadSpec(selectionOf(`{ calls { nodes { id status agent { name } hasRecording } } }`))).toEqual({
      columns: ['id', 'agent_id', 'status', 'recording_key'],
      agent: ['id', 'name'],
      contact: null,
    });
    expect(callReadSpec(selectionOf(`{ calls { nodes { contact { ...C tier } } } } fragment C on Contact { phone calls { totalCount } }`))).toEqual({
      columns: ['id', 'contact_id'],
      agent: null,
      contact: ['id', 'phone', 'lead_score'],
    });
    // A field no resolver reads a column for still gets the identity and the cursor's sort key.
    expect(callReadSpec(selectionOf(`{ calls { nodes { __typename metadata } } }`))).toEqual({ columns: ['id'], agent: null, contact: null });
  });
});
