/**
 * What Switchboard reads from a voice provider, in its own words. One
 * interface; the HTTP adapter (./http.ts) speaks the ElevenLabs-style REST
 * API, to the real provider or to the local one (./local), which the specs
 * and the bench drive with injected faults.
 */
export interface AgentConfiguration {
  providerAgentId: string;
  name: string | null;
  voiceId: string | null;
  voiceName: string | null;
  ttsModel: string | null;
  /** The language model. */
  model: string | null;
  language: string | null;
  firstMessage: string | null;
  /** The prompt's first sentences, at most PROMPT_SUMMARY_LENGTH characters. */
  promptSummary: string | null;
  updatedAt: Date | null;
}

export interface ProviderEvaluation {
  criterion: string;
  result: string;
  rationale: string | null;
}

export interface ProviderTranscriptTurn {
  speaker: 'agent' | 'caller';
  text: string;
  secondsFromStart: number;
}

export interface ProviderConversation {
  conversationId: string;
  status: string | null;
  /** success / failure / unknown, as the provider's analysis judged the call. */
  outcome: string | null;
  summary: string | null;
  evaluations: ProviderEvaluation[];
  dataCollected: Record<string, unknown>;
  transcript: ProviderTranscriptTurn[];
  startedAt: Date | null;
  durationSeconds: number | null;
}

export interface ProviderUsage {
  plan: string | null;
  charactersUsed: number;
  characterLimit: number;
  periodEndsAt: Date | null;
}

export interface ProviderAgentListing {
  providerAgentId: string;
  name: string;
}

export interface ProviderAgentsPage {
  agents: ProviderAgentListing[];
  nextCursor: string | null;
}

export interface ProviderPhoneNumber {
  e164: string;
  providerNumberId: string;
  providerAgentId: string | null;
}

/** One provider call: the account's key and the signal that ends it (per-call timeout within the request's budget). */
export interface CallOptions {
  apiKey: string;
  signal: AbortSignal;
}

export interface ProviderApi {
  /** `undefined` when the provider does not know the agent (404). */
  agent(id: string, options: CallOptions): Promise<AgentConfiguration | undefined>;
  conversation(id: string, options: CallOptions): Promise<ProviderConversation | undefined>;
  usage(options: CallOptions): Promise<ProviderUsage>;
  /** One page of the account's agents, from `cursor` (null: the first page); `nextCursor` null on the last page. */
  agentsPage(cursor: string | null, options: CallOptions): Promise<ProviderAgentsPage>;
  phoneNumbers(options: CallOptions): Promise<ProviderPhoneNumber[]>;
  close(): Promise<void>;
}

export const PROMPT_SUMMARY_LENGTH = 200;
