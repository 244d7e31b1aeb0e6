import type { MutationResolvers } from '../../generated/graphql';
import { agentMutations } from './agents';
import { appointmentMutations } from './appointments';
import { callMutations } from './calls';
import { contactMutations } from './contacts';
import { providerMutations } from './provider';

/**
 * Every mutation: role check, then input rules, then one transaction whose
 * statements are all scoped to the caller's organisation (src/queries/*Writes.ts).
 * Payload fields resolve through the request's loaders, like any query.
 */
export const Mutation: MutationResolvers = {
  ...contactMutations,
  ...agentMutations,
  ...callMutations,
  ...appointmentMutations,
  ...providerMutations,
};
