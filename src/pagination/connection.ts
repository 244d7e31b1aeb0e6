import type { Page } from './keyset';
import type { PageRequest } from './pageArgs';

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor: string | null;
  endCursor: string | null;
}

/**
 * What a connection field resolves to. `totalCount` is a thunk: the count
 * statement runs only if a client selects the field.
 */
export interface Connection<Row> {
  rows: Row[];
  pageInfo: PageInfo;
  cursorOf: (row: Row) => string;
  totalCount: () => Promise<number>;
}

export function toConnection<Row>(
  page: Page<Row>,
  request: PageRequest,
  cursorOf: (row: Row) => string,
  totalCount: () => Promise<number>,
): Connection<Row> {
  const first = page.rows[0];
  const last = page.rows[page.rows.length - 1];
  return {
    rows: page.rows,
    cursorOf,
    totalCount,
    pageInfo: {
      // Relay lets a server report the side it did not scan as "a cursor was
      // given"; knowing more would cost an extra query per page.
      hasNextPage: request.backward ? request.before !== undefined : page.hasMore,
      hasPreviousPage: request.backward ? page.hasMore : request.after !== undefined,
      // Getters: a cursor is encoded only when a client selects it (the agents board's 10 nested connections
      // select none, and would otherwise encode 20).
      get startCursor() {
        return first ? cursorOf(first) : null;
      },
      get endCursor() {
        return last ? cursorOf(last) : null;
      },
    },
  };
}
