import { sql, type RawBuilder } from 'kysely';
import type { PageRequest } from './pageArgs';

export type SortDirection = 'asc' | 'desc';

/** A page as read from the database: `hasMore` says a row beyond `limit` exists. */
export interface Page<Row> {
  rows: Row[];
  hasMore: boolean;
}

/** The direction the index is scanned: backward pages read the reverse order. */
export function scanDirection(page: PageRequest, direction: SortDirection): SortDirection {
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
