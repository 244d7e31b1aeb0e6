import { createHash } from 'node:crypto';

/**
 * Deterministic data of the local provider: everything is derived from the
 * ids asked for (and, for what an account owns, from its API key), so the
 * same request always gets the same answer, across restarts and machines,
 * without any stored state. Shapes follow the ElevenLabs Conversational AI
 * REST API (snake_case, unix seconds).
 */

function digest(...parts: string[]): Buffer {
  return createHash('sha256').update(parts.join('\u0000')).digest();
}

function pick<T>(values: readonly T[], seed: Buffer, index: number): T {
  // `values` is never empty (module constants), so the index is always in range.
  return values[(seed[index] ?? 0) % values.length] as T;
}

const VOICES = ['Rachel', 'Adam', 'Bella', 'Antoni', 'Elli', 'Josh', 'Charlotte', 'Daniel'] as const;
const LLMS = ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet', 'gemini-1.5-flash'] as const;
const TTS_MODELS = ['eleven_turbo_v2', 'eleven_flash_v2_5', 'eleven_multilingual_v2'] as const;
const LANGUAGES = ['en', 'en', 'en', 'es', 'de'] as const;
const PURPOSES = ['books appointments', 'answers billing questions', 'confirms reminders', 'qualifies leads', 'takes messages after hours'] as const;
const FIRST_NAMES = ['Ava', 'Max', 'Nora', 'Leo', 'Ivy', 'Zoe', 'Otto', 'Isla'] as const;

/** A fixed point the timestamps are counted back from, so answers do not move with the wall clock. */
const EPOCH_SECONDS = 1_780_000_000;

/** The account an API key stands for: its first bytes, hashed (the key itself is never echoed). */
export function accountOf(apiKey: string): string {
  return digest('account', apiKey).toString('hex').slice(0, 10);
}

export function agentDetails(agentId: string) {
  const seed = digest('agent', agentId);
  const name = `${pick(FIRST_NAMES, seed, 0)} — ${pick(PURPOSES, seed, 1)}`;
  const purpose = pick(PURPOSES, seed, 1);
  return {
    agent_id: agentId,
    name,
    conversation_config: {
      agent: {
        first_message: `Hi, this is ${pick(FIRST_NAMES, seed, 0)}. How can I help you today?`,
        language: pick(LANGUAGES, seed, 2),
        prompt: {
          prompt: `You are a friendly voice agent who ${purpose}. Keep answers short, confirm names and dates, and hand over to a human when asked.`,
          llm: pick(LLMS, seed, 3),
          temperature: ((seed[4] ?? 0) % 10) / 10,
        },
      },
      tts: { voice_id: `voice_${seed.toString('hex').slice(10, 18)}`, voice_name: pick(VOICES, seed, 5), model_id: pick(TTS_MODELS, seed, 6) },
    },
    metadata: {
      created_at_unix_secs: EPOCH_SECONDS - 86_400 * (30 + ((seed[7] ?? 0) % 200)),
      updated_at_unix_secs: EPOCH_SECONDS - 3600 * ((seed[8] ?? 0) % 240),
    },
  };
}

/** How many agents and phone numbers an account owns unless configured otherwise. */
export const DEFAULT_ACCOUNT_SIZE = 5;

export function accountAgentIds(apiKey: string, size: number): string[] {
  const account = accountOf(apiKey);
  return Array.from({ length: size }, (_, index) => `agent_${account}_${index + 1}`);
}

export function accountAgents(apiKey: string, size: number) {
  return accountAgentIds(apiKey, size).map((id) => {
    const { agent_id, name, metadata } = agentDetails(id);
    return { agent_id, name, created_at_unix_secs: metadata.created_at_unix_secs };
  });
}

export function accountPhoneNumbers(apiKey: string, size: number) {
  return accountAgentIds(apiKey, size).map((agentId, index) => {
    const seed = digest('phone', agentId);
    // +1 555 01xx xxxx: the fictional range, 11 digits in all.
    const local = String(seed.readUInt32BE(0) % 10_000).padStart(4, '0');
    return {
      phone_number: `+1555${String(index % 100).padStart(2, '0')}${local.slice(0, 2)}${local.slice(2)}${String((seed[5] ?? 0) % 10)}`,
      phone_number_id: `phnum_${seed.toString('hex').slice(0, 16)}`,
      label: `Line ${index + 1}`,
      provider: 'twilio',
      // Every other number answered by its agent; the rest unassigned.
      assigned_agent: index % 2 === 0 ? { agent_id: agentId, agent_name: agentDetails(agentId).name } : null,
    };
  });
}

const USER_LINES = ['Hi, I would like to book an appointment.', 'Next Tuesday works for me.', 'Yes, that is right.', 'Thanks, bye!'] as const;
const AGENT_LINES = ['Of course. Which day suits you?', 'Tuesday at 10:00 is free. Shall I book it?', 'Done. You will get a text reminder.'] as const;

export function conversationDetails(conversationId: string) {
  const seed = digest('conversation', conversationId);
  const turns = 3 + ((seed[0] ?? 0) % 4);
  const transcript = Array.from({ length: turns }, (_, index) => ({
    role: index % 2 === 0 ? 'agent' : 'user',
    message: index % 2 === 0 ? AGENT_LINES[(index / 2) % AGENT_LINES.length] : USER_LINES[((index - 1) / 2) % USER_LINES.length],
    time_in_call_secs: index * 7,
  }));
  const successful = (seed[1] ?? 0) % 4 !== 0;
  return {
    conversation_id: conversationId,
    agent_id: `agent_${seed.toString('hex').slice(0, 10)}`,
    status: 'done',
    transcript,
    metadata: { start_time_unix_secs: EPOCH_SECONDS - ((seed[2] ?? 0) % 100) * 3600, call_duration_secs: turns * 7 + 5 },
    analysis: {
      call_successful: successful ? 'success' : 'failure',
      transcript_summary: successful ? 'The caller booked an appointment for next Tuesday.' : 'The caller hung up before booking.',
      evaluation_criteria_results: {
        greeting: { criteria_id: 'greeting', result: 'success', rationale: 'The agent greeted the caller by name.' },
        booking: {
          criteria_id: 'booking',
          result: successful ? 'success' : 'failure',
          rationale: successful ? 'A slot was booked.' : 'No slot was booked.',
        },
      },
      data_collection_results: {
        preferred_day: { data_collection_id: 'preferred_day', value: successful ? 'Tuesday' : null, rationale: 'Stated by the caller.' },
      },
    },
  };
}

export function subscriptionDetails(apiKey: string) {
  const seed = digest('subscription', accountOf(apiKey));
  const limit = 100_000 * (1 + ((seed[0] ?? 0) % 5));
  return {
    tier: pick(['starter', 'creator', 'pro', 'scale'] as const, seed, 1),
    character_count: Math.floor((limit * ((seed[2] ?? 0) % 100)) / 100),
    character_limit: limit,
    next_character_count_reset_unix: EPOCH_SECONDS + 86_400 * (1 + ((seed[3] ?? 0) % 28)),
    status: 'active',
  };
}
