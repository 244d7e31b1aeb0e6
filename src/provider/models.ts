import type { AgentListRow, PhoneNumberListRow } from '../queries/agents';
import type { AgentConfiguration, ProviderConversation, ProviderUsage } from './api';
import type { Fetched } from './cache';

/** What the GraphQL provider types resolve from (codegen mappers): the value and whether it came stale from the cache. */
export type AgentConfigurationModel = Fetched<AgentConfiguration>;
export type ProviderConversationModel = Fetched<ProviderConversation>;
export type ProviderUsageModel = Fetched<ProviderUsage>;

export interface SyncProviderAgentsModel {
  agents: AgentListRow[];
  phoneNumbers: PhoneNumberListRow[];
  agentsCreated: number;
  agentsUpdated: number;
  phoneNumbersCreated: number;
  phoneNumbersUpdated: number;
}
