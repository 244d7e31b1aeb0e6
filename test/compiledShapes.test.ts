import { sql } from 'kysely';
import { CompiledShapes, slot } from '../src/db/compiledShapes';
import type { Db } from '../src/db/database';
import { openTestDb } from './support/db';

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
