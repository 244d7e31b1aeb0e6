import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { openTestDb } from './support/db';
import { createAgent, createCalls, createContact, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type GraphQLResponse, type TestServer } from './support/server';

/**
 * A cursor is client input that becomes SQL parameters. Whatever a client
 * sends as `after`/`before` — a forged year, a number past the column's type,
 * random bytes — the answer is a page or BAD_USER_INPUT naming the argument,
 * never a database error.
 */

const encode = (parts: unknown) => Buffer.from(JSON.stringify(parts), 'utf8').toString('base64url');

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ConnectionCase {
  name: string;
  /** A document with `$after`/`$before`/`$first`/`$last`, reading `pageInfo { endCursor }` of the list at `path`. */
  query: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response data of the case's own query
  path: (data: any) => { pageInfo: { endCursor: string | null } };
}

describe('cursors: a forged cursor is BAD_USER_INPUT naming the argument, never a database error', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;
  let agentId: string;
  const validCursors = new Map<string, string>();

  const page = 'pageInfo { endCursor } edges { cursor }';
  const args = 'first: $first, after: $after, last: $last, before: $before';
  const variables = '($first: Int, $after: String, $last: Int, $before: String, $agent: ID!)';
  const connections = (): ConnectionCase[] => [
    { name: 'calls', query: `query ${variables} { calls(${args}) { ${page} } agent(id: $agent) { id } }`, path: (d) => d.calls },
    {
      name: 'calls ASC',
      query: `query ${variables} { calls(orderBy: { direction: ASC }, ${args}) { ${page} } agent(id: $agent) { id } }`,
      path: (d) => d.calls,
    },
    ...(['CREATED_AT', 'LEAD_SCORE', 'NAME'] as const).map((field) => ({
      name: `contacts by ${field}`,
      query: `query ${variables} { contacts(orderBy: { field: ${field} }, ${args}) { ${page} } agent(id: $agent) { id } }`,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response data
      path: (d: any) => d.contacts,
    })),
    { name: 'agents', query: `query ${variables} { agents(${args}) { ${page} } agent(id: $agent) { id } }`, path: (d) => d.agents },
    { name: "an agent's calls", query: `query ${variables} { agent(id: $agent) { calls(${args}) { ${page} } } }`, path: (d) => d.agent.calls },
  ];

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    token = await server.tokenFor(org);
    const agents = [await createAgent(db, org.id, { name: 'Ada' }), await createAgent(db, org.id, { name: 'Bea' })];
    agentId = toGlobalId('Agent', agents[0]!);
    const contacts: string[] = [];
    for (const leadScore of [10, 55, 90]) contacts.push(await createContact(db, org.id, { leadScore }));
    await createCalls(
      db,
      org.id,
      Array.from({ length: 5 }, (_, i) => ({ agentId: agents[i % 2]!, contactId: contacts[i % 3]! })),
    );
    for (const connection of connections()) {
      const reply = await send(connection, 'after', undefined);
      expect(reply.body.errors).toBeUndefined();
      validCursors.set(connection.name, connection.path(reply.body.data).pageInfo.endCursor!);
    }
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  function send(connection: ConnectionCase, argument: 'after' | 'before', cursor: string | undefined): Promise<GraphQLResponse> {
    const direction = argument === 'after' ? { first: 1, after: cursor } : { last: 1, before: cursor };
    return server.graphql(connection.query, { token, variables: { agent: agentId, ...direction } });
  }

  /** The promise: a page, or a 2xx/4xx BAD_USER_INPUT that names the cursor argument. */
  function expectPageOrRefusal(reply: GraphQLResponse, argument: 'after' | 'before', label: string): 'page' | 'refused' {
    const summary = `${label}: ${reply.status} ${JSON.stringify(reply.body.errors)}`;
    expect({ summary, serverError: reply.status >= 500 }).toEqual({ summary, serverError: false });
    if (!reply.body.errors) return 'page';
    for (const error of reply.body.errors) {
      expect({ summary, extensions: error.extensions }).toEqual({ summary, extensions: { code: 'BAD_USER_INPUT', argument } });
    }
    return 'refused';
  }

  describe('values PostgreSQL would refuse are refused first', () => {
    const calls = () => connections()[0]!;
    const cases: [string, () => [ConnectionCase, unknown[]]][] = [
      ['a year JavaScript takes and PostgreSQL does not', () => [calls(), ['calls.started_at.desc', '-200000-01-01T00:00:00.000Z', '1']]],
      ['year 0', () => [calls(), ['calls.started_at.desc', '0000-06-01T00:00:00.000Z', '1']]],
      ['a date that is not the ISO form encodeCursor writes', () => [calls(), ['calls.started_at.desc', '2024-01-01', '1']]],
      ['a date that does not exist', () => [calls(), ['calls.started_at.desc', '2024-02-30T00:00:00.000Z', '1']]],
      ['a lead score past smallint', () => [connections()[3]!, ['contacts.lead_score.desc', 2 ** 31, '1']]],
      ['a lead score that is not an integer', () => [connections()[3]!, ['contacts.lead_score.desc', 1.5, '1']]],
      ['text with a NUL', () => [connections()[5]!, ['agents.name.asc', 'A\u0000', '1']]],
      ['an id past int8', () => [calls(), ['calls.started_at.desc', '2024-01-01T00:00:00.000Z', '9223372036854775808']]],
      ['an id that is a number', () => [calls(), ['calls.started_at.desc', '2024-01-01T00:00:00.000Z', 1]]],
      ["another list's ordering", () => [calls(), ['calls.started_at.asc', '2024-01-01T00:00:00.000Z', '1']]],
    ];

    it.each(cases)('%s', async (_label, build) => {
      const [connection, parts] = build();
      for (const argument of ['after', 'before'] as const) {
        const reply = await send(connection, argument, encode(parts));
        expect(reply.body.errors).toEqual([
          expect.objectContaining({ message: `${argument} is not a valid cursor for this list`, extensions: { code: 'BAD_USER_INPUT', argument } }),
        ]);
      }
    });

    it('the largest int8 id and the extreme years PostgreSQL holds are valid positions', async () => {
      for (const parts of [
        ['calls.started_at.desc', '2024-01-01T00:00:00.000Z', '9223372036854775807'],
        ['calls.started_at.desc', '0001-01-01T00:00:00.000Z', '1'],
        ['calls.started_at.desc', '9999-12-31T23:59:59.999Z', '1'],
      ]) {
        const reply = await send(calls(), 'after', encode(parts));
        expect(reply.body.errors).toBeUndefined();
      }
    });
  });

  it('random and mutated cursors, through every list and both directions, give a page or BAD_USER_INPUT (300 cases, seeded)', async () => {
    const seed = 20_261_129;
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const int = (max: number) => Math.floor(random() * max);
    const extremes: unknown[] = [
      '-200000-01-01T00:00:00.000Z',
      '+275760-09-13T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
      '2024-13-01T00:00:00.000Z',
      '2024-01-01T00:00:00Z',
      '2024-01-01T00:00:00.000+01:00',
      'NaN',
      'Infinity',
      '',
      ' ',
      'null',
      0,
      -1,
      1.5,
      -0,
      32_767,
      32_768,
      -32_769,
      2 ** 31,
      2 ** 53,
      1e308,
      -1e308,
      Number.MAX_SAFE_INTEGER,
      '0',
      '-1',
      '01',
      '1e3',
      ' 1',
      '9223372036854775807',
      '9223372036854775808',
      '99999999999999999999',
      'x'.repeat(301),
      'A\u0000B',
      '\ud800',
      null,
      true,
      false,
      [],
      [[]],
      {},
      { a: 1 },
      ['calls.started_at.desc', '2024-01-01T00:00:00.000Z', '1'],
    ];
    const randomJson = (depth: number): unknown => {
      switch (int(depth > 2 ? 5 : 7)) {
        case 0:
          return pick(extremes);
        case 1:
          return (random() - 0.5) * 10 ** int(20);
        case 2:
          return random()
            .toString(36)
            .slice(2, 2 + int(12));
        case 3:
          return null;
        case 4:
          return random() < 0.5;
        case 5:
          return Array.from({ length: int(5) }, () => randomJson(depth + 1));
        default:
          return { k: randomJson(depth + 1) };
      }
    };
    const orderings = [
      'calls.started_at.desc',
      'calls.started_at.asc',
      'contacts.created_at.desc',
      'contacts.lead_score.desc',
      'contacts.name.desc',
      'agents.name.asc',
      'nonsense',
    ];
    const generate = (connection: ConnectionCase): string => {
      const valid = validCursors.get(connection.name)!;
      switch (int(6)) {
        case 0:
          return Buffer.from(Array.from({ length: int(80) }, () => int(256))).toString(pick(['base64url', 'base64', 'latin1']));
        case 1:
          return encode(Array.from({ length: int(5) }, () => randomJson(0)));
        case 2:
          return valid; // unchanged: must still be a page
        case 3:
          return validCursors.get(pick([...validCursors.keys()]))!; // another list's cursor
        default: {
          const parts = JSON.parse(Buffer.from(valid, 'base64url').toString('utf8')) as unknown[];
          const index = int(4);
          if (index === 3)
            parts.push(pick(extremes)); // an extra element
          else parts[index] = index === 0 ? pick(orderings) : pick(extremes);
          return random() < 0.1 ? encode(parts).slice(0, -int(4) - 1) : encode(parts);
        }
      }
    };

    const outcomes = { page: 0, refused: 0 };
    const started = performance.now();
    const all = connections();
    for (let index = 0; index < 300 && performance.now() - started < 20_000; index += 1) {
      const connection = pick(all);
      const argument = pick(['after', 'before'] as const);
      const cursor = generate(connection);
      const reply = await send(connection, argument, cursor);
      outcomes[expectPageOrRefusal(reply, argument, `seed ${seed} case ${index} ${connection.name} ${argument} ${cursor}`)] += 1;
    }
    expect(outcomes.page + outcomes.refused).toBe(300);
    expect(outcomes.page).toBeGreaterThan(10);
    expect(outcomes.refused).toBeGreaterThan(100);
  });
});
