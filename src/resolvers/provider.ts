import type {
  AgentConfigurationResolvers,
  ProviderConversationResolvers,
  ProviderEvaluationResolvers,
  ProviderTranscriptTurnResolvers,
  ProviderUsageResolvers,
  SyncProviderAgentsPayloadResolvers,
} from '../generated/graphql';
import { providerFailure } from '../graphql/errors';
import type { Fetched } from '../provider/cache';
import { ProviderError } from '../provider/errors';

/**
 * A provider field's value: what the request's provider loaders answer, or
 * the provider failure as this field's error (the rest of the response is
 * unaffected). Anything else is a bug and stays one.
 */
export async function fromProvider<T>(read: () => Promise<Fetched<T> | null>): Promise<Fetched<T> | null> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof ProviderError) throw providerFailure(error);
    throw error;
  }
}

export const AgentConfiguration: AgentConfigurationResolvers = {
  name: ({ value }) => value.name,
  voiceId: ({ value }) => value.voiceId,
  voiceName: ({ value }) => value.voiceName,
  ttsModel: ({ value }) => value.ttsModel,
  model: ({ value }) => value.model,
  language: ({ value }) => value.language,
  firstMessage: ({ value }) => value.firstMessage,
  promptSummary: ({ value }) => value.promptSummary,
  updatedAt: ({ value }) => value.updatedAt,
  stale: ({ stale }) => stale,
  fetchedAt: ({ fetchedAt }) => fetchedAt,
};

export const ProviderConversation: ProviderConversationResolvers = {
  conversationId: ({ value }) => value.conversationId,
  status: ({ value }) => value.status,
  outcome: ({ value }) => value.outcome,
  summary: ({ value }) => value.summary,
  evaluations: ({ value }) => value.evaluations,
  dataCollected: ({ value }) => value.dataCollected,
  transcript: ({ value }) => value.transcript,
  startedAt: ({ value }) => value.startedAt,
  durationSeconds: ({ value }) => value.durationSeconds,
  stale: ({ stale }) => stale,
  fetchedAt: ({ fetchedAt }) => fetchedAt,
};

export const ProviderEvaluation: ProviderEvaluationResolvers = {
  criterion: (evaluation) => evaluation.criterion,
  result: (evaluation) => evaluation.result,
  rationale: (evaluation) => evaluation.rationale,
};

export const ProviderTranscriptTurn: ProviderTranscriptTurnResolvers = {
  speaker: (turn) => (turn.speaker === 'agent' ? 'AGENT' : 'CONTACT'),
  text: (turn) => turn.text,
  secondsFromStart: (turn) => turn.secondsFromStart,
};

export const ProviderUsage: ProviderUsageResolvers = {
  plan: ({ value }) => value.plan,
  charactersUsed: ({ value }) => value.charactersUsed,
  characterLimit: ({ value }) => value.characterLimit,
  periodEndsAt: ({ value }) => value.periodEndsAt,
  stale: ({ stale }) => stale,
  fetchedAt: ({ fetchedAt }) => fetchedAt,
};

export const SyncProviderAgentsPayload: SyncProviderAgentsPayloadResolvers = {
  agents: (payload) => payload.agents,
  phoneNumbers: (payload) => payload.phoneNumbers,
  agentsCreated: (payload) => payload.agentsCreated,
  agentsUpdated: (payload) => payload.agentsUpdated,
  phoneNumbersCreated: (payload) => payload.phoneNumbersCreated,
  phoneNumbersUpdated: (payload) => payload.phoneNumbersUpdated,
};
