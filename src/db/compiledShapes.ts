import type { CompiledQuery, Kysely, RawBuilder } from 'kysely';

/**
 * Statements compiled once per shape. A hot list statement is built from
 * many Kysely fragments (a reference per column, a node per value) and
 * compiled to text on every request: 70 µs of the agents board's CPU, for a
 * text that only changes when the operation's shape does. Here it is built
 * once per shape, with a slot wherever a value differs between requests of
 * that shape (the organisation, a cursor's values), and each request only
 * fills the slots of the compiled parameters.
 *
 * The contract is the caller's: its shape key must name everything that
 * decides the statement's text or its other parameters, so that only the
 * slots differ. Outside production every request also builds the statement
 * afresh and fails loudly when the two differ, so a shape key that misses
 * something breaks the tests rather than a tenant's answer.
 */
export class Slot {
  constructor(readonly name: string) {}
}

/**
 * A stand-in for a value of type T in a statement built for CompiledShapes.
 * Typed as T so the usual statement builders take it; it may only ever reach
 * a statement as a parameter (`${value}`), never steer how it is built.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the type is the point: typed as what it stands in for.
export const slot = <T>(name: string): T => new Slot(name) as unknown as T;

export interface CompiledShapesOptions {
  /** Distinct shapes kept; past it the oldest is dropped (a shape holds each filter's values, so they are unbounded). */
  capacity: number;
}

const CHECKED = process.env.NODE_ENV !== 'production';

export class CompiledShapes<Row> {
  private readonly shapes = new Map<string, CompiledQuery<Row>>();

  constructor(private readonly options: CompiledShapesOptions) {}

  /**
   * The statement of `shape`, with its slots filled from `values`. `build`
   * makes the statement with `slot(name)` where `values[name]` belongs; it
   * runs only for a shape not seen yet (and outside production, every time).
   */
  statement<DB>(db: Kysely<DB>, shape: string, values: Readonly<Record<string, unknown>>, build: () => RawBuilder<Row>): CompiledQuery<Row> {
    let compiled = this.shapes.get(shape);
    if (!compiled) {
      compiled = build().compile(db);
      if (this.shapes.size >= this.options.capacity) this.shapes.delete(this.shapes.keys().next().value as string);
      this.shapes.set(shape, compiled);
    } else if (CHECKED) {
      assertSameStatement(build().compile(db), compiled, values, shape);
    }
    return { ...compiled, parameters: fill(compiled.parameters, values) };
  }
}

function fill(parameters: readonly unknown[], values: Readonly<Record<string, unknown>>): unknown[] {
  return parameters.map((parameter) => {
    if (!(parameter instanceof Slot)) return parameter;
    if (!(parameter.name in values)) throw new Error(`no value for slot ${parameter.name}`);
    return values[parameter.name];
  });
}

function assertSameStatement(fresh: CompiledQuery, cached: CompiledQuery, values: Readonly<Record<string, unknown>>, shape: string): void {
  const same = fresh.sql === cached.sql && JSON.stringify(fill(fresh.parameters, values)) === JSON.stringify(fill(cached.parameters, values));
  if (!same) throw new Error(`the shape key ${shape} does not decide its statement: a cached statement differs from a fresh one`);
}
