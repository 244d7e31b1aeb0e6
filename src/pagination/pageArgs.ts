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
  after: CursorPosition | undefined;
  before: CursorPosition | undefined;
}

export interface PageLimits {
  defaultPageSize: number;
  maxPageSize: number;
}

/** `nullable`: the sort column may be null, so a cursor may carry a null value (see keysetSegments). */
export function parsePageArgs(args: ConnectionArgs, ordering: string, kind: SortValueKind, limits: PageLimits, nullable = false): PageRequest {
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
    after: args.after != null ? decodeCursor(args.after, ordering, kind, 'after', nullable) : undefined,
    before: args.before != null ? decodeCursor(args.before, ordering, kind, 'before', nullable) : undefined,
  };
}
