import type { QueryResolvers, ViewerResolvers, OrganisationResolvers, UserResolvers } from '../generated/graphql';
import { unauthenticated } from '../graphql/errors';
import { localIdOf, toGlobalId } from '../graphql/globalId';
import { rootAgentConnection } from './agents';
import { rootCallConnection } from './calls';
import { rootContactConnection } from './contacts';
import { toGraphQLEnum } from './enums';
import { checkNodeCount, loadNode } from './nodes';
import { statsQueries } from './stats';
import { fromProvider } from './provider';

export const Query: QueryResolvers = {
  viewer: (_root, _args, ctx) => ctx,
  node: (_root, { id }, ctx) => loadNode(ctx, id),
  nodes: (_root, { ids }, ctx) => {
    checkNodeCount(ids);
    return Promise.all(ids.map((id) => loadNode(ctx, id)));
  },
  calls: (_root, args, ctx, info) => rootCallConnection(ctx, args, info),
  call: (_root, { id }, ctx) => ctx.loaders.callById.load(localIdOf('Call', id, 'id')),
  agents: (_root, args, ctx, info) => rootAgentConnection(ctx, args, info),
  agent: (_root, { id }, ctx) => ctx.loaders.agentById.load(localIdOf('Agent', id, 'id')),
  contacts: (_root, args, ctx, info) => rootContactConnection(ctx, args, info),
  contact: (_root, { id }, ctx) => ctx.loaders.contactById.load(localIdOf('Contact', id, 'id')),
  ...statsQueries,
};

export const Viewer: ViewerResolvers = {
  role: (ctx) => toGraphQLEnum(ctx.role),
  organisation: async (ctx) => {
    const organisation = await ctx.loaders.organisationById.load(ctx.orgId);
    // A validly signed token for an organisation that no longer exists.
    if (!organisation) throw unauthenticated('The organisation in this token does not exist');
    return organisation;
  },
  user: async (ctx) => {
    const user = await ctx.loaders.memberById.load(ctx.userId);
    if (!user) throw unauthenticated('The user in this token is not a member of its organisation');
    return user;
  },
};

export const Organisation: OrganisationResolvers = {
  id: (org) => toGlobalId('Organisation', org.id),
  slug: (org) => org.slug,
  name: (org) => org.name,
  timezone: (org) => org.timezone,
  createdAt: (org) => org.created_at,
  // Only the caller's own organisation is ever reachable; the provider account is the caller's.
  providerUsage: (org, _args, ctx) => (org.id === ctx.orgId ? fromProvider(() => ctx.provider.usage()) : null),
};

export const User: UserResolvers = {
  id: (user) => toGlobalId('User', user.id),
  name: (user) => user.name,
  email: (user) => user.email,
};
