import pg from 'pg';

/**
 * The runtime role, made by whoever may create roles: the embedded server
 * (src/db/embedded.ts) and the test setup. An external database's operator
 * creates it by hand (docs/deployment.md "Roles and grants"); migration 0010
 * grants it row access either way.
 *
 * Idempotent, run at every start: a cluster made before the role existed gets
 * it, and a role that somehow gained SUPERUSER, BYPASSRLS or CREATEROLE loses it.
 * The password is reset to the one kept beside the cluster, so the file stays
 * the truth. On the cluster's other databases CONNECT is revoked from PUBLIC:
 * the role reaches only `database`, and there it may not create temporary tables.
 *
 * `admin`: a superuser connection to any database of the cluster.
 */
export async function ensureAppRole(
  admin: pg.Client,
  { role, password, database }: { role: string; password: string; database: string },
): Promise<void> {
  const name = admin.escapeIdentifier(role);
  const { rowCount } = await admin.query('select 1 from pg_roles where rolname = $1', [role]);
  const attributes = `login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password ${admin.escapeLiteral(password)}`;
  await admin.query(`${rowCount === 0 ? 'create' : 'alter'} role ${name} ${attributes}`);
  const { rows } = await admin.query<{ datname: string }>(`select datname from pg_database where datallowconn and datname <> $1`, [database]);
  for (const { datname } of rows) await admin.query(`revoke connect on database ${admin.escapeIdentifier(datname)} from public`);
  const own = admin.escapeIdentifier(database);
  await admin.query(`revoke connect, temporary on database ${own} from public`);
  await admin.query(`grant connect on database ${own} to ${name}`);
}

/** The URL of `url`'s server and database, logging in as another role. */
export function urlAs(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = encodeURIComponent(user);
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

/**
 * What is wrong with the role a connection runs as, for request traffic:
 * superuser, BYPASSRLS, CREATE on the schema, owning tables. Empty when it is
 * the least-privileged role migration 0010 expects. `npm start` logs them as
 * a warning (running as the owner still works; it is only not least privilege).
 */
export async function runtimeRoleProblems(query: (text: string) => Promise<{ rows: unknown[] }>): Promise<string[]> {
  const { rows } = await query(
    `select current_user as role, r.rolsuper as superuser, r.rolbypassrls as bypassrls,
            has_schema_privilege('public', 'create') as can_create,
            (select count(*)::int from pg_class c where c.relowner = r.oid and c.relnamespace = 'public'::regnamespace) as owned
       from pg_roles r where r.rolname = current_user`,
  );
  const role = rows[0] as { role: string; superuser: boolean; bypassrls: boolean; can_create: boolean; owned: number } | undefined;
  if (!role) return [];
  const problems: string[] = [];
  if (role.superuser) problems.push(`${role.role} is a superuser`);
  else if (role.bypassrls) problems.push(`${role.role} has BYPASSRLS`);
  if (role.can_create) problems.push(`${role.role} may create objects in schema public`);
  if (role.owned > 0) problems.push(`${role.role} owns ${role.owned} relations in schema public`);
  return problems;
}
