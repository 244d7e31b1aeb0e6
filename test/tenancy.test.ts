import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../src/db/database';
import { tenantScope } from '../src/db/tenant';
import { toGlobalId, type NodeType } from '../src/graphql/globalId';
import { createLoaders, type Loaders } from '../src/loaders';
import { callPageRequest } from '../src/loaders/callPages';
import { AGENT_COLUMNS } from '../src/queries/agents';
import { WHOLE_CALL_ROWS } from '../src/queries/calls';
import { CONTACT_LIST_COLUMNS } from '../src/queries/contacts';
import { openTestDb } from './support/db';
import {
  createAgent,
  createAppointment,
  createCall,
  createCalls,
  createContact,
  createOrg,
  createPhoneNumber,
  createTranscript,
  type TestOrg,
} from './support/factories';
import { startTestServer, type GraphQLResponse, type TestServer } from './support/server';

/**
 * Tenant isolation: an id that belongs to another organisation behaves exactly
 * like an id that does not exist — same body, same shape, same work.
 */
describe('tenancy: another organisation is indistinguishable from nothing', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let orgA: TestOrg;
  let orgB: TestOrg;
  let tokenA: string;
  let tokenB: string;
  /** Global ids as each organisation's own token sees them. */
  const ids = { A: {} as Record<NodeType, string>, B: {} as Record<NodeType, string> };
  let callIdsA: string[];
  let callIdsB: string[];
  const missing = (type: NodeType) => toGlobalId(type, '987654321987');

  async function seed(org: TestOrg, label: string, offsetMinutes: number): Promise<string[]> {
    const agent = await createAgent(db, org.id, { name: `${label} agent` });
    await createPhoneNumber(db, org.id, agent);
    const contact = await createContact(db, org.id, { name: `${label} contact` });
    const calls = await createCalls(
      db,
      org.id,
      Array.from({ length: 6 }, (_, i) => ({
        agentId: agent,
        contactId: contact,
        // Interleaved in time with the other organisation's calls.
        startedAt: new Date(Date.UTC(2026, 2, 1) + (i * 10 + offsetMinutes) * 60_000),
        recordingKey: i === 0 ? `orgs/${org.id}/recordings/${label}.wav` : null,
        summary: `${label} summary ${i}`,
      })),
    );
    await createTranscript(db, org.id, calls[0]!, `${label} transcript`);
    await createAppointment(db, org.id, { contactId: contact, callId: calls[0]!, agentId: agent });
    return calls;
  }

  /** The org's own view of its ids, fetched through the API like a client would. */
  async function globalIds(token: string): Promise<Record<NodeType, string>> {
    const response = await server.graphql(
      `{ viewer { organisation { id } user { id } }
         calls(first: 1, orderBy: { direction: ASC }) { nodes { id agent { id phoneNumbers { id } } contact { id } appointment { id } } } }`,
      { token },
    );
    expect(response.body.errors).toBeUndefined();
    const call = response.body.data.calls.nodes[0];
    return {
      Organisation: response.body.data.viewer.organisation.id,
      User: response.body.data.viewer.user.id,
      Call: call.id,
      Agent: call.agent.id,
      PhoneNumberAssignment: call.agent.phoneNumbers[0].id,
      Contact: call.contact.id,
      Appointment: call.appointment.id,
    };
  }

  /** The whole body minus wall-clock timing, which differs between any two requests. */
  function comparable(response: GraphQLResponse): unknown {
    const body = structuredClone(response.body) as GraphQLResponse['body'] & { extensions?: { sql?: { durationMs?: number } } };
    delete body.extensions?.sql?.durationMs;
    return { status: response.status, body };
  }

  async function sameAsMissing(query: string, foreign: Record<string, unknown>, absent: Record<string, unknown>) {
    const probe = await server.graphql(query, { token: tokenA, variables: foreign });
    const control = await server.graphql(query, { token: tokenA, variables: absent });
    expect(comparable(probe)).toEqual(comparable(control));
    return probe;
  }

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    [orgA, orgB] = await Promise.all([createOrg(db), createOrg(db)]);
    [tokenA, tokenB] = await Promise.all([server.tokenFor(orgA!), server.tokenFor(orgB!)]);
    callIdsA = await seed(orgA, 'alpha', 0);
    callIdsB = await seed(orgB, 'bravo', 5);
    ids.A = await globalIds(tokenA);
    ids.B = await globalIds(tokenB);
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const CALL_QUERY = `query ($id: ID!) { call(id: $id) { id summary recordingUrl hasRecording transcript { text } agent { id } contact { id } appointment { id } metadata } }`;

  it("call(id) with another organisation's call id returns exactly what a nonexistent id returns", async () => {
    const probe = await sameAsMissing(CALL_QUERY, { id: ids.B.Call }, { id: missing('Call') });
    expect(probe.body.data).toEqual({ call: null });
    // Control: the same query with A's own id does find it.
    const own = await server.graphql(CALL_QUERY, { token: tokenA, variables: { id: ids.A.Call } });
    expect(own.body.data.call.transcript.text).toBe('alpha transcript');
  });

  it("agent(id) and contact(id) with another organisation's ids return exactly what nonexistent ids return", async () => {
    const agent = await sameAsMissing(
      `query ($id: ID!) { agent(id: $id) { id name phoneNumbers { id } calls { totalCount } } }`,
      { id: ids.B.Agent },
      { id: missing('Agent') },
    );
    expect(agent.body.data).toEqual({ agent: null });
    const contact = await sameAsMissing(
      `query ($id: ID!) { contact(id: $id) { id name appointments { id } lastCall { id } calls { totalCount } } }`,
      { id: ids.B.Contact },
      { id: missing('Contact') },
    );
    expect(contact.body.data).toEqual({ contact: null });
  });

  it.each(['Call', 'Agent', 'Contact', 'Appointment', 'PhoneNumberAssignment', 'Organisation', 'User'] as const)(
    "node(id) with another organisation's %s id returns exactly what a nonexistent id returns",
    async (type) => {
      const query = `query ($id: ID!) { node(id: $id) { id __typename } }`;
      const probe = await sameAsMissing(query, { id: ids.B[type] }, { id: missing(type) });
      expect(probe.body.data).toEqual({ node: null });
      const own = await server.graphql(query, { token: tokenA, variables: { id: ids.A[type] } });
      expect(own.body.data.node).toEqual({ id: ids.A[type], __typename: type });
    },
  );

  it("nodes(ids) returns null in place of each of another organisation's ids, exactly as for nonexistent ids", async () => {
    const types = ['Call', 'Agent', 'Contact', 'Appointment', 'PhoneNumberAssignment', 'Organisation', 'User'] as const;
    const query = `query ($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }`;
    const mixed = types.flatMap((type) => [ids.A[type], ids.B[type]]);
    const control = types.flatMap((type) => [ids.A[type], missing(type)]);
    const probe = await sameAsMissing(query, { ids: mixed }, { ids: control });
    expect(probe.body.data.nodes).toEqual(types.flatMap((type) => [{ id: ids.A[type], __typename: type }, null]));
  });

  it("filtering calls by another organisation's agent or contact yields an empty list, as for a nonexistent one", async () => {
    const query = `query ($filter: CallFilter) { calls(filter: $filter) { totalCount edges { node { id } } pageInfo { hasNextPage } } }`;
    const byAgent = await sameAsMissing(query, { filter: { agentId: ids.B.Agent } }, { filter: { agentId: missing('Agent') } });
    expect(byAgent.body.data.calls).toEqual({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false } });
    const byContact = await sameAsMissing(query, { filter: { contactId: ids.B.Contact } }, { filter: { contactId: missing('Contact') } });
    expect(byContact.body.data.calls.totalCount).toBe(0);
    expect(byContact.body.data.calls.edges).toEqual([]);
  });

  it("a cursor obtained by another organisation only positions within the caller's own calls", async () => {
    const fromB = await server.graphql(`{ calls(first: 2) { pageInfo { endCursor } } }`, { token: tokenB });
    const cursor = fromB.body.data.calls.pageInfo.endCursor as string;
    expect(cursor).toEqual(expect.any(String));
    const page = await server.graphql(`query ($after: String) { calls(first: 50, after: $after) { nodes { id summary } } }`, {
      token: tokenA,
      variables: { after: cursor },
    });
    expect(page.body.errors).toBeUndefined();
    const nodes = page.body.data.calls.nodes as { id: string; summary: string }[];
    expect(nodes.length).toBeGreaterThan(0); // B's calls interleave A's, so A has rows past the position
    for (const node of nodes) expect(node.summary).toMatch(/^alpha /);
  });

  it("another organisation's ids and data never appear anywhere in the caller's results", async () => {
    const broad = [
      `{ calls(first: 100) { nodes { id summary transcript { text } agent { id calls(first: 100) { nodes { id } } } contact { id lastCall { id } } appointment { id call { id } } } } }`,
      `{ agents(first: 100) { nodes { id name phoneNumbers { id agent { id } } calls(first: 100) { nodes { id } } } } }`,
      `{ contacts(first: 100) { nodes { id name lastCall { id } appointments { id call { id } agent { id } } calls(first: 100) { nodes { id } } } } }`,
      `{ contacts(search: "bravo") { totalCount nodes { id } } }`,
      `{ calls(first: 100, orderBy: { direction: ASC }, filter: { hasRecording: true }) { totalCount nodes { id hasRecording } } }`,
    ];
    const seen: string[] = [];
    for (const query of broad) {
      const response = await server.graphql(query, { token: tokenA });
      expect(response.body.errors).toBeUndefined();
      seen.push(JSON.stringify(response.body));
    }
    const text = seen.join('\n');
    expect(text).toContain(ids.A.Call);
    for (const foreign of Object.values(ids.B)) expect(text).not.toContain(foreign);
    for (const callId of callIdsB) expect(text).not.toContain(toGlobalId('Call', callId));
    expect(text).not.toContain('bravo');
    // And everything of A's is there: all six of its calls.
    for (const callId of callIdsA) expect(text).toContain(toGlobalId('Call', callId));
  });

  it("every SQL statement of every operation is bound to the caller's organisation id", async () => {
    const operations = [
      `{ viewer { user { id } organisation { id slug } role } }`,
      `{ calls(first: 10) { totalCount nodes { id transcript { text } metadata agent { id phoneNumbers { id } } contact { id lastCall { id } appointments { id } } appointment { id } } } }`,
      `{ agents { totalCount nodes { id calls(first: 3) { totalCount nodes { id } } } } }`,
      `{ contacts(search: "alpha") { totalCount nodes { id metadata calls { totalCount } } } }`,
      `query ($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
    ];
    const allIds = [...Object.values(ids.A), ...Object.values(ids.B)];
    let checked = 0;
    for (const query of operations) {
      server.operations.length = 0;
      const response = await server.graphql(query, { token: tokenA, variables: { ids: allIds } });
      expect(response.body.errors).toBeUndefined();
      expect(server.operations).toHaveLength(1);
      const { orgId, statements } = server.operations[0]!;
      expect(orgId).toBe(orgA.id);
      expect(statements.statements!.length).toBeGreaterThan(0);
      for (const statement of statements.statements!) {
        if (statement.sql.includes('from "organisations"')) {
          // The organisation itself is looked up by id: only ever the caller's own.
          expect(statement.parameters).toEqual([[orgA.id]]);
        } else {
          expect({ sql: statement.sql, parameters: statement.parameters }).toEqual({
            sql: statement.sql,
            parameters: expect.arrayContaining([orgA.id]),
          });
        }
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  describe('recordings', () => {
    const recordingQuery = `query ($id: ID!) { call(id: $id) { recordingUrl } }`;

    beforeAll(() => {
      for (const [org, label] of [
        [orgA, 'alpha'],
        [orgB, 'bravo'],
      ] as const) {
        const file = path.join(
          server.config.recordings.kind === 'local' ? server.config.recordings.dir : '',
          `orgs/${org.id}/recordings/${label}.wav`,
        );
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, `${label} audio`);
      }
    });

    it("a URL signed for another organisation cannot be edited to serve the caller's file", async () => {
      const response = await server.graphql(recordingQuery, { token: tokenB, variables: { id: ids.B.Call } });
      const urlB = new URL(response.body.data.call.recordingUrl as string);
      expect(urlB.pathname).toBe(`/recordings/orgs/${orgB.id}/recordings/bravo.wav`);
      const genuine = await fetch(urlB);
      expect(genuine.status).toBe(200);
      expect(await genuine.text()).toBe('bravo audio');

      for (const pathname of [`/recordings/orgs/${orgA.id}/recordings/alpha.wav`, `/recordings/orgs/${orgA.id}/recordings/bravo.wav`]) {
        const edited = new URL(urlB);
        edited.pathname = pathname;
        const attempt = await fetch(edited);
        expect(attempt.status).toBe(403);
        expect(attempt.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await attempt.json()).toEqual({ error: { code: 'RECORDING_URL_INVALID', message: 'recording URL is not valid' } });
      }
    });

    it("no query signs a URL for another organisation's recording", async () => {
      const probes: [string, Record<string, unknown>][] = [
        [recordingQuery, { id: ids.B.Call }],
        [`query ($id: ID!) { node(id: $id) { ... on Call { recordingUrl } } }`, { id: ids.B.Call }],
        [`query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Call { recordingUrl } } }`, { ids: [ids.B.Call, ids.A.Call] }],
        [`query ($a: ID!) { calls(filter: { agentId: $a, hasRecording: true }) { nodes { recordingUrl } } }`, { a: ids.B.Agent }],
        [`query ($c: ID!) { calls(filter: { contactId: $c }) { nodes { recordingUrl } } }`, { c: ids.B.Contact }],
        [`query ($id: ID!) { appointment: node(id: $id) { ... on Appointment { call { recordingUrl } } } }`, { id: ids.B.Appointment }],
      ];
      for (const [query, variables] of probes) {
        const response = await server.graphql(query, { token: tokenA, variables });
        expect(response.body.errors).toBeUndefined();
        const text = JSON.stringify(response.body);
        expect(text).not.toContain(`orgs/${orgB.id}/`);
        expect(text).not.toContain('bravo');
      }
    });

    it("a row that points into another organisation's recordings is refused by the signer, not signed", async () => {
      const orgC = await createOrg(db);
      const agent = await createAgent(db, orgC.id);
      const call = await createCall(db, orgC.id, { agentId: agent, recordingKey: `orgs/${orgB.id}/recordings/bravo.wav` });
      const response = await server.graphql(recordingQuery, {
        token: await server.tokenFor(orgC),
        variables: { id: toGlobalId('Call', call) },
      });
      expect(response.body.data).toEqual({ call: { recordingUrl: null } });
      expect(response.body.errors).toEqual([
        // requestId: the same id as the x-request-id header and the log line for this error.
        {
          message: 'Internal server error',
          path: ['call', 'recordingUrl'],
          extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: expect.any(String) },
        },
      ]);
      expect(JSON.stringify(response.body)).not.toContain(`orgs/${orgB.id}/`);
    });
  });
});

/**
 * The loaders are made from a tenant scope (src/db/tenant.ts) and take no
 * organisation of their own. Whatever id a resolver hands them, what they
 * answer for another organisation's row is what they answer for a row that
 * does not exist. The HTTP specs above go through resolvers, which check some
 * ids themselves; this one asks the loaders directly, every one of them.
 */
describe("tenancy by construction: loaders made from one organisation's scope see nothing of another's", () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let orgA: TestOrg;
  let orgB: TestOrg;
  /** Ids of one row of each kind in organisation B. */
  const b = {} as Record<'org' | 'user' | 'agent' | 'phoneNumber' | 'contact' | 'call' | 'appointment', string>;
  const now = new Date(Date.UTC(2026, 2, 15));
  const absent = '987654321987';
  const page = { limit: 5, backward: false, lookAhead: true, after: undefined, before: undefined };
  // Call pages that join their agent and contact: the joins are scoped as well.
  const joiningRead = { ...WHOLE_CALL_ROWS, agent: AGENT_COLUMNS, contact: CONTACT_LIST_COLUMNS };

  /** For each loader, its key for a row id (or parent id). Typed by Loaders: a new loader without a probe does not compile. */
  const keyFor: { [Name in keyof Loaders]: (id: string) => Parameters<Loaders[Name]['load']>[0] } = {
    organisationById: (id) => id,
    memberById: (id) => id,
    agentById: (id) => id,
    contactById: (id) => id,
    callById: (id) => id,
    appointmentById: (id) => id,
    phoneNumberById: (id) => id,
    callMetadataById: (id) => id,
    contactMetadataById: (id) => id,
    transcriptByCallId: (id) => id,
    appointmentByCallId: (id) => id,
    appointmentsByContactId: (id) => id,
    phoneNumbersByAgentId: (id) => id,
    callsByAgent: (id) => ({
      parentId: id,
      ...callPageRequest({ filter: {}, order: { field: 'started_at', direction: 'desc' }, page, read: joiningRead }),
    }),
    callsByContact: (id) => ({
      parentId: id,
      ...callPageRequest({ filter: {}, order: { field: 'started_at', direction: 'desc' }, page, read: joiningRead }),
    }),
    callCountByAgent: (id) => ({ parentId: id, filter: {} }),
    callCountByContact: (id) => ({ parentId: id, filter: {} }),
    agentStats: (id) => ({ agentId: id, range: { kind: 'preset', preset: 'this_month' } }),
    searchHighlight: (id) => ({ callId: id, tsquery: 'bravo:*' }),
  };
  /** Which of B's rows each loader is asked for. */
  const rowOf: Record<keyof Loaders, keyof typeof b> = {
    organisationById: 'org',
    memberById: 'user',
    agentById: 'agent',
    contactById: 'contact',
    callById: 'call',
    appointmentById: 'appointment',
    phoneNumberById: 'phoneNumber',
    callMetadataById: 'call',
    contactMetadataById: 'contact',
    transcriptByCallId: 'call',
    appointmentByCallId: 'call',
    appointmentsByContactId: 'contact',
    phoneNumbersByAgentId: 'agent',
    callsByAgent: 'agent',
    callsByContact: 'contact',
    callCountByAgent: 'agent',
    callCountByContact: 'contact',
    agentStats: 'agent',
    searchHighlight: 'call',
  };

  /** One load through fresh loaders of `orgId`'s scope, so no answer is served from another probe's memo. */
  function load(orgId: string, name: keyof Loaders, id: string): Promise<unknown> {
    // The union of eighteen loader types has no callable `load`; each key matches its loader by keyFor's type.
    const loader = createLoaders(tenantScope(db, orgId), { batch: true }, now)[name] as unknown as {
      load(key: unknown): Promise<unknown>;
    };
    return loader.load(keyFor[name](id));
  }

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    [orgA, orgB] = await Promise.all([createOrg(db), createOrg(db)]);
    b.org = orgB.id;
    b.user = orgB.users.admin;
    b.agent = await createAgent(db, orgB.id);
    b.phoneNumber = await createPhoneNumber(db, orgB.id, b.agent);
    b.contact = await createContact(db, orgB.id);
    b.call = await createCall(db, orgB.id, { agentId: b.agent, contactId: b.contact, startedAt: new Date(Date.UTC(2026, 2, 10)) });
    await createTranscript(db, orgB.id, b.call, 'bravo transcript');
    b.appointment = await createAppointment(db, orgB.id, { contactId: b.contact, callId: b.call, agentId: b.agent });
  });

  afterAll(async () => {
    await closeDb();
  });

  it('every loader createLoaders makes is probed', () => {
    const loaders = createLoaders(tenantScope(db, orgA.id), { batch: true }, now);
    expect(Object.keys(keyFor).sort()).toEqual(Object.keys(loaders).sort());
  });

  it.each(Object.keys(keyFor) as (keyof Loaders)[])(
    "%s, asked for another organisation's row, answers exactly what it answers for a nonexistent one",
    async (name) => {
      const id = b[rowOf[name]];
      const nothing = await load(orgA.id, name, absent);
      expect({ name, answer: await load(orgA.id, name, id) }).toEqual({ name, answer: nothing });
      // Control: the row is real, and its own organisation's loaders find it.
      expect({ name, answer: await load(orgB.id, name, id) }).not.toEqual({ name, answer: nothing });
    },
  );
});
