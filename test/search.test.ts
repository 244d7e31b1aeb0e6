import { sql } from 'kysely';
import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { openTestDb } from './support/db';
import { createAgent, createAppointment, createCall, createContact, createOrg, createTranscript, type TestOrg } from './support/factories';
import { startTestServer, type GraphQLResponse, type TestServer } from './support/server';
import { RELEVANCE_WINDOW } from '../src/queries/calls';

/**
 * Finding calls: by words in the transcript or the summary (ranked, with
 * highlighted passages), by part of a phone number, by the contact; and by the
 * dashboard's filters. Always within the caller's organisation.
 */

interface Edge {
  cursor: string;
  highlight: string | null;
  node: { id: string };
}
interface CallsData {
  calls: { totalCount: number; edges: Edge[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

function expectBadUserInput(response: GraphQLResponse, argument: string): void {
  const errors = response.body.errors ?? [];
  expect(errors).toHaveLength(1);
  expect(errors[0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument });
  expect(errors[0]!.message).not.toMatch(/select|tsquery|syntax/i);
}

describe('call search and filters', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let other: TestOrg;
  let token: string;
  /** Global ids of the fixture calls, by name. */
  const call: Record<string, string> = {};
  let agentA = '';
  let agentB = '';

  async function setNumbers(orgId: string, id: string, from: string, to: string): Promise<void> {
    await sql`update calls set from_number = ${from}, to_number = ${to} where org_id = ${orgId}::int8 and id = ${id}::int8`.execute(db);
  }

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    [org, other] = [await createOrg(db), await createOrg(db)];
    token = await server.tokenFor(org, 'viewer');
    const a = await createAgent(db, org.id);
    const b = await createAgent(db, org.id);
    agentA = toGlobalId('Agent', a);
    agentB = toGlobalId('Agent', b);
    const maria = await createContact(db, org.id, { name: 'Maria Lopez' });
    await sql`update contacts set tags = '{vip,spanish}' where org_id = ${org.id}::int8 and id = ${maria}::int8`.execute(db);
    const john = await createContact(db, org.id, { name: 'John Smith' });

    const dental = await createCall(db, org.id, {
      agentId: a,
      contactId: john,
      durationSeconds: 300,
      cost: 0.5,
      sentiment: 'positive',
      summary: 'Booked a dental cleaning',
      startedAt: new Date(Date.UTC(2026, 2, 1, 9)),
    });
    await createTranscript(db, org.id, dental, 'Hello, I would like to book a dental appointment for Tuesday <script>alert(1)</script>.');
    await setNumbers(org.id, dental, '+14155550123', '+12125550100');
    await createAppointment(db, org.id, { contactId: john, callId: dental, agentId: a });

    const optOut = await createCall(db, org.id, {
      agentId: b,
      durationSeconds: 20,
      cost: 0.05,
      sentiment: 'negative',
      startedAt: new Date(Date.UTC(2026, 2, 1, 10)),
    });
    await createTranscript(db, org.id, optOut, 'Please remove me from your list.');
    await setNumbers(org.id, optOut, '+12125550100', '+13105559876');

    const pricing = await createCall(db, org.id, {
      agentId: b,
      contactId: maria,
      durationSeconds: 90,
      cost: 0.2,
      summary: 'Customer asked about pricing for the premium plan',
      startedAt: new Date(Date.UTC(2026, 2, 1, 11)),
    });
    await setNumbers(org.id, pricing, '+442071234567', '+12125550100');

    const confirm = await createCall(db, org.id, {
      agentId: a,
      contactId: maria,
      durationSeconds: 60,
      cost: 0.1,
      startedAt: new Date(Date.UTC(2026, 2, 1, 12)),
    });
    await createTranscript(db, org.id, confirm, 'Appointment confirmed. Your appointment is on Monday, appointment number seven.');
    await setNumbers(org.id, confirm, '+12125550100', '+16175550199');

    Object.assign(call, {
      dental: toGlobalId('Call', dental),
      optOut: toGlobalId('Call', optOut),
      pricing: toGlobalId('Call', pricing),
      confirm: toGlobalId('Call', confirm),
    });

    // Another organisation with the same words and numbers: never found.
    const theirAgent = await createAgent(db, other.id);
    const theirContact = await createContact(db, other.id, { name: 'Maria Lopez' });
    const theirs = await createCall(db, other.id, { agentId: theirAgent, contactId: theirContact, summary: 'dental premium plan appointment' });
    await createTranscript(db, other.id, theirs, 'dental appointment appointment pricing');
    await setNumbers(other.id, theirs, '+14155550123', '+16175550199');
    call.theirs = toGlobalId('Call', theirs);
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  async function ids(filter: string, extra = ''): Promise<string[]> {
    const response = await server.graphql<CallsData>(`{ calls(first: 50, filter: ${filter}${extra}) { edges { node { id } } } }`, { token });
    expect(response.body.errors).toBeUndefined();
    return response.body.data!.calls.edges.map((edge) => edge.node.id);
  }
  const sorted = (list: string[]) => [...list].sort();

  describe('by words', () => {
    it('finds words in the transcript and in the summary, each word as a prefix', async () => {
      expect(await ids('{ search: "dental" }')).toEqual([call.dental]);
      expect(await ids('{ search: "premium plan" }')).toEqual([call.pricing]);
      expect(await ids('{ search: "REMOVE me" }')).toEqual([call.optOut]);
      expect(sorted(await ids('{ search: "appoint" }'))).toEqual(sorted([call.dental!, call.confirm!]));
      expect(await ids('{ search: "premium dental" }')).toEqual([]);
    });

    it('ranks the better match first, and pages through the ranking without gaps', async () => {
      expect(await ids('{ search: "appointment" }')).toEqual([call.confirm, call.dental]);
      const seen: string[] = [];
      let after: string | null = null;
      for (let i = 0; i < 5; i++) {
        const response: GraphQLResponse<CallsData> = await server.graphql<CallsData>(
          `query($after: String) { calls(first: 1, after: $after, filter: { search: "appointment" }) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
          { token, variables: { after } },
        );
        expect(response.body.errors).toBeUndefined();
        expect(response.body.data!.calls.totalCount).toBe(2);
        seen.push(...response.body.data!.calls.edges.map((edge) => edge.node.id));
        if (!response.body.data!.calls.pageInfo.hasNextPage) break;
        after = response.body.data!.calls.pageInfo.endCursor;
      }
      expect(seen).toEqual([call.confirm, call.dental]);
    });

    it('sorts a search by any other order when asked', async () => {
      expect(await ids('{ search: "appointment" }', ', orderBy: { field: DURATION, direction: DESC }')).toEqual([call.dental, call.confirm]);
    });

    it('finds the contact by name from three characters', async () => {
      expect(sorted(await ids('{ search: "maria" }'))).toEqual(sorted([call.pricing!, call.confirm!]));
      expect(sorted(await ids('{ search: "Maria Lopez" }'))).toEqual(sorted([call.pricing!, call.confirm!]));
    });

    it('highlights the matching passage, HTML-escaped, only when asked', async () => {
      const response = await server.graphql<CallsData>(`{ calls(first: 5, filter: { search: "dental" }) { edges { highlight node { id } } } }`, {
        token,
      });
      expect(response.body.errors).toBeUndefined();
      const [edge] = response.body.data!.calls.edges;
      expect(edge!.highlight).toContain('<mark>dental</mark>');
      expect(edge!.highlight).toContain('&lt;script&gt;');
      expect(edge!.highlight).not.toContain('<script>');
      const summaryOnly = await server.graphql<CallsData>(`{ calls(first: 5, filter: { search: "premium" }) { edges { highlight } } }`, { token });
      expect(summaryOnly.body.data!.calls.edges[0]!.highlight).toBe('Customer asked about pricing for the <mark>premium</mark> plan');
      const unsearched = await server.graphql<CallsData>(`{ calls(first: 1) { edges { highlight } } }`, { token });
      expect(unsearched.body.data!.calls.edges[0]!.highlight).toBeNull();
    });
  });

  describe('by number', () => {
    it('finds any part of the from or to number, digits only, however it is typed', async () => {
      expect(await ids('{ search: "4155550123" }')).toEqual([call.dental]);
      expect(await ids('{ search: "(415) 555" }')).toEqual([call.dental]);
      expect(sorted(await ids('{ search: "555-01" }'))).toEqual(sorted([call.dental!, call.optOut!, call.pricing!, call.confirm!]));
      expect(await ids('{ search: "+44 20 7123" }')).toEqual([call.pricing]);
      expect(await ids('{ search: "9876" }')).toEqual([call.optOut]);
    });
  });

  it("never finds another organisation's calls, whatever the search", async () => {
    for (const search of ['dental', 'appointment', 'maria', '4155550123', '6175550199', 'pricing']) {
      expect(await ids(`{ search: "${search}" }`)).not.toContain(call.theirs);
    }
  });

  it.each([
    ['', 'empty'],
    ['a', 'one character'],
    ['  b  ', 'one character between spaces'],
    ['!?', 'no letter or digit'],
    ['x'.repeat(201), 'over 200 characters'],
  ])('a search of %j (%s) is BAD_USER_INPUT', async (search) => {
    expectBadUserInput(
      await server.graphql(`query($s: String) { calls(filter: { search: $s }) { totalCount } }`, { token, variables: { s: search } }),
      'filter.search',
    );
  });

  describe('filters', () => {
    it.each([
      ['{ durationMin: 60, durationMax: 100 }', ['pricing', 'confirm']],
      ['{ durationMin: 300 }', ['dental']],
      ['{ costMin: 0.1, costMax: 0.2 }', ['pricing', 'confirm']],
      ['{ costMax: 0.05 }', ['optOut']],
      ['{ hasTranscript: true }', ['dental', 'optOut', 'confirm']],
      ['{ hasTranscript: false }', ['pricing']],
      ['{ hasAppointment: true }', ['dental']],
      ['{ hasAppointment: false }', ['optOut', 'pricing', 'confirm']],
      ['{ sentiment: [NEGATIVE] }', ['optOut']],
      ['{ contactTag: "vip" }', ['pricing', 'confirm']],
      ['{ contactTag: "vi" }', []],
      ['{ hasTranscript: true, search: "appointment", durationMax: 100 }', ['confirm']],
    ])('%s', async (filter, expected) => {
      expect(sorted(await ids(filter))).toEqual(sorted(expected.map((name) => call[name]!)));
    });

    it('agentIds matches any of the agents', async () => {
      expect(sorted(await ids(`{ agentIds: ["${agentA}"] }`))).toEqual(sorted([call.dental!, call.confirm!]));
      expect(await ids(`{ agentIds: ["${agentA}", "${agentB}"] }`)).toHaveLength(4);
      expect(await ids('{ agentIds: [] }')).toEqual([]);
    });

    it('an empty range or a malformed agent id is BAD_USER_INPUT', async () => {
      expectBadUserInput(
        await server.graphql(`{ calls(filter: { durationMin: 10, durationMax: 5 }) { totalCount } }`, { token }),
        'filter.durationMin',
      );
      expectBadUserInput(await server.graphql(`{ calls(filter: { costMin: 1, costMax: 0.5 }) { totalCount } }`, { token }), 'filter.costMin');
      expectBadUserInput(await server.graphql(`{ calls(filter: { agentIds: ["nope"] }) { totalCount } }`, { token }), 'filter.agentIds');
    });

    it("an agent's nested calls take the same search and filters", async () => {
      const response = await server.graphql<{ agent: { calls: { nodes: { id: string }[] } } }>(
        `{ agent(id: "${agentA}") { calls(first: 10, filter: { search: "appointment", hasAppointment: false }) { nodes { id } } } }`,
        { token },
      );
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data!.agent.calls.nodes.map((node) => node.id)).toEqual([call.confirm]);
    });
  });
});

describe('relevance over the newest matches', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;
  // More matches than the window holds.
  const MATCHES = RELEVANCE_WINDOW + 200;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    token = await server.tokenFor(org, 'viewer');
    const agent = await createAgent(db, org.id);
    // One statement for all of them: a word in every transcript, so every call matches.
    await sql`with made as (
        insert into calls (org_id, agent_id, direction, status, from_number, to_number, started_at, duration_seconds, cost)
        select ${org.id}::int8, ${agent}::int8, 'inbound', 'completed', '+15550000001', '+15550000002',
               timestamptz '2026-01-01' + n * interval '1 minute', 60, 0.1
        from generate_series(1, ${MATCHES}) n returning id)
      insert into call_transcripts (org_id, call_id, text) select ${org.id}::int8, id, 'hello, everyone says hello' from made`.execute(db);
    // What autovacuum would have done by now: the planner knows the word is in every transcript.
    await sql`analyze calls, call_transcripts`.execute(db);
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  it(`pages through exactly the newest ${RELEVANCE_WINDOW} by relevance; other orders and totalCount cover every match`, async () => {
    let seen = 0;
    let after: string | null = null;
    let totalCount = 0;
    for (;;) {
      const response = await server.graphql(
        `query($after: String) { calls(first: 100, after: $after, filter: { search: "hello" }) {
          totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
        { token, variables: { after } },
      );
      expect(response.body.errors).toBeUndefined();
      const { calls } = response.body.data as CallsData;
      seen += calls.edges.length;
      totalCount = calls.totalCount;
      if (!calls.pageInfo.hasNextPage) break;
      after = calls.pageInfo.endCursor;
    }
    expect(seen).toBe(RELEVANCE_WINDOW);
    expect(totalCount).toBe(MATCHES);
    const oldest = await server.graphql(
      `{ calls(first: 1, filter: { search: "hello" }, orderBy: { field: STARTED_AT, direction: ASC }) {
      nodes { startedAt } } }`,
      { token },
    );
    expect(oldest.body.data).toEqual({ calls: { nodes: [{ startedAt: '2026-01-01T00:01:00.000Z' }] } });
  });
});
