import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../src/db/database';
import type { AgentStatus, AppointmentStatus, CallDirection, CallOutcome, CallStatus, ContactStatus, Role, Sentiment } from '../../src/db/schema';

/**
 * Small factories for test fixtures. Each test file builds its own
 * organisations (unique slugs), so files share one database without sharing data.
 */

export interface TestOrg {
  id: string;
  slug: string;
  timezone: string;
  users: Record<Role, string>;
}

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;

export async function createOrg(db: Db, options: { timezone?: string; name?: string } = {}): Promise<TestOrg> {
  const slug = `t-${unique()}`;
  const org = await db
    .insertInto('organisations')
    .values({ slug, name: options.name ?? `Org ${slug}`, timezone: options.timezone ?? 'America/New_York' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const users = {} as Record<Role, string>;
  for (const role of ['admin', 'member', 'viewer'] as const) {
    const user = await db
      .insertInto('users')
      .values({ email: `${role}-${slug}@example.com`, name: `${role} of ${slug}` })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.insertInto('memberships').values({ org_id: org.id, user_id: user.id, role }).execute();
    users[role] = user.id;
  }
  return { id: org.id, slug, timezone: options.timezone ?? 'America/New_York', users };
}

export async function createAgent(db: Db, orgId: string, options: { name?: string; status?: AgentStatus } = {}): Promise<string> {
  const { id } = await db
    .insertInto('agents')
    .values({
      org_id: orgId,
      name: options.name ?? `Agent ${unique()}`,
      status: options.status ?? 'active',
      provider: 'retell',
      provider_agent_id: `ag_${unique()}`,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export async function createPhoneNumber(db: Db, orgId: string, agentId: string | null, e164?: string): Promise<string> {
  const { id } = await db
    .insertInto('phone_numbers')
    .values({
      org_id: orgId,
      e164: e164 ?? `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`,
      provider: 'twilio',
      provider_number_id: `PN${unique()}`,
      agent_id: agentId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export interface ContactInput {
  name?: string;
  phone?: string;
  email?: string | null;
  leadScore?: number;
  status?: ContactStatus;
  createdAt?: Date;
  metadata?: Record<string, unknown>;
}

export async function createContact(db: Db, orgId: string, input: ContactInput = {}): Promise<string> {
  const { id } = await db
    .insertInto('contacts')
    .values({
      org_id: orgId,
      name: input.name ?? `Contact ${unique()}`,
      phone: input.phone ?? `+1646${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`,
      email: input.email === undefined ? `c${unique()}@example.com` : input.email,
      lead_score: input.leadScore ?? 50,
      status: input.status ?? 'new',
      metadata: JSON.stringify(input.metadata ?? {}),
      ...(input.createdAt ? { created_at: input.createdAt } : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

export interface CallInput {
  agentId: string;
  contactId?: string | null;
  direction?: CallDirection;
  status?: CallStatus;
  startedAt?: Date;
  durationSeconds?: number;
  cost?: number;
  sentiment?: Sentiment | null;
  outcome?: CallOutcome | null;
  recordingKey?: string | null;
  summary?: string | null;
  metadata?: Record<string, unknown>;
}

/** Inserts calls in one statement; returns their ids in input order. */
export async function createCalls(db: Db, orgId: string, calls: CallInput[]): Promise<string[]> {
  if (calls.length === 0) return [];
  const rows = await db
    .insertInto('calls')
    .values(
      calls.map((call, index) => {
        const startedAt = call.startedAt ?? new Date(Date.UTC(2026, 0, 1) + index * 60_000);
        const duration = call.durationSeconds ?? 60;
        return {
          org_id: orgId,
          agent_id: call.agentId,
          contact_id: call.contactId ?? null,
          direction: call.direction ?? 'outbound',
          status: call.status ?? 'completed',
          from_number: '+15550000001',
          to_number: '+15550000002',
          started_at: startedAt,
          ended_at: new Date(startedAt.getTime() + duration * 1000),
          duration_seconds: duration,
          cost: call.cost ?? 0.1,
          sentiment: call.sentiment === undefined ? 'neutral' : call.sentiment,
          outcome: call.outcome === undefined ? 'no_outcome' : call.outcome,
          summary: call.summary ?? null,
          recording_key: call.recordingKey ?? null,
          metadata: JSON.stringify(call.metadata ?? {}),
        };
      }),
    )
    .returning('id')
    .execute();
  return rows.map((row) => row.id);
}

export async function createCall(db: Db, orgId: string, call: CallInput): Promise<string> {
  const [id] = await createCalls(db, orgId, [call]);
  return id!;
}

export async function createTranscript(db: Db, orgId: string, callId: string, text: string): Promise<void> {
  await db
    .insertInto('call_transcripts')
    .values({
      org_id: orgId,
      call_id: callId,
      text,
      segments: JSON.stringify([{ speaker: 'agent', startMs: 0, text }]),
    })
    .execute();
}

export interface AppointmentInput {
  contactId: string;
  callId?: string | null;
  agentId?: string | null;
  status?: AppointmentStatus;
  value?: number;
  scheduledAt?: Date;
  createdAt?: Date;
}

/**
 * Rows per INSERT: 8 parameters each stays under PostgreSQL's 65,535 bind
 * parameters. Many rows per statement matters: the rollup and NOTIFY triggers
 * run once per statement (migrations 0002, 0005, 0008), about 1 ms each time,
 * so 10,000 one-row inserts cost 10,000 trigger runs (13-19 s measured alone,
 * far more under load) where two statements of 5,000 cost two (about 1 s).
 */
const APPOINTMENTS_PER_STATEMENT = 5000;

/** Inserts appointments in as few statements as the parameter limit allows; returns their ids in input order. */
export async function createAppointments(db: Db, orgId: string, inputs: AppointmentInput[]): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < inputs.length; start += APPOINTMENTS_PER_STATEMENT) {
    const rows = await db
      .insertInto('appointments')
      .values(
        inputs.slice(start, start + APPOINTMENTS_PER_STATEMENT).map((input) => ({
          org_id: orgId,
          contact_id: input.contactId,
          call_id: input.callId ?? null,
          agent_id: input.agentId ?? null,
          scheduled_at: input.scheduledAt ?? new Date(Date.UTC(2026, 1, 1, 15)),
          status: input.status ?? 'scheduled',
          value: input.value ?? 250,
          // The column's default (the transaction's now()) when not given, as a one-row insert would leave it.
          created_at: input.createdAt ?? sql<Date>`now()`,
        })),
      )
      .returning('id')
      .execute();
    ids.push(...rows.map((row) => row.id));
  }
  return ids;
}

export async function createAppointment(db: Db, orgId: string, input: AppointmentInput): Promise<string> {
  const [id] = await createAppointments(db, orgId, [input]);
  return id!;
}

/** Counts rows of a table for an organisation — for "nothing was written" checks. */
export async function countRows(db: Db, table: 'calls' | 'contacts' | 'agents' | 'appointments', orgId: string): Promise<number> {
  const { count } = await db
    .selectFrom(table)
    .select(sql<number>`count(*)::int`.as('count'))
    .where('org_id', '=', orgId)
    .executeTakeFirstOrThrow();
  return count;
}

/** An agent as a voice provider knows it: the pair webhook events name it by. */
export interface ProviderAgent {
  id: string;
  provider: string;
  providerAgentId: string;
}

export async function createProviderAgent(
  db: Db,
  orgId: string,
  options: { provider?: string; providerAgentId?: string } = {},
): Promise<ProviderAgent> {
  const provider = options.provider ?? 'retell';
  const providerAgentId = options.providerAgentId ?? `agent_${unique()}`;
  const { id } = await db
    .insertInto('agents')
    .values({ org_id: orgId, name: `Agent ${providerAgentId}`, provider, provider_agent_id: providerAgentId })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id, provider, providerAgentId };
}

/** A webhook secret for an organisation (random unless given); `expiresAt` in the past makes it inactive. */
export async function createWebhookSecret(db: Db, orgId: string, options: { secret?: string; expiresAt?: Date } = {}): Promise<string> {
  const secret = options.secret ?? `whsec_${randomBytes(24).toString('base64url')}`;
  await db
    .insertInto('webhook_secrets')
    .values({ org_id: orgId, secret, expires_at: options.expiresAt ?? null })
    .execute();
  return secret;
}
