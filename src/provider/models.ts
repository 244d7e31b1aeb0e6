import type { UserError } from '../generated/graphql';
import type { AgentListRow, PhoneNumberListRow } from '../queries/agents';
import type { AgentConfiguration, ProviderConversation, ProviderUsage } from './api';
import type { Fetched } from './cache';

/** What the GraphQL provider types resolve from (codegen mappers): the value and whether it came stale from the cache. */
export type AgentConfigurationModel = Fetched<AgentConfiguration>;
export type ProviderConversationModel = Fetched<ProviderConversation>;
export type ProviderUsageModel = Fetched<ProviderUsage>;

/** A sync's result; every field null when it was refused (`userErrors`). */
export interface SyncProviderAgentsModel {
  agents: AgentListRow[] | null;
  phoneNumbers: PhoneNumberListRow[] | null;
  agentsCreated: number | null;
  agentsUpdated: number | null;
  phoneNumbersCreated: number | null;
  phoneNumbersUpdated: number | null;
  userErrors: UserError[];
}
