import type { GraphQLResolveInfo } from 'graphql';
import { toGlobalId } from '../graphql/globalId';
import { connectionSelectsMore } from '../graphql/selection';
import type { ContactResolvers, QueryContactsArgs } from '../generated/graphql';
import type { Context } from '../graphql/context';
import { encodeCursor } from '../pagination/cursor';
import { toConnection, type Connection } from '../pagination/connection';
import { parsePageArgs } from '../pagination/pageArgs';
import {
  CONTACT_SORT_KINDS,
  contactOrdering,
  countContacts,
  findContactsPage,
  tierOf,
  type ContactFilterSpec,
  type ContactListRow,
} from '../queries/contacts';
import { WHOLE_CALL_ROWS } from '../queries/calls';
import { callPageRequest } from '../loaders/callPages';
import { contactOrderSpec, contactSearch } from './args';
import { childCallConnection } from './calls';
import { toDbEnum, toGraphQLEnum } from './enums';

export async function rootContactConnection(ctx: Context, args: QueryContactsArgs, info: GraphQLResolveInfo): Promise<Connection<ContactListRow>> {
  const filter: ContactFilterSpec = {};
  const search = contactSearch(args.search);
  if (search) filter.search = search;
  if (args.tier) filter.tier = toDbEnum(args.tier);
  if (args.status) filter.status = toDbEnum(args.status);
  const order = contactOrderSpec(args.orderBy);
  const ordering = contactOrdering(order);
  const page = parsePageArgs(args, ordering, CONTACT_SORT_KINDS[order.field], ctx.limits, connectionSelectsMore(info));
  const result = await findContactsPage(ctx.scope, filter, order, page);
  for (const row of result.rows) ctx.loaders.contactById.prime(row.id, row);
  const cursorOf = (row: ContactListRow) => encodeCursor(ordering, row[order.field], row.id);
  return toConnection(result, page, cursorOf, () => countContacts(ctx.scope, filter));
}

/** `Contact.lastCall`'s page of each contact's calls. */
const NEWEST_CALL = callPageRequest({
  filter: {},
  order: { field: 'started_at', direction: 'desc' },
  page: { limit: 1, backward: false, lookAhead: false, after: undefined, before: undefined },
  read: WHOLE_CALL_ROWS,
});

export const Contact: ContactResolvers = {
  id: (contact) => toGlobalId('Contact', contact.id),
  name: (contact) => contact.name,
  phone: (contact) => contact.phone,
  email: (contact) => contact.email,
  leadScore: (contact) => contact.lead_score,
  tier: (contact) => toGraphQLEnum(tierOf(contact.lead_score)),
  status: (contact) => toGraphQLEnum(contact.status),
  tags: (contact) => contact.tags,
  metadata: async (contact, _args, ctx) => (await ctx.loaders.contactMetadataById.load(contact.id))?.metadata ?? {},
  createdAt: (contact) => contact.created_at,
  updatedAt: (contact) => contact.updated_at,
  lastContactedAt: (contact) => contact.last_contacted_at,
  // The newest call is a one-row page of the contact's calls: same loader,
  // same index, batched across every contact on the page.
  lastCall: async (contact, _args, ctx) => {
    const page = await ctx.loaders.callsByContact.load({ parentId: contact.id, ...NEWEST_CALL });
    return page.rows[0] ?? null;
  },
  appointments: (contact, _args, ctx) => ctx.loaders.appointmentsByContactId.load(contact.id),
  calls: (contact, args, ctx, info) => childCallConnection(ctx, 'contact_id', contact.id, args, info),
};
