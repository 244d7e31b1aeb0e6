import { Kysely, sql } from 'kysely';

/**
 * Call-report ingestion (`POST /webhooks/calls/{org}`, src/webhooks).
 *
 * - `webhook_secrets`: one or more HMAC secrets per organisation. Rotation
 *   adds a secret and gives the old ones an `expires_at`, so both verify
 *   while the provider switches over.
 * - `webhook_events`: every verified event, unique per (org_id, event_id).
 *   The `ON CONFLICT` on that key is what makes a redelivery a no-op and
 *   serialises concurrent deliveries of one event.
 * - `calls.provider_call_id`: the provider's call id, unique per organisation,
 *   the key the per-event upsert converges on. The `*_at` columns next to it
 *   record the `occurred_at` of the event that last set each field group, so
 *   an older event arriving late never overwrites a newer one (merge rules in
 *   docs/webhooks.md). All nullable without defaults: adding them rewrites
 *   nothing, and calls written any other way leave them null.
 * - `call_transcripts.reported_at`: the same for transcripts.
 * - `contacts_by_phone`: linking a call to the contact with its number.
 */
// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    `create table webhook_secrets (
       org_id bigint not null references organisations (id) on delete cascade,
       id bigint generated always as identity,
       secret text not null check (length(secret) >= 24),
       created_at timestamptz not null default now(),
       expires_at timestamptz,
       primary key (org_id, id)
     )`,
    `create table webhook_events (
       org_id bigint not null references organisations (id) on delete cascade,
       id bigint generated always as identity,
       event_id text not null,
       type text not null,
       payload jsonb not null,
       received_at timestamptz not null default now(),
       last_received_at timestamptz not null default now(),
       deliveries integer not null default 1,
       -- 'pending' exists only inside the delivering transaction.
       outcome text not null default 'pending' check (outcome in ('pending', 'applied', 'unknown_agent')),
       applied_at timestamptz,
       call_id bigint,
       primary key (org_id, id),
       constraint webhook_events_event_key unique (org_id, event_id)
     )`,
    `alter table calls
       add column provider_call_id text,
       add column identity_at timestamptz(3),
       add column status_at timestamptz(3),
       add column report_at timestamptz(3),
       add column recording_at timestamptz(3)`,
    // A constraint (not a bare unique index) so ON CONFLICT can name it; NULLs
    // stay distinct, so calls written without a provider id never collide.
    `alter table calls add constraint calls_provider_call_key unique (org_id, provider_call_id)`,
    `alter table call_transcripts add column reported_at timestamptz(3)`,
    `create index contacts_by_phone on contacts (org_id, phone, id)`,
    // Status precedence for merging out-of-order events: a later stage of a
    // call's life always wins over an earlier one, whatever order they arrive in.
    `create function call_status_rank(status text) returns integer language sql immutable parallel safe as $$
       select case status
         when 'queued' then 0
         when 'ringing' then 1
         when 'in_progress' then 2
         else 3
       end
     $$`,
  ]) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const statement of [
    'drop function if exists call_status_rank',
    'drop index if exists contacts_by_phone',
    'alter table call_transcripts drop column if exists reported_at',
    'alter table calls drop constraint if exists calls_provider_call_key',
    `alter table calls drop column if exists provider_call_id, drop column if exists identity_at,
       drop column if exists status_at, drop column if exists report_at, drop column if exists recording_at`,
    'drop table if exists webhook_events, webhook_secrets',
  ]) {
    await sql.raw(statement).execute(db);
  }
}
