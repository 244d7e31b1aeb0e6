import type { Db } from '../../src/db/database';
import { DURABLE_COMMIT_STATEMENT } from '../../src/db/durable';
import type { Role } from '../../src/db/schema';
import { toGlobalId } from '../../src/graphql/globalId';
import { openTestDb } from '../support/db';
import {
  createAgent,
  createAppointment,
  createCall,
  createCalls,
  createContact,
  createOrg,
  createPhoneNumber,
  countRows,
  type TestOrg,
} from '../support/factories';
import { orgSnapshot } from '../support/snapshot';
import { USER_ERRORS } from '../support/userErrors';
import { startTestServer, type GraphQLResponse, type TestServer } from '../support/server';

/**
 * Who may write, and where: roles come from the verified token and are checked
 * before any work; every write is confined to the caller's organisation, where
 * another organisation's id is byte for byte a nonexistent one; the payload
 * reads through the same loaders as queries; the operation limits apply.
 */
describe('mutations: roles, tenancy, loaders and limits', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let orgA: TestOrg;
  let orgB: TestOrg;
  const tokens = {} as Record<Role, string>;
  /** Global ids of one organisation's objects. */
  interface Ids {
    agent: string;
    archivedAgent: string;
    phone: string;
    contact: string;
    call: string;
    appointment: string;
  }
  let a: Ids;
  let b: Ids;
  const missing = (type: Parameters<typeof toGlobalId>[0]) => toGlobalId(type, '987654321987');

  async function seed(org: TestOrg): Promise<Ids> {
    const agent = await createAgent(db, org.id);
    const archivedAgent = await createAgent(db, org.id, { status: 'archived' });
    const phone = await createPhoneNumber(db, org.id, agent);
    const contact = await createContact(db, org.id);
    const call = await createCall(db, org.id, { agentId: agent, contactId: contact });
    const appointment = await createAppointment(db, org.id, {
      contactId: contact,
      agentId: agent,
      scheduledAt: new Date(Date.now() + 5 * 86_400_000),
    });
    return {
      agent: toGlobalId('Agent', agent),
      archivedAgent: toGlobalId('Agent', archivedAgent),
      phone: toGlobalId('PhoneNumberAssignment', phone),
      contact: toGlobalId('Contact', contact),
      call: toGlobalId('Call', call),
      appointment: toGlobalId('Appointment', appointment),
    };
  }

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    [orgA, orgB] = await Promise.all([createOrg(db), createOrg(db)]);
    for (const role of ['admin', 'member', 'viewer'] as const) tokens[role] = await server.tokenFor(orgA, role);
    a = await seed(orgA);
    b = await seed(orgB);
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const later = () => new Date(Date.now() + 3 * 86_400_000).toISOString();

  /** One valid request per mutation, against organisation A's own objects. */
  const MUTATIONS: Record<string, { area: 'records' | 'configuration'; query: string; input: () => Record<string, unknown> }> = {
    createContact: {
      area: 'records',
      query: `mutation ($input: CreateContactInput!) { createContact(input: $input) { contact { id } ${USER_ERRORS} } }`,
      input: () => ({ name: 'New Lead', phone: '+14155550100' }),
    },
    updateContact: {
      area: 'records',
      query: `mutation ($input: UpdateContactInput!) { updateContact(input: $input) { contact { id } ${USER_ERRORS} } }`,
      input: () => ({ id: a.contact, name: 'Renamed' }),
    },
    archiveContact: {
      area: 'records',
      query: `mutation ($input: ArchiveContactInput!) { archiveContact(input: $input) { contact { id } ${USER_ERRORS} } }`,
      input: () => ({ id: a.contact }),
    },
    updateCall: {
      area: 'records',
      query: `mutation ($input: UpdateCallInput!) { updateCall(input: $input) { call { id } ${USER_ERRORS} } }`,
      input: () => ({ id: a.call, notes: 'note' }),
    },
    bookAppointment: {
      area: 'records',
      query: `mutation ($input: BookAppointmentInput!) { bookAppointment(input: $input) { appointment { id } ${USER_ERRORS} } }`,
      input: () => ({ callId: a.call, scheduledAt: later() }),
    },
    cancelAppointment: {
      area: 'records',
      query: `mutation ($input: CancelAppointmentInput!) { cancelAppointment(input: $input) { appointment { id } ${USER_ERRORS} } }`,
      input: () => ({ id: a.appointment }),
    },
    updateAgent: {
      area: 'configuration',
      query: `mutation ($input: UpdateAgentInput!) { updateAgent(input: $input) { agent { id } ${USER_ERRORS} } }`,
      input: () => ({ id: a.agent, name: 'Renamed' }),
    },
    assignPhoneNumber: {
      area: 'configuration',
      query: `mutation ($input: AssignPhoneNumberInput!) { assignPhoneNumber(input: $input) { phoneNumber { id } ${USER_ERRORS} } }`,
      input: () => ({ phoneNumberId: a.phone, agentId: a.agent }),
    },
    unassignPhoneNumber: {
      area: 'configuration',
      query: `mutation ($input: UnassignPhoneNumberInput!) { unassignPhoneNumber(input: $input) { phoneNumber { id } ${USER_ERRORS} } }`,
      input: () => ({ phoneNumberId: a.phone }),
    },
  };
  const NAMES = Object.keys(MUTATIONS);

  async function attempt(name: string, role: Role, input: Record<string, unknown>) {
    server.operations.length = 0;
    const response = await server.graphql(MUTATIONS[name]!.query, { token: tokens[role], variables: { input } });
    return { response, statements: server.operations[0]!.statements.count };
  }

  describe('roles', () => {
    it.each(NAMES)('a viewer cannot %s: FORBIDDEN, no SQL at all, nothing written', async (name) => {
      const before = await orgSnapshot(db, orgA.id);
      // Even with malformed ids or a blank name: the role is checked before any input rule.
      // (A value not of its GraphQL type, such as a malformed phone, is refused earlier still, before execution.)
      const valid = MUTATIONS[name]!.input();
      const broken = Object.fromEntries(
        Object.entries(valid).map(([key, value]) => [key, /(^id|Id)$/.test(key) ? 'garbage' : key === 'name' ? ' ' : value]),
      );
      expect(broken).not.toEqual(valid);
      for (const input of [valid, broken]) {
        const { response, statements } = await attempt(name, 'viewer', input);
        expect(response.body.data).toEqual({ [name]: null });
        expect(response.body.errors).toHaveLength(1);
        expect(response.body.errors![0]).toMatchObject({ message: 'Viewers cannot make changes', path: [name], extensions: { code: 'FORBIDDEN' } });
        expect(statements).toBe(0);
      }
      expect(await orgSnapshot(db, orgA.id)).toEqual(before);
    });

    it.each(NAMES.filter((name) => MUTATIONS[name]!.area === 'configuration'))(
      'a member cannot %s: FORBIDDEN, no SQL at all, nothing written',
      async (name) => {
        const before = await orgSnapshot(db, orgA.id);
        const { response, statements } = await attempt(name, 'member', MUTATIONS[name]!.input());
        expect(response.body.data).toEqual({ [name]: null });
        expect(response.body.errors![0]).toMatchObject({
          message: 'Only admins can change agents and phone numbers',
          extensions: { code: 'FORBIDDEN' },
        });
        expect(statements).toBe(0);
        expect(await orgSnapshot(db, orgA.id)).toEqual(before);
      },
    );

    it.each(NAMES.filter((name) => MUTATIONS[name]!.area === 'records'))('a member can %s', async (name) => {
      const { response } = await attempt(name, 'member', MUTATIONS[name]!.input());
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data[name].userErrors).toEqual([]);
    });

    it.each(NAMES)('an admin can %s', async (name) => {
      // bookAppointment again on the same call needs the earlier booking cancelled first.
      if (name === 'bookAppointment') {
        const call = toGlobalId(
          'Call',
          await createCall(db, orgA.id, { agentId: await createAgent(db, orgA.id), contactId: await createContact(db, orgA.id) }),
        );
        const { response } = await attempt(name, 'admin', { callId: call, scheduledAt: later() });
        expect(response.body.errors).toBeUndefined();
        return;
      }
      const { response } = await attempt(name, 'admin', MUTATIONS[name]!.input());
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data[name].userErrors).toEqual([]);
    });
  });

  describe("another organisation's ids are nonexistent ids", () => {
    /** The whole response minus wall-clock timing; the statement count stays in. */
    function comparable(response: GraphQLResponse): unknown {
      const body = structuredClone(response.body) as GraphQLResponse['body'] & { extensions?: { sql?: { durationMs?: number } } };
      delete body.extensions?.sql?.durationMs;
      return { status: response.status, body };
    }

    // [mutation, input naming B's object, the same input naming nothing, the argument]
    const soon = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const probes: [string, () => Record<string, unknown>, () => Record<string, unknown>, string][] = [
      ['updateContact', () => ({ id: b.contact, name: 'x' }), () => ({ id: missing('Contact'), name: 'x' }), 'input.id'],
      ['archiveContact', () => ({ id: b.contact }), () => ({ id: missing('Contact') }), 'input.id'],
      ['updateCall', () => ({ id: b.call, outcome: 'INTERESTED' }), () => ({ id: missing('Call'), outcome: 'INTERESTED' }), 'input.id'],
      ['bookAppointment', () => ({ callId: b.call, scheduledAt: soon }), () => ({ callId: missing('Call'), scheduledAt: soon }), 'input.callId'],
      ['cancelAppointment', () => ({ id: b.appointment }), () => ({ id: missing('Appointment') }), 'input.id'],
      ['updateAgent', () => ({ id: b.agent, status: 'PAUSED' }), () => ({ id: missing('Agent'), status: 'PAUSED' }), 'input.id'],
      [
        'assignPhoneNumber',
        () => ({ phoneNumberId: b.phone, agentId: a.agent }),
        () => ({ phoneNumberId: missing('PhoneNumberAssignment'), agentId: a.agent }),
        'input.phoneNumberId',
      ],
      [
        'assignPhoneNumber',
        () => ({ phoneNumberId: a.phone, agentId: b.agent }),
        () => ({ phoneNumberId: a.phone, agentId: missing('Agent') }),
        'input.agentId',
      ],
      ['unassignPhoneNumber', () => ({ phoneNumberId: b.phone }), () => ({ phoneNumberId: missing('PhoneNumberAssignment') }), 'input.phoneNumberId'],
    ];

    it.each(probes)(
      "%s naming another organisation's object answers byte for byte as for a nonexistent one",
      async (name, foreign, absent, argument) => {
        const beforeA = await orgSnapshot(db, orgA.id);
        const beforeB = await orgSnapshot(db, orgB.id);
        const probe = await server.graphql(MUTATIONS[name]!.query, { token: tokens.admin, variables: { input: foreign() } });
        const control = await server.graphql(MUTATIONS[name]!.query, { token: tokens.admin, variables: { input: absent() } });
        expect(comparable(probe)).toEqual(comparable(control));
        expect(probe.body.errors).toBeUndefined();
        expect(probe.body.data[name].userErrors).toEqual([{ field: argument.split('.'), code: 'NOT_FOUND', message: expect.any(String) }]);
        expect(await orgSnapshot(db, orgB.id)).toEqual(beforeB);
        expect(await orgSnapshot(db, orgA.id)).toEqual(beforeA);
      },
    );

    it("every statement a write runs is bound to the caller's organisation", async () => {
      const operations: [string, Record<string, unknown>][] = [
        ['createContact', { name: 'Scoped', phone: '+14155550111' }],
        ['updateContact', { id: a.contact, leadScore: 90 }],
        ['updateCall', { id: a.call, sentiment: 'NEGATIVE' }],
        [
          'bookAppointment',
          {
            callId: toGlobalId(
              'Call',
              await createCall(db, orgA.id, { agentId: await createAgent(db, orgA.id), contactId: await createContact(db, orgA.id) }),
            ),
            scheduledAt: later(),
          },
        ],
        ['cancelAppointment', { id: a.appointment }],
        ['updateAgent', { id: a.agent, status: 'ARCHIVED' }],
        ['assignPhoneNumber', { phoneNumberId: a.phone, agentId: toGlobalId('Agent', await createAgent(db, orgA.id)) }],
        ['unassignPhoneNumber', { phoneNumberId: a.phone }],
      ];
      let checked = 0;
      for (const [name, input] of operations) {
        server.operations.length = 0;
        const response = await server.graphql(MUTATIONS[name]!.query, { token: tokens.admin, variables: { input } });
        expect(response.body.errors).toBeUndefined();
        const statements = server.operations[0]!.statements.statements!;
        // Transaction control, which touches no rows: begin, the durable-commit setting (test/durability.test.ts), commit.
        expect({ name, durable: statements.some((statement) => statement.sql === DURABLE_COMMIT_STATEMENT) }).toEqual({ name, durable: true });
        for (const statement of statements) {
          if (/^(begin|commit|rollback)$/i.test(statement.sql.trim()) || statement.sql === DURABLE_COMMIT_STATEMENT) continue;
          expect({ sql: statement.sql, parameters: statement.parameters }).toEqual({
            sql: statement.sql,
            parameters: expect.arrayContaining([orgA.id]),
          });
          checked += 1;
        }
      }
      expect(checked).toBeGreaterThanOrEqual(operations.length * 2);
    });
  });

  describe('payloads read through the loaders', () => {
    it('a deep payload costs the same statements for an agent with 2 calls as for one with 12', async () => {
      const PAYLOAD = `mutation ($input: UpdateAgentInput!) { updateAgent(input: $input) { agent {
        id name phoneNumbers { id agent { id } }
        calls(first: 20) { totalCount nodes { id agent { id } contact { id lastCall { id } appointments { id call { id } } } appointment { id } } }
      } } }`;
      const counts: number[] = [];
      for (const size of [2, 12]) {
        const agent = await createAgent(db, orgA.id);
        await createPhoneNumber(db, orgA.id, agent);
        const calls = await createCalls(
          db,
          orgA.id,
          await Promise.all(Array.from({ length: size }, async () => ({ agentId: agent, contactId: await createContact(db, orgA.id) }))),
        );
        for (const call of calls.slice(0, 2)) {
          const contact = (
            await db.selectFrom('calls').select('contact_id').where('org_id', '=', orgA.id).where('id', '=', call).executeTakeFirstOrThrow()
          ).contact_id!;
          await createAppointment(db, orgA.id, { contactId: contact, callId: call, agentId: agent });
        }
        server.operations.length = 0;
        const response = await server.graphql(PAYLOAD, {
          token: tokens.admin,
          variables: { input: { id: toGlobalId('Agent', agent), name: `Size ${size}` } },
        });
        expect(response.body.errors).toBeUndefined();
        expect(response.body.data.updateAgent.agent.calls.nodes).toHaveLength(size);
        counts.push(server.operations[0]!.statements.count);
      }
      expect(counts[1]).toBe(counts[0]);
    });

    it('a second mutation in the same document reads what the first one wrote, and each commits on its own', async () => {
      const phone = toGlobalId('PhoneNumberAssignment', await createPhoneNumber(db, orgA.id, null));
      const [one, two] = [toGlobalId('Agent', await createAgent(db, orgA.id)), toGlobalId('Agent', await createAgent(db, orgA.id))];
      const response = await server.graphql(
        `mutation ($phone: ID!, $one: ID!, $two: ID!) {
          first: assignPhoneNumber(input: { phoneNumberId: $phone, agentId: $one }) { agent { phoneNumbers { id } } }
          second: assignPhoneNumber(input: { phoneNumberId: $phone, agentId: $two }) { agent { phoneNumbers { id } } previousAgent { id phoneNumbers { id } } }
          third: updateAgent(input: { id: $one, name: "" }) { agent { id } userErrors { field code } }
        }`,
        { token: tokens.admin, variables: { phone, one, two } },
      );
      expect(response.body.data).toEqual({
        first: { agent: { phoneNumbers: [{ id: phone }] } },
        second: { agent: { phoneNumbers: [{ id: phone }] }, previousAgent: { id: one, phoneNumbers: [] } },
        third: { agent: null, userErrors: [{ field: ['input', 'name'], code: 'BLANK' }] },
      });
      expect(response.body.errors).toBeUndefined();
    });
  });

  describe('operation limits apply to mutations', () => {
    it('too many aliases: 400 TOO_MANY_ALIASES before anything runs, nothing written', async () => {
      const before = await orgSnapshot(db, orgA.id);
      const count = await countRows(db, 'contacts', orgA.id);
      const fields = Array.from(
        { length: 31 },
        (_, i) => `c${i}: createContact(input: { name: "Alias ${i}", phone: "+1415555${String(1000 + i)}" }) { contact { id } }`,
      );
      server.operations.length = 0;
      const response = await server.graphql(`mutation { ${fields.join('\n')} }`, { token: tokens.admin });
      expect(response.status).toBe(400);
      expect(response.body.errors![0]!.extensions!.code).toBe('TOO_MANY_ALIASES');
      expect(server.operations[0]!.statements.count).toBe(0);
      expect(await countRows(db, 'contacts', orgA.id)).toBe(count);
      expect(await orgSnapshot(db, orgA.id)).toEqual(before);
    });

    it('a payload that asks for too much: 400 QUERY_TOO_COMPLEX, nothing written', async () => {
      const before = await orgSnapshot(db, orgA.id);
      server.operations.length = 0;
      const response = await server.graphql(
        `mutation ($input: UpdateAgentInput!) { updateAgent(input: $input) { agent {
          calls(first: 100) { nodes { contact { calls(first: 100) { nodes { agent { calls(first: 100) { nodes { id } } } } } } } }
        } } }`,
        { token: tokens.admin, variables: { input: { id: a.agent, name: 'Too Expensive' } } },
      );
      expect(response.status).toBe(400);
      expect(response.body.errors![0]!.extensions!.code).toBe('QUERY_TOO_COMPLEX');
      expect(server.operations[0]!.statements.count).toBe(0);
      expect(await orgSnapshot(db, orgA.id)).toEqual(before);
    });

    it('a mutation sent with GET is refused and writes nothing', async () => {
      const before = await orgSnapshot(db, orgA.id);
      const query = `mutation { updateContact(input: { id: "${a.contact}", name: "Via GET" }) { contact { id } } }`;
      const response = await fetch(`${server.url}/graphql?query=${encodeURIComponent(query)}`, {
        headers: { authorization: `Bearer ${tokens.admin}`, 'apollo-require-preflight': 'true' },
      });
      expect(response.status).toBe(405);
      expect(await orgSnapshot(db, orgA.id)).toEqual(before);
    });
  });
});
