import { sql, type Kysely, type Migration } from 'kysely';

/** The runtime role's name when PG_APP_ROLE is not set (src/config/config.ts). */
export const DEFAULT_APP_ROLE = 'switchboard_app';

/**
 * Least privilege: request traffic runs as a role that owns nothing and may
 * only read and write rows (docs/deployment.md "Roles and grants"). This
 * migration runs as the owner (DATABASE_MIGRATION_URL) and grants the runtime
 * role (PG_APP_ROLE) exactly that:
 *
 * - SELECT, INSERT, UPDATE, DELETE on every table, and USAGE on every
 *   sequence (identity columns); no TRUNCATE, REFERENCES or TRIGGER, and on
 *   Kysely's own bookkeeping only SELECT (readiness compares the applied
 *   migrations with the code's).
 * - ALTER DEFAULT PRIVILEGES for tables and sequences the owner creates
 *   later, so migrations after this one need no grants of their own. Default
 *   privileges belong to the role that creates the objects: migrations must
 *   keep running as this same owner.
 * - Functions keep PostgreSQL's default EXECUTE for PUBLIC: all of ours are
 *   SECURITY INVOKER, so the rollup and NOTIFY triggers run with the writer's
 *   own rights and grant nothing beyond its table rights.
 * - CREATE on the schema is revoked from PUBLIC (PostgreSQL 15 and later
 *   already do; on 14 it takes effect when the owner owns the schema, and
 *   is a warning otherwise).
 *
 * The role itself is not created here: creating roles needs CREATEROLE, which
 * the owner of an external database usually lacks (the embedded server
 * creates it, src/db/embedded.ts). A missing role stops the migration with
 * what to do. PG_APP_ROLE naming the owner itself means one role for
 * everything (not least privilege): nothing to grant.
 *
 * A factory, not a module: the role's name comes from the configuration.
 */
export function appRoleGrants(role: string): Migration {
  return {
    // Kysely<unknown>: a migration is frozen in time and must not depend on today's Database type.
    async up(db: Kysely<unknown>): Promise<void> {
      const { rows } = await sql<{ found: boolean; self: boolean; database: string }>`
        select exists (select 1 from pg_roles where rolname = ${role}) as found, ${role} = current_user as self,
               current_database() as database`.execute(db);
      const state = rows[0];
      if (!state || state.self) return;
      if (!state.found) throw new Error(missingRole(role));
      const app = sql.id(role);
      await sql`grant connect on database ${sql.id(state.database)} to ${app}`.execute(db);
      await sql`grant usage on schema public to ${app}`.execute(db);
      await sql`grant select, insert, update, delete on all tables in schema public to ${app}`.execute(db);
      await sql`grant usage on all sequences in schema public to ${app}`.execute(db);
      await sql`revoke insert, update, delete on kysely_migration, kysely_migration_lock from ${app}`.execute(db);
      await sql`alter default privileges in schema public grant select, insert, update, delete on tables to ${app}`.execute(db);
      await sql`alter default privileges in schema public grant usage on sequences to ${app}`.execute(db);
      await sql`revoke create on schema public from public`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      const { rows } = await sql<{ found: boolean }>`select exists (select 1 from pg_roles where rolname = ${role}) as found`.execute(db);
      if (!rows[0]?.found) return;
      const app = sql.id(role);
      await sql`alter default privileges in schema public revoke usage on sequences from ${app}`.execute(db);
      await sql`alter default privileges in schema public revoke select, insert, update, delete on tables from ${app}`.execute(db);
      await sql`revoke all on all sequences in schema public from ${app}`.execute(db);
      await sql`revoke all on all tables in schema public from ${app}`.execute(db);
    },
  };
}

/** What the operator must do, for the error that stops the migration (no stack trace: src/cli/run.ts). */
export function missingRole(role: string): string {
  return (
    `the runtime role "${role}" (PG_APP_ROLE) does not exist. As a superuser or a role with CREATEROLE, run ` +
    `CREATE ROLE "${role}" LOGIN PASSWORD '…'; then migrate again and point DATABASE_URL at that role. ` +
    `Or set PG_APP_ROLE to the role migrations run as (one role for everything, not least privilege). ` +
    `See docs/deployment.md, "Roles and grants"`
  );
}
