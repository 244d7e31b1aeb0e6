import type DataLoader from 'dataloader';
import type { TenantScope } from '../db/tenant';
import { cursorShape } from '../pagination/keyset';
import type { PageRequest } from '../pagination/pageArgs';
import {
  countCallsByParent,
  findCallsPagesByParent,
  type CallFilterSpec,
  type CallOrderSpec,
  type CallPage,
  type CallParent,
  type CallReadSpec,
} from '../queries/calls';
import type { LoaderOptions } from './byKey';
import { groupedLoader } from './grouped';

/** One parent's page request: which parent, and the arguments of its `calls` field. */
export interface CallPageKey {
  parentId: string;
  filter: CallFilterSpec;
  order: CallOrderSpec;
  page: PageRequest;
  /** Columns and joins the parent's selection needs. */
  read: CallReadSpec;
  /** callPageShape of the rest: computed once per field, not per parent. */
  shape: string;
}

/**
 * Keys that can share one statement: same filter, order, limit, direction,
 * the same set of cursors present and the same columns and joins. The
 * cursors' values may differ per parent.
 */
export function callPageShape({ filter, order, page, read }: Omit<CallPageKey, 'parentId' | 'shape'>): string {
  return JSON.stringify([filter, order, page.limit, page.backward, page.lookAhead, cursorShape(page), read.columns, read.agent, read.contact]);
}

/** A page request with its shape, for keys made outside a `calls` field (childCallKey makes those). */
export function callPageRequest(request: Omit<CallPageKey, 'parentId' | 'shape'>): Omit<CallPageKey, 'parentId'> {
  return { ...request, shape: callPageShape(request) };
}

function cacheKeyOf(key: CallPageKey): string {
  const { parentId, shape, page } = key;
  // A parent id is digits, so it cannot run into the shape; cursors' values are the only part a shape leaves out.
  return page.after || page.before ? JSON.stringify([parentId, shape, page.after, page.before]) : `${parentId} ${shape}`;
}

/**
 * `Agent.calls` / `Contact.calls` for every parent on the page at once: one
 * statement per distinct argument shape, however many parents there are.
 */
export function callPagesByParentLoader(scope: TenantScope, parent: CallParent, options: LoaderOptions): DataLoader<CallPageKey, CallPage, string> {
  return groupedLoader<CallPageKey, CallPage>({ shapeOf: (key) => key.shape, cacheKeyOf, maxBatchSize: 500 }, options, async (group) => {
    const first = group[0];
    const byParent = await findCallsPagesByParent(scope, parent, group, first.filter, first.order, first.read);
    // A parent the statement found no rows for has an empty page.
    return (key) => byParent.get(key.parentId) ?? { rows: [], hasMore: false, agents: [], contacts: [] };
  });
}

export interface CallCountKey {
  parentId: string;
  filter: CallFilterSpec;
}

/** `totalCount` of many parents' call connections: one GROUP BY per distinct filter. */
export function callCountsByParentLoader(scope: TenantScope, parent: CallParent, options: LoaderOptions): DataLoader<CallCountKey, number, string> {
  return groupedLoader<CallCountKey, number>(
    {
      shapeOf: (key) => JSON.stringify(key.filter),
      cacheKeyOf: (key) => JSON.stringify([key.parentId, key.filter]),
      maxBatchSize: 1000,
    },
    options,
    async (group) => {
      const byParent = await countCallsByParent(
        scope,
        parent,
        group.map((k) => k.parentId),
        group[0].filter,
      );
      return (key) => byParent.get(key.parentId) ?? 0;
    },
  );
}
