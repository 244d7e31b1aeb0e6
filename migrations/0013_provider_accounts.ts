import { Kysely, sql } from 'kysely';

/**
 * `provider_accounts`: each organisation's API key at the voice provider
 * (src/provider), one per organisation. Stored like `webhook_secrets`: a
 * plain column only the server reads, which no GraphQL field, log line or
 * error returns. Rotating replaces the key (we are the client: nothing has
 * to keep verifying the old one).
 */
// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table provider_accounts (
      org_id bigint primary key references organisations (id) on delete cascade,
      api_key text not null check (length(api_key) >= 16),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists provider_accounts`.execute(db);
}
