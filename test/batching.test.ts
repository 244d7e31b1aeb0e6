import type { Db } from '../src/db/database';
import { openTestDb } from './support/db';
import { createAgent, createAppointment, createCalls, createContact, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';

/**
 * The heart of "fast by construction": the number of SQL statements an
 * operation issues depends on its shape, never on how many rows it returns.
 */
describe('batching: statements per operation do not grow with page size', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    token = await server.tokenFor(org);
    const agents = await Promise.all(Array.from({ length: 12 }, () => createAgent(db, org.id)));
    const contacts = await Promise.all(Array.from({ length: 150 }, () => createContact(db, org.id)));
    const calls = await createCalls(
      db,
      org.id,
      Array.from({ length: 600 }, (_, i) => ({
        agentId: agents[i % agents.length]!,
        contactId: contacts[i % contacts.length]!,
        startedAt: new Date(Date.UTC(2026, 5, 1) + i * 3_600_000),
      })),
    );
    await createAppointment(db, org.id, { contactId: contacts[0]!, callId: calls[0]!, agentId: agents[0]! });
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const deepOperation = `
    query Deep($n: Int!, $m: Int!) {
      calls(first: $n) {
        totalCount
        edges {
          cursor
          node {
            id status hasRecording
            agent { id name calls(first: $m) { totalCount nodes { id contact { id name } } } phoneNumbers { number } }
            contact { id name lastCall { id startedAt } appointments { id } }
            appointment { id value }
          }
        }
      }
    }`;

  async function statementsFor(n: number, m: number): Promise<number> {
    server.operations.length = 0;
    const response = await server.graphql(deepOperation, { token, variables: { n, m } });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.calls.edges).toHaveLength(n);
    expect(server.operations).toHaveLength(1);
    return server.operations[0]!.statements.count;
  }

  it('a deep dashboard operation issues the same number of statements for 5 and for 100 calls', async () => {
    const small = await statementsFor(5, 3);
    const large = await statementsFor(100, 10);
    expect(large).toBe(small);
    // root page (its agents and contacts joined), root count, agent call pages
    // (their contacts joined), agent call counts, phone numbers, last calls,
    // appointments by contact, appointments by call.
    expect(large).toBe(8);
  });

  it('every statement of a request is scoped to the caller organisation', async () => {
    await statementsFor(20, 5);
    const { statements } = server.operations[0]!;
    expect(statements.statements!.length).toBeGreaterThan(0);
    for (const statement of statements.statements!) {
      expect(statement.parameters).toContain(org.id);
    }
  });

  it('nested connections with different arguments batch per argument shape', async () => {
    server.operations.length = 0;
    const response = await server.graphql(
      `{ agents(first: 12) { nodes { recent: calls(first: 2) { nodes { id } } older: calls(first: 2, orderBy: { direction: ASC }) { nodes { id } } } } }`,
      { token },
    );
    expect(response.body.errors).toBeUndefined();
    const agents = response.body.data.agents.nodes as { recent: { nodes: unknown[] }; older: { nodes: unknown[] } }[];
    expect(agents).toHaveLength(12);
    for (const agent of agents) {
      expect(agent.recent.nodes).toHaveLength(2);
      expect(agent.older.nodes).toHaveLength(2);
    }
    // agents page + one statement per distinct calls(...) shape
    expect(server.operations[0]!.statements.count).toBe(3);
  });
});
