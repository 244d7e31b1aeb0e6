import type { AgentResolvers, CallResolvers, ContactResolvers } from '../generated/graphql';
import { AGENT_COLUMNS, type AgentColumn } from '../queries/agents';
import { CALL_LIST_COLUMNS, type CallColumn } from '../queries/calls';
import { CONTACT_LIST_COLUMNS, type ContactColumn } from '../queries/contacts';

/**
 * The columns each field's resolver reads from its row (the resolvers in
 * calls.ts, agents.ts and contacts.ts). Every field of a type must be listed
 * — the map fails to compile otherwise — so a list statement that reads only
 * its selection's columns can never starve a field. A field answered by a
 * loader or by the row's id reads nothing more.
 */
type FieldColumns<Resolvers, Column> = Record<Exclude<keyof Resolvers, '__isTypeOf'>, readonly Column[]>;

const CALL_FIELD_COLUMNS: FieldColumns<CallResolvers, CallColumn> = {
  id: [],
  direction: ['direction'],
  status: ['status'],
  fromNumber: ['from_number'],
  toNumber: ['to_number'],
  startedAt: ['started_at'],
  endedAt: ['ended_at'],
  durationSeconds: ['duration_seconds'],
  cost: ['cost'],
  sentiment: ['sentiment'],
  outcome: ['outcome'],
  summary: ['summary'],
  notes: ['notes'],
  updatedAt: ['updated_at'],
  agent: ['agent_id'],
  contact: ['contact_id'],
  appointment: [],
  hasRecording: ['recording_key'],
  recordingUrl: ['recording_key'],
  transcript: [],
  metadata: [],
  providerCost: ['cost'],
  providerConversation: ['provider_call_id'],
};

const AGENT_FIELD_COLUMNS: FieldColumns<AgentResolvers, AgentColumn> = {
  id: [],
  name: ['name'],
  status: ['status'],
  provider: ['provider'],
  providerAgentId: ['provider_agent_id'],
  language: ['language'],
  createdAt: ['created_at'],
  updatedAt: ['updated_at'],
  phoneNumbers: [],
  calls: [],
  stats: [],
  configuration: ['provider_agent_id'],
};

const CONTACT_FIELD_COLUMNS: FieldColumns<ContactResolvers, ContactColumn> = {
  id: [],
  name: ['name'],
  phone: ['phone'],
  email: ['email'],
  leadScore: ['lead_score'],
  tier: ['lead_score'],
  status: ['status'],
  tags: ['tags'],
  metadata: [],
  createdAt: ['created_at'],
  updatedAt: ['updated_at'],
  lastContactedAt: ['last_contacted_at'],
  lastCall: [],
  appointments: [],
  calls: [],
};

/** `id` (every row's identity) and the columns the selected fields read, in the list's order, so equal selections give equal statements. */
function columnsFor<Column extends string>(
  fields: ReadonlySet<string>,
  fieldColumns: Readonly<Record<string, readonly Column[]>>,
  all: readonly Column[],
): Column[] {
  const needed = new Set<string>(['id']);
  for (const field of fields) for (const column of fieldColumns[field] ?? []) needed.add(column);
  return all.filter((column) => needed.has(column));
}

export const callColumnsFor = (fields: ReadonlySet<string>): CallColumn[] => columnsFor(fields, CALL_FIELD_COLUMNS, CALL_LIST_COLUMNS);
export const agentColumnsFor = (fields: ReadonlySet<string>): AgentColumn[] => columnsFor(fields, AGENT_FIELD_COLUMNS, AGENT_COLUMNS);
export const contactColumnsFor = (fields: ReadonlySet<string>): ContactColumn[] => columnsFor(fields, CONTACT_FIELD_COLUMNS, CONTACT_LIST_COLUMNS);
