import { Kysely, sql } from 'kysely';

/**
 * Core tenant schema.
 *
 * Every tenant table carries `org_id`, and its primary key and every foreign key
 * include it: a row can only reference rows of its own organisation, and the
 * schema can later be distributed by `org_id` (Citus-style) unchanged.
 * Enumerations are `text` + CHECK rather than PostgreSQL enums so that adding a
 * value is a cheap constraint swap, not an `ALTER TYPE` that cannot run in a
 * transaction.
 */
// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);

  await sql`
    create table organisations (
      id bigint generated always as identity primary key,
      slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
      name text not null,
      timezone text not null,
      created_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table users (
      id bigint generated always as identity primary key,
      email text not null unique,
      name text not null,
      created_at timestamptz not null default now()
    )`.execute(db);

  await sql`
    create table memberships (
      org_id bigint not null references organisations (id) on delete cascade,
      user_id bigint not null references users (id) on delete cascade,
      role text not null check (role in ('admin', 'member', 'viewer')),
      created_at timestamptz not null default now(),
      primary key (org_id, user_id)
    )`.execute(db);
  await sql`create index memberships_user_idx on memberships (user_id)`.execute(db);

  await sql`
    create table agents (
      org_id bigint not null references organisations (id) on delete cascade,
      id bigint generated always as identity,
      name text not null,
      status text not null default 'active' check (status in ('active', 'paused', 'archived')),
      provider text not null,
      provider_agent_id text not null,
      language text not null default 'en-US',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (org_id, id),
      unique (org_id, provider, provider_agent_id)
    )`.execute(db);
  await sql`create index agents_by_name on agents (org_id, name, id)`.execute(db);

  await sql`
    create table phone_numbers (
      org_id bigint not null references organisations (id) on delete cascade,
      id bigint generated always as identity,
      e164 text not null check (e164 ~ '^\\+[1-9][0-9]{6,14}$'),
      provider text not null,
      provider_number_id text not null,
      agent_id bigint,
      created_at timestamptz not null default now(),
      primary key (org_id, id),
      unique (org_id, e164),
      foreign key (org_id, agent_id) references agents (org_id, id)
    )`.execute(db);
  await sql`create index phone_numbers_by_agent on phone_numbers (org_id, agent_id)`.execute(db);

  await sql`
    create table contacts (
      org_id bigint not null references organisations (id) on delete cascade,
      id bigint generated always as identity,
      name text not null,
      phone text not null check (phone ~ '^\\+[1-9][0-9]{6,14}$'),
      email text,
      lead_score smallint not null default 0 check (lead_score between 0 and 100),
      status text not null default 'new'
        check (status in ('new', 'contacted', 'qualified', 'converted', 'lost', 'archived')),
      tags text[] not null default '{}',
      metadata jsonb not null default '{}',
      created_at timestamptz(3) not null default now(),
      updated_at timestamptz not null default now(),
      last_contacted_at timestamptz,
      -- What contact search matches against; lower-cased once here so the
      -- trigram index and the query agree without per-row function calls.
      search_text text generated always as
        (lower(name || ' ' || coalesce(email, '') || ' ' || phone)) stored,
      primary key (org_id, id)
    )`.execute(db);
  await sql`create index contacts_by_created on contacts (org_id, created_at desc, id desc)`.execute(db);
  await sql`create index contacts_by_score on contacts (org_id, lead_score desc, id desc)`.execute(db);
  await sql`create index contacts_by_name on contacts (org_id, name, id)`.execute(db);
  await sql`create index contacts_search_trgm on contacts using gin (search_text gin_trgm_ops)`.execute(db);

  // started_at is millisecond precision (timestamptz(3)) so a keyset cursor
  // round-trips exactly through a JavaScript Date: no gaps, no duplicates.
  await sql`
    create table calls (
      org_id bigint not null references organisations (id) on delete cascade,
      id bigint generated always as identity,
      agent_id bigint not null,
      contact_id bigint,
      direction text not null check (direction in ('inbound', 'outbound')),
      status text not null check (status in
        ('queued', 'ringing', 'in_progress', 'completed', 'failed', 'no_answer', 'busy', 'voicemail')),
      from_number text not null,
      to_number text not null,
      started_at timestamptz(3) not null,
      ended_at timestamptz(3),
      duration_seconds integer not null default 0 check (duration_seconds >= 0),
      cost numeric(10, 4) not null default 0 check (cost >= 0),
      sentiment text check (sentiment in ('positive', 'neutral', 'negative')),
      outcome text check (outcome in ('appointment_booked', 'callback_requested', 'interested',
        'not_interested', 'wrong_number', 'do_not_call', 'voicemail_left', 'transferred', 'no_outcome')),
      summary text,
      recording_key text,
      metadata jsonb not null default '{}',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (org_id, id),
      foreign key (org_id, agent_id) references agents (org_id, id),
      foreign key (org_id, contact_id) references contacts (org_id, id)
    )`.execute(db);
  await sql`create index calls_by_started on calls (org_id, started_at desc, id desc)`.execute(db);
  await sql`create index calls_by_agent on calls (org_id, agent_id, started_at desc, id desc)`.execute(db);
  await sql`create index calls_by_contact on calls (org_id, contact_id, started_at desc, id desc)`.execute(db);
  await sql`create index calls_with_recording on calls (org_id, started_at desc, id desc)
    where recording_key is not null`.execute(db);

  // Transcripts are large and read one call at a time: they live off the hot
  // call row so no list query can drag them along.
  await sql`
    create table call_transcripts (
      org_id bigint not null,
      call_id bigint not null,
      text text not null,
      segments jsonb not null default '[]',
      created_at timestamptz not null default now(),
      primary key (org_id, call_id),
      foreign key (org_id, call_id) references calls (org_id, id) on delete cascade
    )`.execute(db);

  await sql`
    create table appointments (
      org_id bigint not null references organisations (id) on delete cascade,
      id bigint generated always as identity,
      contact_id bigint not null,
      call_id bigint,
      agent_id bigint,
      scheduled_at timestamptz not null,
      status text not null default 'scheduled'
        check (status in ('scheduled', 'completed', 'cancelled', 'no_show')),
      value numeric(12, 2) not null default 0 check (value >= 0),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      primary key (org_id, id),
      foreign key (org_id, contact_id) references contacts (org_id, id),
      foreign key (org_id, call_id) references calls (org_id, id) on delete set null (call_id),
      foreign key (org_id, agent_id) references agents (org_id, id)
    )`.execute(db);
  await sql`create index appointments_by_contact on appointments (org_id, contact_id, scheduled_at desc, id desc)`.execute(db);
  await sql`create index appointments_by_call on appointments (org_id, call_id) where call_id is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['appointments', 'call_transcripts', 'calls', 'contacts', 'phone_numbers', 'agents', 'memberships', 'users', 'organisations']) {
    await sql`drop table if exists ${sql.table(table)}`.execute(db);
  }
}
