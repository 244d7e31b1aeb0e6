import { Kysely, sql } from 'kysely';

/**
 * Writes through the API: calls get `notes`, what people write about a call
 * (`summary` stays the provider's AI summary; both are editable).
 *
 * A nullable column without a default is a catalogue-only change. The length
 * bound is `not valid`: it holds for every row written from now on without
 * scanning (and locking) a large calls table to check rows that are all null.
 */
// Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table calls add column notes text`.execute(db);
  await sql`alter table calls add constraint calls_notes_length check (char_length(notes) <= 10000) not valid`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table calls drop column if exists notes`.execute(db);
}
