import { sql } from 'kysely';
import { CompiledShapes, slot } from '../src/db/compiledShapes';
import type { Db } from '../src/db/database';
import { tenantScope } from '../src/db/tenant';
import { callPageRequest } from '../src/loaders/callPages';
import { openTestDb } from './support/db';
import { createAgent, createCalls, createContact, createOrg } from './support/factories';

/** A statement whose text depends on `upper` and whose parameters are `base` (a slot) and `step`. */
function numbers(shapes: CompiledShapes<{ n: number }>, db: Db, key: string, base: number, step: number, upper: boolean) {
  return shapes.statement(db, key, { base }, () => {
    const label = upper ? sql.raw('N') : sql.raw('n');
    return sql<{ n: number }>`select (${slot<number>('base')}::int + ${step}::int) as ${label}`;
  });
}

describe('statements compiled once per shape', () => {
  let db: Db;
  let close: () => Promise<void>;
  beforeAll(() => ({ db, close } = openTestDb(1)));
  afterAll(() => close());

  it('fills each request’s slots into the statement compiled for its shape', async () => {
    const shapes = new CompiledShapes<{ n: number }>({ capacity: 10 });
    const first = numbers(shapes, db, 'step 1', 10, 1, false);
    const second = numbers(shapes, db, 'step 1', 20, 1, false);
    // One compiled text, reused: the very same string.
    expect(second.sql).toBe(first.sql);
    expect((await db.executeQuery(first)).rows).toEqual([{ n: 11 }]);
    expect((await db.executeQuery(second)).rows).toEqual([{ n: 21 }]);
  });

  it('fails loudly, outside production, when a shape key does not decide the text or the other parameters', () => {
    const shapes = new CompiledShapes<{ n: number }>({ capacity: 10 });
    numbers(shapes, db, 'too coarse', 1, 1, false);
    expect(() => numbers(shapes, db, 'too coarse', 1, 2, false)).toThrow(/does not decide its statement/);
    expect(() => numbers(shapes, db, 'too coarse', 1, 1, true)).toThrow(/does not decide its statement/);
  });

  it('keeps at most its capacity of shapes, dropping the oldest', () => {
    const shapes = new CompiledShapes<{ n: number }>({ capacity: 2 });
    numbers(shapes, db, 'a', 1, 1, false);
    numbers(shapes, db, 'b', 1, 2, false);
    numbers(shapes, db, 'c', 1, 3, false);
    // 'a' was dropped, so another statement under its key is compiled afresh rather than compared.
    expect(() => numbers(shapes, db, 'a', 1, 4, false)).not.toThrow();
    expect(() => numbers(shapes, db, 'c', 1, 4, false)).toThrow(/does not decide its statement/);
  });
});

describe('statements compiled once per shape, as production runs them (no second build to compare)', () => {
  let db: Db;
  let close: () => Promise<void>;
  let calls: typeof import('../src/queries/calls');
  const orgs: { id: string; agent: string; callIds: string[] }[] = [];

  beforeAll(async () => {
    ({ db, close } = openTestDb());
    // A fresh copy of the query modules that believes it is in production: cached statements are used as they are.
    const environment = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    jest.isolateModules(() => {
      calls = jest.requireActual<typeof import('../src/queries/calls')>('../src/queries/calls');
    });
    process.env.NODE_ENV = environment;
    for (let i = 0; i < 2; i++) {
      const org = await createOrg(db);
      const agent = await createAgent(db, org.id);
      const contact = await createContact(db, org.id);
      const callIds = await createCalls(
        db,
        org.id,
        Array.from({ length: 3 }, () => ({ agentId: agent, contactId: contact })),
      );
      orgs.push({ id: org.id, agent, callIds });
    }
  });
  afterAll(() => close());

  const page = { limit: 10, backward: false, lookAhead: true, after: undefined, before: undefined };
  const order = { field: 'started_at', direction: 'desc' } as const;

  it('reads each organisation’s own calls, one after the other on the same shape', async () => {
    for (const org of [...orgs, ...orgs]) {
      const result = await calls.findCallsPage(tenantScope(db, org.id), {}, order, page);
      expect(result.rows.map((row) => row.id).sort()).toEqual([...org.callIds].sort());
      expect(new Set(result.rows.map((row) => row.org_id))).toEqual(new Set([org.id]));
    }
  });

  it('builds each organisation’s own agents board, one after the other on the same shape', async () => {
    const read = { columns: calls.CALL_LIST_COLUMNS, agent: null, contact: ['id', 'name'] as const };
    for (const org of [...orgs, ...orgs]) {
      const request = callPageRequest({ filter: {}, order, page: { ...page, limit: 5 }, read });
      const board = await calls.findAgentsBoard(tenantScope(db, org.id), {}, { field: 'name', direction: 'asc' }, page, request);
      expect(board.agents.rows.map((agent) => agent.id)).toEqual([org.agent]);
      expect(
        board.calls
          .get(org.agent)!
          .rows.map((call) => call.id)
          .sort(),
      ).toEqual([...org.callIds].sort());
    }
  });
});
