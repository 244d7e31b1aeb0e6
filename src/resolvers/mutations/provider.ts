import type { MutationResolvers } from '../../generated/graphql';
import type { Context } from '../../graphql/context';
import { providerFailure } from '../../graphql/errors';
import { ProviderError } from '../../provider/errors';
import { upsertProviderAgents, upsertProviderPhoneNumbers } from '../../queries/providerAccounts';
import { requireRole } from './access';
import { refuse, withUserErrors } from './userErrors';
import { write } from './write';

export const providerMutations: Pick<MutationResolvers, 'syncProviderAgents'> = {
  syncProviderAgents: async (_root, _args, ctx) => {
    requireRole(ctx.role, 'configuration');
    const failed = {
      agents: null,
      phoneNumbers: null,
      agentsCreated: null,
      agentsUpdated: null,
      phoneNumbersCreated: null,
      phoneNumbersUpdated: null,
    };
    return withUserErrors(failed, () => sync(ctx));
  },
};

async function sync(ctx: Context) {
  // Read first, outside the transaction: no row is locked while the provider answers.
  let listings;
  try {
    listings = await ctx.provider.listings();
  } catch (error) {
    if (error instanceof ProviderError) throw providerFailure(error);
    throw error;
  }
  if (!listings) throw refuse(null, 'NOT_CONFIGURED', 'No voice provider is configured for this organisation (PROVIDER_URL and its API key)');
  const provider = ctx.provider.name;
  // Agents first, then phone numbers: the lock order every agent write uses.
  const { agents, phoneNumbers } = await write(ctx, async (tx) => ({
    agents: await upsertProviderAgents(tx, provider, listings.agents),
    phoneNumbers: await upsertProviderPhoneNumbers(tx, provider, listings.phoneNumbers),
  }));
  for (const agent of agents.rows) ctx.loaders.agentById.prime(agent.id, agent);
  for (const phoneNumber of phoneNumbers.rows) ctx.loaders.phoneNumberById.prime(phoneNumber.id, phoneNumber);
  return {
    agents: agents.rows,
    phoneNumbers: phoneNumbers.rows,
    agentsCreated: agents.created,
    agentsUpdated: agents.updated,
    phoneNumbersCreated: phoneNumbers.created,
    phoneNumbersUpdated: phoneNumbers.updated,
  };
}
