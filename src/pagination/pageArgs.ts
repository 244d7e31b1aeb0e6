import { badUserInput } from '../graphql/errors';
import { decodeCursor, type CursorPosition, type SortValueKind } from './cursor';

export interface ConnectionArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

/**
 * A validated page request. `backward` pages (last/before) are read in the
 * reverse order and flipped back, so both directions are pure keyset scans.
 */
export interface PageRequest {
  limit: number;
  backward: boolean;
  /**
   * Whether the page reads one row past its end, which only tells whether
   * more rows follow (`pageInfo.hasNextPage`, or `hasPreviousPage` paging
   * backwards). Off when the connection's selection asks for neither: the
   * agents board would otherwise read and join 60 calls to show 50.
   */
  lookAhead: boolean;
  after: CursorPosition | undefined;
  before: CursorPosition | undefined;
}

export interface PageLimits {
  defaultPageSize: number;
  maxPageSize: number;
}

/**
 * `lookAhead`: see PageRequest (connectionSelectsMore decides it from the operation).
 * `nullable`: the sort column may be null, so a cursor may carry a null value (see keysetSegments).
 */
export function parsePageArgs(
  args: ConnectionArgs,
  ordering: string,
  kind: SortValueKind,
  limits: PageLimits,
  lookAhead: boolean,
  nullable = false,
): PageRequest {
  const { first, last } = args;
  if (first != null && last != null) throw badUserInput('Pass either first or last, not both', 'first');
  for (const [name, value] of [
    ['first', first],
    ['last', last],
  ] as const) {
    if (value == null) continue;
    if (value < 0) throw badUserInput(`${name} must not be negative`, name);
    if (value > limits.maxPageSize) throw badUserInput(`${name} must not exceed ${limits.maxPageSize}`, name);
  }
  return {
    limit: first ?? last ?? limits.defaultPageSize,
    backward: last != null,
    lookAhead,
    after: args.after != null ? decodeCursor(args.after, ordering, kind, 'after', nullable) : undefined,
    before: args.before != null ? decodeCursor(args.before, ordering, kind, 'before', nullable) : undefined,
  };
}

/** The rows a page's statement reads: the page, and the look-ahead row when asked for. */
export function scanLimit(page: Pick<PageRequest, 'limit' | 'lookAhead'>): number {
  return page.lookAhead ? page.limit + 1 : page.limit;
}
