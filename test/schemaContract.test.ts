import { buildSchema, isEnumType, isInputObjectType, isInterfaceType, isObjectType, type GraphQLSchema } from 'graphql';
import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { typeDefs } from '../src/graphql/typeDefs';
import { openTestDb } from './support/db';
import { createAgent, createAppointment, createCalls, createContact, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';
import { expectTypeRefusal } from './support/userErrors';

/**
 * The schema as a contract clients read (issue 14): it describes itself,
 * statistics ranges are `@oneOf`, money is exact and names its currency, and
 * users are Relay nodes.
 */
describe('schema contract', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    token = await server.tokenFor(org, 'viewer');
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  describe('descriptions', () => {
    const schema: GraphQLSchema = buildSchema(typeDefs);

    it('every type, field, argument, input field and enum value of schema.graphql says what it means', () => {
      const missing: string[] = [];
      const need = (where: string, description: string | null | undefined) => {
        if (!description?.trim()) missing.push(where);
      };
      for (const type of Object.values(schema.getTypeMap())) {
        if (type.name.startsWith('__')) continue;
        need(type.name, type.description);
        if (isObjectType(type) || isInterfaceType(type)) {
          for (const field of Object.values(type.getFields())) {
            need(`${type.name}.${field.name}`, field.description);
            for (const arg of field.args) need(`${type.name}.${field.name}(${arg.name})`, arg.description);
          }
        } else if (isInputObjectType(type)) {
          for (const field of Object.values(type.getFields())) need(`${type.name}.${field.name}`, field.description);
        } else if (isEnumType(type)) {
          for (const value of type.getValues()) need(`${type.name}.${value.name}`, value.description);
        }
      }
      // The built-in scalars and introspection types are graphql-js's own and described there.
      expect(missing).toEqual([]);
    });
  });

  describe('DateRangeInput is @oneOf: a preset or between, never both or neither', () => {
    const DASHBOARD = (range: string) => `{ dashboard(range: ${range}) { range { from to } totalCalls { current } } }`;

    it('takes a preset, or an explicit between { from, to }', async () => {
      const preset = await server.graphql(DASHBOARD('{ preset: LAST_7_DAYS }'), { token });
      expect(preset.body.errors).toBeUndefined();
      const between = await server.graphql(DASHBOARD('{ between: { from: "2026-11-01T00:00:00Z", to: "2026-11-08T00:00:00Z" } }'), { token });
      expect(between.body.errors).toBeUndefined();
      expect(between.body.data.dashboard.range).toEqual({ from: '2026-11-01T00:00:00.000Z', to: '2026-11-08T00:00:00.000Z' });
    });

    it.each([
      ['both', '{ preset: TODAY, between: { from: "2026-11-01T00:00:00Z", to: "2026-11-02T00:00:00Z" } }'],
      ['neither', '{ }'],
      ['a null preset', '{ preset: null }'],
    ])('refuses %s written inline before execution, as BAD_USER_INPUT', async (_case, range) => {
      expectTypeRefusal(await server.graphql(DASHBOARD(range), { token }), 'DateRangeInput');
    });

    it.each([
      ['both', { preset: 'TODAY', between: { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' } }],
      ['neither', {}],
    ])('refuses %s in variables before execution, as BAD_USER_INPUT', async (_case, range) => {
      const response = await server.graphql(`query ($range: DateRangeInput!) { dashboard(range: $range) { totalCalls { current } } }`, {
        token,
        variables: { range },
      });
      expectTypeRefusal(response, 'DateRangeInput');
    });
  });

  describe('Money: exact decimal strings with an ISO 4217 currency', () => {
    it('a call, an appointment, the dashboard, analytics and agent stats give money as Money beside the deprecated floats', async () => {
      const moneyOrg = await createOrg(db);
      const moneyToken = await server.tokenFor(moneyOrg, 'viewer');
      const agent = await createAgent(db, moneyOrg.id);
      const contact = await createContact(db, moneyOrg.id);
      // An hour ago: inside LAST_7_DAYS (today and the six days before) at any time of day.
      const startedAt = new Date(Date.now() - 60 * 60_000);
      const [call] = await createCalls(db, moneyOrg.id, [
        { agentId: agent, contactId: contact, startedAt, cost: 0.1234, status: 'completed' },
        { agentId: agent, contactId: contact, startedAt, cost: 0.2, status: 'completed' },
      ]);
      await createAppointment(db, moneyOrg.id, { contactId: contact, callId: call!, agentId: agent, value: 1500.5 });

      const response = await server.graphql(
        `query ($call: ID!) {
          call(id: $call) { cost providerCost { amount currency } appointment { value dealValue { amount currency } } }
          dashboard(range: { preset: LAST_7_DAYS }) {
            totalCost { current } providerCost { current { amount currency } previous { amount } change }
            pipelineValue { current } pipeline { current { amount currency } }
          }
          analytics(range: { preset: LAST_7_DAYS }) { buckets { metrics { calls cost providerCost { amount currency } } } }
          agents { nodes { stats(range: { preset: LAST_7_DAYS }) { cost providerCost { amount currency } } } }
        }`,
        { token: moneyToken, variables: { call: toGlobalId('Call', call!) } },
      );
      expect(response.body.errors).toBeUndefined();
      const { data } = response.body;
      expect(data.call).toEqual({
        cost: 0.1234,
        providerCost: { amount: '0.1234', currency: 'USD' },
        appointment: { value: 1500.5, dealValue: { amount: '1500.50', currency: 'USD' } },
      });
      expect(data.dashboard.providerCost).toEqual({ current: { amount: '0.3234', currency: 'USD' }, previous: { amount: '0.0000' }, change: null });
      expect(data.dashboard.totalCost.current).toBe(0.3234);
      expect(data.dashboard.pipeline.current).toEqual({ amount: '1500.50', currency: 'USD' });
      expect(data.dashboard.pipelineValue.current).toBe(1500.5);
      // A call an hour ago is in today's bucket, or yesterday's just after local midnight: one bucket holds both.
      const withCalls = data.analytics.buckets.filter((bucket: { metrics: { calls: number } }) => bucket.metrics.calls > 0);
      expect(withCalls).toEqual([{ metrics: { calls: 2, cost: 0.3234, providerCost: { amount: '0.3234', currency: 'USD' } } }]);
      expect(data.agents.nodes).toEqual([{ stats: { cost: 0.3234, providerCost: { amount: '0.3234', currency: 'USD' } } }]);
    });

    it('the float fields are deprecated with a reason that names their replacement', async () => {
      const response = await server.graphql(`{ __type(name: "Call") { fields(includeDeprecated: true) { name isDeprecated deprecationReason } } }`, {
        token,
      });
      const cost = response.body.data.__type.fields.find((field: { name: string }) => field.name === 'cost');
      expect(cost).toEqual({ name: 'cost', isDeprecated: true, deprecationReason: expect.stringContaining('providerCost') });
    });
  });

  describe('User is a Node', () => {
    it('the viewer refetches through node(id), with the same fields', async () => {
      const viewer = await server.graphql(`{ viewer { user { id name email } } }`, { token });
      const { user } = viewer.body.data.viewer;
      expect(user.id).toBe(toGlobalId('User', org.users.viewer));
      const node = await server.graphql(`query ($id: ID!) { node(id: $id) { __typename ... on User { id name email } } }`, {
        token,
        variables: { id: user.id },
      });
      expect(node.body.data.node).toEqual({ __typename: 'User', ...user });
    });

    it("another member of the organisation is a node too; another organisation's user is null, as a nonexistent one", async () => {
      const other = await createOrg(db);
      const response = await server.graphql(`query ($ids: [ID!]!) { nodes(ids: $ids) { ... on User { name } } }`, {
        token,
        variables: { ids: [toGlobalId('User', org.users.admin), toGlobalId('User', other.users.admin), toGlobalId('User', '987654321987')] },
      });
      expect(response.body.data.nodes).toEqual([{ name: `admin of ${org.slug}` }, null, null]);
    });
  });

  describe('input scalars', () => {
    it('a malformed DateTime written inline is BAD_USER_INPUT before execution, as in variables', async () => {
      const inline = await server.graphql(`{ calls(filter: { startedAfter: "yesterday" }) { totalCount } }`, { token });
      expectTypeRefusal(inline, 'DateTime');
      const variables = await server.graphql(`query ($filter: CallFilter) { calls(filter: $filter) { totalCount } }`, {
        token,
        variables: { filter: { startedAfter: 'yesterday' } },
      });
      expectTypeRefusal(variables, 'filter.startedAfter');
    });
  });
});
