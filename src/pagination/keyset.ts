import { sql, type RawBuilder } from 'kysely';
import type { PageRequest } from './pageArgs';

export type SortDirection = 'asc' | 'desc';

/** A page as read from the database: `hasMore` says a row beyond `limit` exists (known only when the request looked ahead: PageRequest.lookAhead). */
export interface Page<Row> {
  rows: Row[];
  hasMore: boolean;
}

/** The direction the index is scanned: backward pages read the reverse order. */
export function scanDirection(page: Pick<PageRequest, 'backward'>, direction: SortDirection): SortDirection {
  if (!page.backward) return direction;
  return direction === 'asc' ? 'desc' : 'asc';
}

/**
 * Row-value comparisons on (sort column, id) for the page's cursors. Sort column
 * and id always share one direction, so `(a, b) < ($1, $2)` is a single index
 * range condition — never OFFSET, whatever the depth of the page.
 */
export function keysetBounds(sortColumn: string, idColumn: string, page: PageRequest, direction: SortDirection): RawBuilder<unknown>[] {
  const bounds: RawBuilder<unknown>[] = [];
  const row = sql`(${sql.ref(sortColumn)}, ${sql.ref(idColumn)})`;
  if (page.after) {
    const op = direction === 'desc' ? sql`<` : sql`>`;
    bounds.push(sql`${row} ${op} (${page.after.value}, ${page.after.id}::int8)`);
  }
  if (page.before) {
    const op = direction === 'desc' ? sql`>` : sql`<`;
    bounds.push(sql`${row} ${op} (${page.before.value}, ${page.before.id}::int8)`);
  }
  return bounds;
}

/** Trims the look-ahead row and restores the requested order of a backward page. */
export function finishPage<Row>(rows: Row[], page: PageRequest): Page<Row> {
  const hasMore = rows.length > page.limit;
  const kept = hasMore ? rows.slice(0, page.limit) : rows;
  return { rows: page.backward ? kept.reverse() : kept, hasMore };
}

export function and(conditions: RawBuilder<unknown>[]): RawBuilder<boolean> {
  return conditions.length === 0 ? sql<boolean>`true` : sql<boolean>`${sql.join(conditions, sql` and `)}`;
}

/** One cursor of a page as SQL: its sort value and id (parameters or columns), and whether the value is null. */
export interface KeysetBound {
  value: RawBuilder<unknown>;
  id: RawBuilder<unknown>;
  isNull: boolean;
}

/**
 * A stretch of a nullable order that one index range serves: the rows with a
 * value, ordered by (value, id), or the rows without one, ordered by id.
 */
export interface KeysetSegment {
  nulls: boolean;
  conditions: RawBuilder<unknown>[];
}

/**
 * Which cursors a page carries, and for each whether it sits in the null
 * segment of a nullable order: that bounds a different index range
 * (keysetSegments), so it is part of a page statement's shape; the cursors'
 * values are not.
 */
export function cursorShape(page: Pick<PageRequest, 'after' | 'before'>): (boolean | undefined)[] {
  return [page.after ? page.after.value === null : undefined, page.before ? page.before.value === null : undefined];
}

/**
 * Keyset conditions for an order on a column that may be null. Nulls come
 * LAST in both directions: the order is every row with a value by (value, id),
 * then every row without one by id, both in the requested direction. A row
 * comparison cannot express that (a comparison with NULL is never true), so
 * the page is read as up to two segments — each a single index range, each
 * with its own LIMIT — in scan order (forward: values, then nulls; backward:
 * nulls, then values). A cursor in the null segment bounds only by id; a
 * segment that lies wholly outside the cursors is left out. A non-nullable
 * column is one segment: the plain row comparison of `keysetBounds`.
 */
export function keysetSegments(
  sort: RawBuilder<unknown>,
  id: RawBuilder<unknown>,
  nullable: boolean,
  direction: SortDirection,
  backward: boolean,
  after: KeysetBound | undefined,
  before: KeysetBound | undefined,
): KeysetSegment[] {
  const afterOp = direction === 'desc' ? sql`<` : sql`>`;
  const beforeOp = direction === 'desc' ? sql`>` : sql`<`;
  const row = sql`(${sort}, ${id})`;
  if (!nullable) {
    const conditions: RawBuilder<unknown>[] = [];
    if (after) conditions.push(sql`${row} ${afterOp} (${after.value}, ${after.id})`);
    if (before) conditions.push(sql`${row} ${beforeOp} (${before.value}, ${before.id})`);
    return [{ nulls: false, conditions }];
  }
  const values: KeysetSegment | undefined = (() => {
    // Nothing with a value comes after a cursor in the null segment.
    if (after?.isNull) return undefined;
    const conditions = [sql`${sort} is not null`];
    if (after) conditions.push(sql`${row} ${afterOp} (${after.value}, ${after.id})`);
    if (before && !before.isNull) conditions.push(sql`${row} ${beforeOp} (${before.value}, ${before.id})`);
    return { nulls: false, conditions };
  })();
  const nulls: KeysetSegment | undefined = (() => {
    // Nothing without a value comes before a cursor in the value segment.
    if (before && !before.isNull) return undefined;
    const conditions = [sql`${sort} is null`];
    if (after?.isNull) conditions.push(sql`${id} ${afterOp} ${after.id}`);
    if (before?.isNull) conditions.push(sql`${id} ${beforeOp} ${before.id}`);
    return { nulls: true, conditions };
  })();
  const inOrder = backward ? [nulls, values] : [values, nulls];
  return inOrder.filter((segment): segment is KeysetSegment => segment !== undefined);
}
