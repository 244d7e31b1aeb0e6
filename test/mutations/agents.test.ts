import type { Db } from '../../src/db/database';
import { parseGlobalId, toGlobalId } from '../../src/graphql/globalId';
import { openTestDb } from '../support/db';
import { createAgent, createOrg, createPhoneNumber, type TestOrg } from '../support/factories';
import { orgSnapshot } from '../support/snapshot';
import { startTestServer, type TestServer } from '../support/server';
import { expectUserError, USER_ERRORS } from '../support/userErrors';

/**
 * Agents and their phone numbers: admins rename agents, change their status
 * and route numbers to them. An archived agent holds no numbers.
 */
describe('mutations: agents and phone numbers', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let admin: string;

  const UPDATE = `mutation ($input: UpdateAgentInput!) {
    updateAgent(input: $input) { agent { id name status updatedAt phoneNumbers { id } } releasedPhoneNumbers { id number agent { id } } ${USER_ERRORS} } }`;
  const ASSIGN = `mutation ($input: AssignPhoneNumberInput!) {
    assignPhoneNumber(input: $input) {
      phoneNumber { id number agent { id } }
      agent { id phoneNumbers { id } }
      previousAgent { id phoneNumbers { id } }
      ${USER_ERRORS}
    } }`;
  const UNASSIGN = `mutation ($input: UnassignPhoneNumberInput!) {
    unassignPhoneNumber(input: $input) { phoneNumber { id agent { id } } previousAgent { id phoneNumbers { id } } ${USER_ERRORS} } }`;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    admin = await server.tokenFor(org, 'admin');
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  const send = (query: string, input: Record<string, unknown>) => server.graphql(query, { token: admin, variables: { input } });
  const agentId = async (options: Parameters<typeof createAgent>[2] = {}) => toGlobalId('Agent', await createAgent(db, org.id, options));
  const phoneId = async (agent: string | null) =>
    toGlobalId('PhoneNumberAssignment', await createPhoneNumber(db, org.id, agent ? parseGlobalId(agent)!.localId : null));

  async function numbersOf(agent: string): Promise<string[]> {
    const response = await server.graphql(`query ($id: ID!) { agent(id: $id) { phoneNumbers { id } } }`, { token: admin, variables: { id: agent } });
    return response.body.data.agent.phoneNumbers.map((p: { id: string }) => p.id);
  }

  describe('updateAgent', () => {
    it('renames (trimmed) and pauses an agent, advancing updatedAt; a paused agent keeps its numbers', async () => {
      const id = await agentId({ name: 'Ava' });
      const number = await phoneId(id);
      const before = (await server.graphql(`query ($id: ID!) { agent(id: $id) { updatedAt } }`, { token: admin, variables: { id } })).body.data.agent;
      const response = await send(UPDATE, { id, name: '  Ava Prime ', status: 'PAUSED' });
      expect(response.body.errors).toBeUndefined();
      const { agent, releasedPhoneNumbers } = response.body.data.updateAgent;
      expect(agent).toMatchObject({ id, name: 'Ava Prime', status: 'PAUSED', phoneNumbers: [{ id: number }] });
      expect(releasedPhoneNumbers).toEqual([]);
      expect(new Date(agent.updatedAt).getTime()).toBeGreaterThan(new Date(before.updatedAt).getTime());
    });

    it('archiving releases every number the agent held, in the same write', async () => {
      const id = await agentId();
      const numbers = [await phoneId(id), await phoneId(id)];
      const response = await send(UPDATE, { id, status: 'ARCHIVED' });
      expect(response.body.errors).toBeUndefined();
      const { agent, releasedPhoneNumbers } = response.body.data.updateAgent;
      expect(agent).toMatchObject({ status: 'ARCHIVED', phoneNumbers: [] });
      expect(releasedPhoneNumbers.map((p: { id: string }) => p.id).sort()).toEqual([...numbers].sort());
      for (const released of releasedPhoneNumbers) expect(released.agent).toBeNull();
      // And in the database, not just in the payload:
      expect(await numbersOf(id)).toEqual([]);
      const nodes = await server.graphql(`query ($ids: [ID!]!) { nodes(ids: $ids) { ... on PhoneNumberAssignment { agent { id } } } }`, {
        token: admin,
        variables: { ids: numbers },
      });
      expect(nodes.body.data.nodes).toEqual([{ agent: null }, { agent: null }]);
    });

    it.each([
      ['a blank name', 'input.name', 'BLANK', { name: ' ' }, /must not be empty/],
      ['a name over 100 characters', 'input.name', 'TOO_LONG', { name: 'n'.repeat(101) }, /at most 100/],
      ['a null name', 'input.name', 'NULL_NOT_ALLOWED', { name: null }, /cannot be null/],
      ['a null status', 'input.status', 'NULL_NOT_ALLOWED', { status: null }, /cannot be null/],
      ['no field to change', null, 'NOTHING_TO_CHANGE', {}, /at least one of name, status/],
    ])('refuses %s as a userError at %s (%s), and writes nothing', async (_case, argument, code, override, message) => {
      const id = await agentId();
      await phoneId(id);
      const before = await orgSnapshot(db, org.id);
      expectUserError(await send(UPDATE, { id, ...override }), 'updateAgent', code, argument, message);
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it('an unknown status value is refused before execution', async () => {
      const response = await send(UPDATE, { id: await agentId(), status: 'DELETED' });
      expect(response.status).toBe(400);
      expect(response.body.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    });

    it('a nonexistent agent is NOT_FOUND; a malformed id or a Contact id INVALID_ID', async () => {
      expectUserError(
        await send(UPDATE, { id: toGlobalId('Agent', '987654321987'), name: 'X' }),
        'updateAgent',
        'NOT_FOUND',
        'input.id',
        /^Agent not found$/,
      );
      expectUserError(await send(UPDATE, { id: 'QWdlbnQ6MA', name: 'X' }), 'updateAgent', 'INVALID_ID', 'input.id', /not a valid Agent id/);
      expectUserError(await send(UPDATE, { id: toGlobalId('Contact', '1'), name: 'X' }), 'updateAgent', 'INVALID_ID', 'input.id');
    });
  });

  describe('assignPhoneNumber / unassignPhoneNumber', () => {
    it('routes a free number to an agent', async () => {
      const agent = await agentId();
      const number = await phoneId(null);
      const response = await send(ASSIGN, { phoneNumberId: number, agentId: agent });
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.assignPhoneNumber).toEqual({
        phoneNumber: { id: number, number: expect.any(String), agent: { id: agent } },
        agent: { id: agent, phoneNumbers: [{ id: number }] },
        previousAgent: null,
        userErrors: [],
      });
    });

    it('moves a number from the agent that held it; both agents read back their new numbers', async () => {
      const [from, to] = [await agentId(), await agentId({ status: 'paused' })];
      const number = await phoneId(from);
      const kept = await phoneId(from);
      const response = await send(ASSIGN, { phoneNumberId: number, agentId: to });
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.assignPhoneNumber).toEqual({
        phoneNumber: { id: number, number: expect.any(String), agent: { id: to } },
        agent: { id: to, phoneNumbers: [{ id: number }] },
        previousAgent: { id: from, phoneNumbers: [{ id: kept }] },
        userErrors: [],
      });
      expect(await numbersOf(from)).toEqual([kept]);
      expect(await numbersOf(to)).toEqual([number]);
    });

    it('assigning a number to the agent that already holds it changes nothing and names no previous agent', async () => {
      const agent = await agentId();
      const number = await phoneId(agent);
      const before = await orgSnapshot(db, org.id);
      const response = await send(ASSIGN, { phoneNumberId: number, agentId: agent });
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.assignPhoneNumber.previousAgent).toBeNull();
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it('refuses an archived agent, and writes nothing', async () => {
      const archived = await agentId({ status: 'archived' });
      const holder = await agentId();
      const number = await phoneId(holder);
      const before = await orgSnapshot(db, org.id);
      expectUserError(
        await send(ASSIGN, { phoneNumberId: number, agentId: archived }),
        'assignPhoneNumber',
        'INVALID_STATE',
        'input.agentId',
        /archived agent/,
      );
      expect(await orgSnapshot(db, org.id)).toEqual(before);
      expect(await numbersOf(holder)).toEqual([number]);
    });

    it('a nonexistent number or agent is NOT_FOUND naming which; malformed ids are INVALID_ID', async () => {
      const agent = await agentId();
      const number = await phoneId(null);
      const before = await orgSnapshot(db, org.id);
      expectUserError(
        await send(ASSIGN, { phoneNumberId: toGlobalId('PhoneNumberAssignment', '987654321987'), agentId: agent }),
        'assignPhoneNumber',
        'NOT_FOUND',
        'input.phoneNumberId',
        /^Phone number not found$/,
      );
      expectUserError(
        await send(ASSIGN, { phoneNumberId: number, agentId: toGlobalId('Agent', '987654321987') }),
        'assignPhoneNumber',
        'NOT_FOUND',
        'input.agentId',
        /^Agent not found$/,
      );
      expectUserError(await send(ASSIGN, { phoneNumberId: agent, agentId: agent }), 'assignPhoneNumber', 'INVALID_ID', 'input.phoneNumberId');
      expectUserError(await send(ASSIGN, { phoneNumberId: number, agentId: number }), 'assignPhoneNumber', 'INVALID_ID', 'input.agentId');
      expect(await orgSnapshot(db, org.id)).toEqual(before);
    });

    it('unassigns a number and names the agent that held it; unassigning again changes nothing', async () => {
      const agent = await agentId();
      const number = await phoneId(agent);
      const first = await send(UNASSIGN, { phoneNumberId: number });
      expect(first.body.errors).toBeUndefined();
      expect(first.body.data.unassignPhoneNumber).toEqual({
        phoneNumber: { id: number, agent: null },
        previousAgent: { id: agent, phoneNumbers: [] },
        userErrors: [],
      });
      const before = await orgSnapshot(db, org.id);
      const second = await send(UNASSIGN, { phoneNumberId: number });
      expect(second.body.data.unassignPhoneNumber).toEqual({ phoneNumber: { id: number, agent: null }, previousAgent: null, userErrors: [] });
      expect(await orgSnapshot(db, org.id)).toEqual(before);
      expectUserError(
        await send(UNASSIGN, { phoneNumberId: toGlobalId('PhoneNumberAssignment', '987654321987') }),
        'unassignPhoneNumber',
        'NOT_FOUND',
        'input.phoneNumberId',
      );
    });
  });
});
