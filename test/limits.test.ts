import { Kind, buildSchema, getIntrospectionQuery, parse } from 'graphql';
import { DEFAULT_QUERY_LIMITS, protectionFromEnv, type QueryLimits } from '../src/config/protection';
import type { Db } from '../src/db/database';
import { typeDefs } from '../src/graphql/typeDefs';
import { measureOperation, operationCost } from '../src/limits/measure';
import { openTestDb } from './support/db';
import { toGlobalId } from '../src/graphql/globalId';
import { createAgent, createCall, createCalls, createContact, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';

/**
 * Abuse limits: depth, aliases, tokens, directives and cost are refused with a
 * 400 JSON error and a code, before any SQL runs; production does not say
 * where the limits are. CORS follows an allow-list.
 */

const schema = buildSchema(typeDefs);
const cost = (query: string, variables: Record<string, unknown> = {}, operationName?: string, withSchema = true) =>
  operationCost(parse(query), operationName, variables, withSchema ? schema : undefined);

describe('operationCost: fields cost 1, connections multiply their children by the page size', () => {
  it('counts each field once', () => {
    expect(cost('{ viewer { role user { id name } } }')).toBe(5);
  });

  it('multiplies by a literal first', () => {
    expect(cost('{ calls(first: 10) { nodes { id } } }')).toBe(1 + 10 * 2);
  });

  it('multiplies by first given as a variable, or by the variable default', () => {
    const query = 'query ($n: Int) { calls(first: $n) { nodes { id } } }';
    expect(cost(query, { n: 50 })).toBe(1 + 50 * 2);
    expect(cost('query ($n: Int = 30) { calls(first: $n) { nodes { id } } }')).toBe(1 + 30 * 2);
    expect(cost('query ($n: Int = 30) { calls(first: $n) { nodes { id } } }', { n: 5 })).toBe(1 + 5 * 2);
  });

  it('counts last like first', () => {
    expect(cost('{ calls(last: 7) { nodes { id } } }')).toBe(1 + 7 * 2);
  });

  it('takes 20 for a connection without first/last, or the schema default when there is one', () => {
    expect(cost('{ calls { nodes { id } } }')).toBe(1 + 20 * 2);
    expect(cost('query ($n: Int) { calls(first: $n) { nodes { id } } }', { n: null })).toBe(1 + 20 * 2);
    // agentLeaderboard(first: Int = 10)
    expect(cost('{ agentLeaderboard(range: { preset: LAST_7_DAYS }) { rank agent { id } } }')).toBe(1 + 10 * 3);
    // Without a schema nothing says `calls` is a connection.
    expect(cost('{ calls { nodes { id } } }', {}, undefined, false)).toBe(3);
  });

  it('multiplies nested connections', () => {
    const query = '{ agents(first: 10) { nodes { calls(first: 5) { nodes { id } } } } }';
    expect(cost(query)).toBe(1 + 10 * (1 + (1 + 5 * (1 + 1))));
  });

  it('counts named and inline fragments where they are spread', () => {
    const query = `
      { calls(first: 10) { ...Page } }
      fragment Page on CallConnection { nodes { id ... on Call { status agent { ...Name } } } }
      fragment Name on Agent { name }`;
    expect(cost(query)).toBe(1 + 10 * (1 + 1 + 1 + (1 + 1)));
  });

  it('multiplies nodes(ids:) by the number of ids, and __typename is free', () => {
    expect(cost('query ($ids: [ID!]!) { nodes(ids: $ids) { id __typename } }', { ids: ['a', 'b', 'c'] })).toBe(1 + 3 * 1);
  });

  it('measures the named operation', () => {
    const document = 'query Small { viewer { role } } query Big { calls(first: 100) { nodes { id } } }';
    expect(cost(document, {}, 'Small')).toBe(2);
    expect(cost(document, {}, 'Big')).toBe(201);
  });

  it('measures exponentially spread fragments in linear time', () => {
    const fragments = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Viewer { ...F${i + 1} ...F${i + 1} }`).join('\n');
    const started = performance.now();
    const value = cost(`{ viewer { ...F0 } } ${fragments} fragment F40 on Viewer { role }`);
    expect(performance.now() - started).toBeLessThan(200);
    expect(value).toBe(1 + 2 ** 40);
  });
});

describe('field count: every selection counts, __typename and introspection too, a fragment once per spread', () => {
  const fields = (query: string) => {
    const document = parse(query);
    const operation = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    if (operation?.kind !== Kind.OPERATION_DEFINITION) throw new Error('no operation');
    return measureOperation(document, operation, {}, schema).fields;
  };

  it('counts fields and __typename', () => {
    expect(fields('{ viewer { role user { id name } } }')).toBe(5);
    expect(fields(`{ ${'__typename '.repeat(500)}}`)).toBe(500);
  });

  it('counts a fragment each time it is spread', () => {
    expect(fields('{ viewer { ...A } } fragment A on Viewer { ...B ...B } fragment B on Viewer { role __typename }')).toBe(1 + 2 * 2);
    expect(fields('{ calls { nodes { ... on Call { id status } } } }')).toBe(4);
  });

  it("counts introspection selections, so GraphiQL's introspection query is a floor for the limit", () => {
    expect(fields('{ __schema { queryType { name } } }')).toBe(3);
    const introspection = fields(getIntrospectionQuery());
    expect(introspection).toBe(220);
    expect(introspection).toBeLessThan(DEFAULT_QUERY_LIMITS.maxFields);
  });
});

describe('limits configuration', () => {
  it('has defaults, reads each limit from the environment and refuses nonsense', () => {
    const defaults = protectionFromEnv({});
    expect(defaults.queryLimits).toEqual({
      maxDepth: 12,
      maxAliases: 30,
      maxTokens: 2000,
      maxDirectives: 50,
      maxCost: 50_000,
      maxFields: 400,
      maxStringLength: 20_000,
    });
    expect(defaults.bodyLimitBytes).toBe(1024 * 1024);
    expect(defaults.corsOrigins).toEqual([]);
    expect(defaults.trustedDocuments).toEqual({ mode: 'off', manifestPath: undefined });
    const custom = protectionFromEnv({
      MAX_QUERY_DEPTH: '5',
      MAX_ALIASES: '6',
      MAX_QUERY_TOKENS: '7',
      MAX_DIRECTIVES: '8',
      MAX_QUERY_COST: '9',
      MAX_FIELDS: '11',
      MAX_STRING_LENGTH: '12',
      MAX_BODY_BYTES: '10',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173/',
    });
    expect(custom.queryLimits).toEqual({
      maxDepth: 5,
      maxAliases: 6,
      maxTokens: 7,
      maxDirectives: 8,
      maxCost: 9,
      maxFields: 11,
      maxStringLength: 12,
    });
    expect(custom.bodyLimitBytes).toBe(10);
    expect(custom.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(() => protectionFromEnv({ MAX_QUERY_DEPTH: '0' })).toThrow(/MAX_QUERY_DEPTH/);
    expect(() => protectionFromEnv({ MAX_QUERY_COST: 'lots' })).toThrow(/MAX_QUERY_COST/);
    expect(() => protectionFromEnv({ MAX_FIELDS: '-1' })).toThrow(/MAX_FIELDS/);
    expect(() => protectionFromEnv({ MAX_STRING_LENGTH: '1.5' })).toThrow(/MAX_STRING_LENGTH/);
    expect(() => protectionFromEnv({ CORS_ORIGINS: 'https://app.example.com/path' })).toThrow(/CORS_ORIGINS/);
    expect(() => protectionFromEnv({ CORS_ORIGINS: 'app.example.com' })).toThrow(/CORS_ORIGINS/);
  });
});

describe('limits over HTTP: refused with a 4xx JSON error and a code, before any database work', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let dev: TestServer;
  let prod: TestServer;
  let defaults: TestServer;
  let org: TestOrg;
  let devToken: string;
  let prodToken: string;
  let defaultsToken: string;

  const tight: QueryLimits = { maxDepth: 4, maxAliases: 3, maxTokens: 60, maxDirectives: 3, maxCost: 500, maxFields: 20, maxStringLength: 50 };

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    dev = await startTestServer({ overrides: { queryLimits: tight, corsOrigins: ['https://app.example.com'], bodyLimitBytes: 4096 } });
    prod = await startTestServer({ overrides: { env: 'production', queryLimits: tight, corsOrigins: ['*'] } });
    defaults = await startTestServer();
    org = await createOrg(db);
    [devToken, prodToken, defaultsToken] = await Promise.all([dev.tokenFor(org), prod.tokenFor(org), defaults.tokenFor(org)]);
    const agents = await Promise.all([createAgent(db, org.id), createAgent(db, org.id)]);
    const contact = await createContact(db, org.id);
    await createCalls(
      db,
      org.id,
      Array.from({ length: 6 }, (_, i) => ({ agentId: agents[i % 2]!, contactId: contact })),
    );
  });

  afterAll(async () => {
    await Promise.all([dev.close(), prod.close(), defaults.close()]);
    await closeDb();
  });

  interface GraphQLResponse {
    status: number;
    headers: Headers;
    text: string;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- inspected per case
    body: { data?: any; errors?: { message: string; locations?: unknown; extensions?: { code?: string } }[] };
  }

  const tokenOf = (server: TestServer) => (server === dev ? devToken : server === prod ? prodToken : defaultsToken);

  /** A request whose reply must be JSON without a stack trace, and whose operation ran no SQL when refused. */
  async function post(server: TestServer, payload: unknown, headers: Record<string, string> = {}): Promise<GraphQLResponse> {
    server.operations.length = 0;
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokenOf(server)}`, ...headers },
      body: JSON.stringify(payload),
    });
    return reply(response);
  }

  async function reply(response: Response): Promise<GraphQLResponse> {
    const text = await response.text();
    expect(response.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    expect(text).not.toMatch(/stacktrace|node_modules|\bat \S+ \(|\.(ts|js):\d+:\d+/);
    return { status: response.status, headers: response.headers, text, body: JSON.parse(text) as GraphQLResponse['body'] };
  }

  function expectRefused(server: TestServer, result: GraphQLResponse, code: string) {
    expect(result.status).toBe(400);
    expect(result.body.data).toBeUndefined();
    expect(result.body.errors).toHaveLength(1);
    expect(result.body.errors![0]!.extensions?.code).toBe(code);
    // Refused before execution: the operation was reported and ran no statement.
    expect(server.operations).toHaveLength(1);
    expect(server.operations[0]!.statements.count).toBe(0);
  }

  const deep = '{ calls(first: 2) { nodes { agent { calls(first: 2) { nodes { id } } } } } }'; // depth 6
  const aliased = '{ a: viewer { role } b: viewer { role } c: viewer { role } d: viewer { role } }';
  const manyTokens = `{ viewer { ${'role '.repeat(60)}} }`;
  const directives = '{ viewer { role @include(if: true) user { id @skip(if: false) name @include(if: true) email @include(if: true) } } }';
  const costly = '{ calls(first: 100) { nodes { id status agent { id name } } } }'; // 1 + 100 × 6
  const manyFields = `{ viewer { ${'__typename '.repeat(25)}} }`; // 26 fields, free of cost

  describe('development names the limit', () => {
    it('depth over the limit is QUERY_TOO_DEEP', async () => {
      const result = await post(dev, { query: deep });
      expectRefused(dev, result, 'QUERY_TOO_DEEP');
      expect(result.body.errors![0]!.message).toMatch(/6, limit 4/);
    });

    it('depth counts through fragments, but fragments add no level themselves', async () => {
      const atLimit = await post(dev, { query: '{ calls(first: 1) { ...C } } fragment C on CallConnection { nodes { agent { id } } }' });
      expect(atLimit.status).toBe(200);
      expect(atLimit.body.errors).toBeUndefined();
      const over = await post(dev, {
        query: '{ calls(first: 1) { ...C } } fragment C on CallConnection { nodes { agent { phoneNumbers { id } } } }',
      });
      expectRefused(dev, over, 'QUERY_TOO_DEEP');
    });

    it('aliases over the limit are TOO_MANY_ALIASES, counting a fragment each time it is spread', async () => {
      expectRefused(dev, await post(dev, { query: aliased }), 'TOO_MANY_ALIASES');
      const spread = '{ viewer { ...R } v: viewer { ...R } } fragment R on Viewer { r1: role r2: role }';
      expectRefused(dev, await post(dev, { query: spread }), 'TOO_MANY_ALIASES');
      const ok = await post(dev, { query: '{ a: viewer { role } b: viewer { role } c: viewer { role } }' });
      expect(ok.body.errors).toBeUndefined();
      expect(ok.body.data).toEqual({ a: { role: 'ADMIN' }, b: { role: 'ADMIN' }, c: { role: 'ADMIN' } });
    });

    it('a document over the token limit is TOO_MANY_TOKENS, and parsing stops there', async () => {
      const result = await post(dev, { query: manyTokens });
      expectRefused(dev, result, 'TOO_MANY_TOKENS');
      expect(result.body.errors![0]!.message).toMatch(/limit 60/);
      expect(result.body.errors![0]!.locations).toBeUndefined();
      // An ordinary syntax error keeps its own code.
      expect((await post(dev, { query: '{ viewer { role }' })).body.errors![0]!.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    });

    it('directives over the limit are TOO_MANY_DIRECTIVES', async () => {
      expectRefused(dev, await post(dev, { query: directives }), 'TOO_MANY_DIRECTIVES');
    });

    it('cost over the limit is QUERY_TOO_COMPLEX, with first as a literal', async () => {
      const result = await post(dev, { query: costly });
      expectRefused(dev, result, 'QUERY_TOO_COMPLEX');
      expect(result.body.errors![0]!.message).toMatch(/601, limit 500/);
    });

    it('first as a variable is counted, and so is a variable default', async () => {
      const query = 'query Page($n: Int) { calls(first: $n) { nodes { id status agent { id name } } } }';
      expectRefused(dev, await post(dev, { query, variables: { n: 100 } }), 'QUERY_TOO_COMPLEX');
      const small = await post(dev, { query, variables: { n: 10 } });
      expect(small.status).toBe(200);
      expect(small.body.data.calls.nodes).toHaveLength(6);
      const withDefault = 'query Page($n: Int = 100) { calls(first: $n) { nodes { id status agent { id name } } } }';
      expectRefused(dev, await post(dev, { query: withDefault }), 'QUERY_TOO_COMPLEX');
    });

    it('an operation that passed is checked again when its variables change', async () => {
      const query = 'query Again($n: Int) { calls(first: $n) { nodes { id status agent { id name } } } }';
      for (let i = 0; i < 2; i++) expect((await post(dev, { query, variables: { n: 10 } })).status).toBe(200);
      expectRefused(dev, await post(dev, { query, variables: { n: 100 } }), 'QUERY_TOO_COMPLEX');
      expect((await post(dev, { query, variables: { n: 10 } })).status).toBe(200);
    });

    it('a GET is limited the same way', async () => {
      dev.operations.length = 0;
      const response = await fetch(`${dev.url}/graphql?query=${encodeURIComponent(costly)}`, {
        headers: { authorization: `Bearer ${devToken}`, 'apollo-require-preflight': 'true' },
      });
      expectRefused(dev, await reply(response), 'QUERY_TOO_COMPLEX');
    });

    it('the body limit is configurable and refused with a 413 JSON error', async () => {
      const result = await post(dev, { query: '{ viewer { role } }', variables: { padding: 'x'.repeat(5000) } });
      expect(result.status).toBe(413);
      expect(result.body.errors![0]!.extensions?.code).toBe('PAYLOAD_TOO_LARGE');
      expect((await post(dev, { query: '{ viewer { role } }', variables: { padding: 'x'.repeat(3000) } })).status).toBe(200);
    });
  });

  describe('production does not say where the limits are', () => {
    const cases: [string, string][] = [
      [deep, 'QUERY_TOO_DEEP'],
      [aliased, 'TOO_MANY_ALIASES'],
      [manyTokens, 'TOO_MANY_TOKENS'],
      [directives, 'TOO_MANY_DIRECTIVES'],
      [costly, 'QUERY_TOO_COMPLEX'],
      [manyFields, 'TOO_MANY_FIELDS'],
    ];

    it.each(cases)('%s → %s, with no number in the message', async (query, code) => {
      const result = await post(prod, { query });
      expectRefused(prod, result, code);
      expect(result.body.errors![0]!.message).not.toMatch(/\d/);
      expect(result.text).not.toMatch(/\b(4|3|60|500|601)\b/);
    });

    it('introspection is refused in production and served in development', async () => {
      const query = '{ __schema { queryType { name } } }';
      const refused = await post(prod, { query });
      expect(refused.status).toBe(400);
      expect(refused.body.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(refused.body.errors![0]!.message).toMatch(/introspection/i);
      const served = await post(dev, { query });
      expect(served.body.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    });

    it('field suggestions are left out in production and given in development', async () => {
      const query = '{ viewer { rol } }';
      const production = await post(prod, { query });
      expect(production.body.errors![0]!.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(production.body.errors![0]!.message).not.toMatch(/Did you mean/);
      const development = await post(dev, { query });
      expect(development.body.errors![0]!.message).toMatch(/Did you mean "role"/);
    });
  });

  describe('the default limits', () => {
    it('let a deep dashboard operation with large pages through', async () => {
      const dashboard = `
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
          agents(first: 100) { nodes { id name calls(first: 100) { nodes { id } } } }
          dashboard(range: { preset: LAST_30_DAYS }) { totalCalls { current } }
        }`;
      const result = await post(defaults, { query: dashboard, variables: { n: 100, m: 10 } });
      expect(result.status).toBe(200);
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data.calls.edges).toHaveLength(6);
      expect(defaults.operations[0]!.statements.count).toBeGreaterThan(0);
    });

    it('refuse a third nested page of 100', async () => {
      const query = '{ calls(first: 100) { nodes { agent { calls(first: 100) { nodes { contact { calls(first: 100) { nodes { id } } } } } } } } }';
      expectRefused(defaults, await post(defaults, { query }), 'QUERY_TOO_COMPLEX');
    });
  });

  describe('fields, repeated validation errors, page sizes, long strings and subscriptions', () => {
    let callId: string;

    beforeAll(async () => {
      const agent = await createAgent(db, org.id);
      callId = toGlobalId('Call', await createCall(db, org.id, { agentId: agent }));
    });

    it('more fields than the limit is TOO_MANY_FIELDS, __typename included, before any SQL', async () => {
      const result = await post(dev, { query: manyFields });
      expectRefused(dev, result, 'TOO_MANY_FIELDS');
      expect(result.body.errors![0]!.message).toMatch(/26, limit 20/);
      const spread = await post(dev, {
        query: `{ viewer { ...F ...G } } fragment F on Viewer { ...G ...G } fragment G on Viewer { ${'__typename '.repeat(7)}}`,
      });
      expectRefused(dev, spread, 'TOO_MANY_FIELDS'); // 1 + 3 spreads × 7
      expect((await post(dev, { query: `{ viewer { ${'__typename '.repeat(19)}} }` })).status).toBe(200);
      // The default limit lets GraphiQL's introspection through and refuses 500 __typename.
      expectRefused(defaults, await post(defaults, { query: `{ ${'__typename '.repeat(500)}}` }), 'TOO_MANY_FIELDS');
      const introspection = await post(defaults, { query: getIntrospectionQuery() });
      expect(introspection.status).toBe(200);
      expect(introspection.body.errors).toBeUndefined();
    });

    it('a problem repeated in a document is one validation error, still a 400 GRAPHQL_VALIDATION_FAILED', async () => {
      const result = await post(defaults, { query: `{ viewer { role ${'@aa '.repeat(10)}} }` });
      expect(result.status).toBe(400);
      expect(result.body.errors).toHaveLength(1);
      expect(result.body.errors![0]).toMatchObject({ message: 'Unknown directive "@aa".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
      // Distinct problems are each still reported once.
      const two = await post(defaults, { query: '{ viewer { role @aa @aa @bb user { id @bb } } }' });
      expect(two.status).toBe(400);
      expect(two.body.errors!.map((error) => error.message)).toEqual(['Unknown directive "@aa".', 'Unknown directive "@bb".']);
    });

    it('first/last out of range is BAD_USER_INPUT naming the argument, literal or variable, before the cost limit', async () => {
      const query = 'query Page($n: Int) { calls(first: $n) { nodes { id status agent { id name } } } }';
      for (const n of [2 ** 40, 101, -1]) {
        const result = await post(dev, { query, variables: { n } });
        expectRefused(dev, result, 'BAD_USER_INPUT');
        expect(result.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'first' });
      }
      const literal = await post(dev, { query: '{ calls(last: 101) { nodes { id status agent { id name } } } }' });
      expectRefused(dev, literal, 'BAD_USER_INPUT');
      expect(literal.body.errors![0]).toMatchObject({ message: 'last must not exceed 100', extensions: { argument: 'last' } });
      const nested = await post(defaults, {
        query: 'query ($n: Int) { dashboard(range: { preset: TODAY }) { recentCalls(first: $n) { nodes { id } } } }',
        variables: { n: -5 },
      });
      expectRefused(defaults, nested, 'BAD_USER_INPUT');
      expect(nested.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'first' });
      const leaderboard = await post(defaults, {
        query: 'query ($n: Int) { agentLeaderboard(range: { preset: TODAY }, first: $n) { rank } }',
        variables: { n: 2 ** 40 },
      });
      expectRefused(defaults, leaderboard, 'BAD_USER_INPUT');
      expect(leaderboard.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'first' });
    });

    it('a string argument over the limit is a 400 BAD_USER_INPUT before any resolver, literal or in variables', async () => {
      const big = 'x'.repeat(200 * 1024);
      const literal = await post(defaults, { query: `{ contacts(search: "${big}") { nodes { id } } }` });
      expectRefused(defaults, literal, 'BAD_USER_INPUT');
      expect(literal.body.errors![0]).toMatchObject({ message: 'search must be at most 20000 characters', extensions: { argument: 'search' } });
      const nested = await post(defaults, { query: `{ calls(filter: { agentId: "${big}" }) { nodes { id } } }` });
      expectRefused(defaults, nested, 'BAD_USER_INPUT');
      expect(nested.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'filter.agentId' });
      const updateCall = 'mutation ($input: UpdateCallInput!) { updateCall(input: $input) { call { id notes } } }';
      const variable = await post(defaults, { query: updateCall, variables: { input: { id: callId, notes: big } } });
      expectRefused(defaults, variable, 'BAD_USER_INPUT');
      expect(variable.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: '$input.notes' });
      const createContact = 'mutation ($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }';
      const inList = await post(defaults, {
        query: createContact,
        variables: { input: { name: 'Long Tag', phone: '+14155550199', tags: ['vip', big] } },
      });
      expectRefused(defaults, inList, 'BAD_USER_INPUT');
      expect(inList.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: '$input.tags[1]' });
      // The longest note the mutation takes still goes through; characters are code points.
      const longest = await post(defaults, { query: updateCall, variables: { input: { id: callId, notes: '📞'.repeat(10_000) } } });
      expect(longest.status).toBe(200);
      expect(longest.body.errors).toBeUndefined();
      expect(longest.body.data.updateCall.call.notes).toHaveLength(20_000);
    });

    it('the string limit is configurable and production does not state it', async () => {
      const search = (text: string) => `{ contacts(search: "${text}") { nodes { id } } }`;
      expect((await post(dev, { query: search('y'.repeat(50)) })).status).toBe(200);
      expectRefused(dev, await post(dev, { query: search('y'.repeat(51)) }), 'BAD_USER_INPUT');
      const production = await post(prod, { query: search('y'.repeat(51)) });
      expectRefused(prod, production, 'BAD_USER_INPUT');
      expect(production.body.errors![0]!.extensions).toEqual({ code: 'BAD_USER_INPUT', argument: 'search' });
      expect(production.body.errors![0]!.message).toBe('search is too long');
    });

    it('a subscription is a 400 client error, logged at info level without a stack', async () => {
      const logged = await startTestServer();
      try {
        const token = await logged.tokenFor(org);
        for (const query of ['subscription { callsInProgress { change } }', 'subscription Watch { callUpdated(id: "x") { id } }']) {
          const result = await logged.graphql(query, { token });
          expect(result.status).toBe(400);
          expect(result.body.errors).toEqual([
            {
              message:
                'Subscriptions are served over WebSocket at /graphql (graphql-transport-ws) and SSE at /graphql/stream; send a query or a mutation here',
              extensions: { code: 'OPERATION_NOT_SUPPORTED' },
            },
          ]);
          const requestId = result.headers.get('x-request-id');
          const lines = logged.logs.filter((line) => line.requestId === requestId);
          expect(lines.length).toBeGreaterThan(0);
          for (const line of lines) {
            expect(line.level).toBeLessThanOrEqual(30);
            expect(JSON.stringify(line)).not.toMatch(/stack/);
          }
        }
      } finally {
        await logged.close();
      }
    });
  });

  describe('CORS', () => {
    const origin = 'https://app.example.com';

    it('an allowed origin gets its origin back, with Vary and credentials', async () => {
      const result = await post(dev, { query: '{ viewer { role } }' }, { origin });
      expect(result.status).toBe(200);
      expect(result.headers.get('access-control-allow-origin')).toBe(origin);
      expect(result.headers.get('access-control-allow-credentials')).toBe('true');
      expect(result.headers.get('vary')).toMatch(/origin/i);
    });

    it('an unknown origin gets no CORS headers, so the browser keeps the response from it', async () => {
      const result = await post(dev, { query: '{ viewer { role } }' }, { origin: 'https://evil.example' });
      expect(result.headers.get('access-control-allow-origin')).toBeNull();
      expect(result.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('a preflight from an allowed origin is answered with the methods and headers', async () => {
      dev.operations.length = 0;
      const response = await fetch(`${dev.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('access-control-allow-methods')).toMatch(/POST/);
      expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization/);
      expect(response.headers.get('access-control-allow-headers')).toMatch(/content-type/);
      expect(response.headers.get('access-control-max-age')).toBe('600');
      expect(dev.operations).toHaveLength(0);
    });

    it('a preflight from an unknown origin gets no CORS headers', async () => {
      const response = await fetch(`${dev.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-methods')).toBeNull();
    });

    it('a wildcard allow-list answers * and never allows credentials with it', async () => {
      const result = await post(prod, { query: '{ viewer { role } }' }, { origin: 'https://anyone.example' });
      expect(result.status).toBe(200);
      expect(result.headers.get('access-control-allow-origin')).toBe('*');
      expect(result.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('without an allow-list there are no CORS headers at all', async () => {
      const result = await post(defaults, { query: '{ viewer { role } }' }, { origin });
      expect(result.headers.get('access-control-allow-origin')).toBeNull();
    });
  });
});
