import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DEFAULT_APP_ROLE, appRoleGrants } from '../migrations/0010_app_role';
import { loadConfig } from '../src/config/config';
import { createDb, createPool, type Db } from '../src/db/database';
import { migrateToLatest } from '../src/db/migrate';
import { databaseFailure } from '../src/db/failures';
import { ensureAppRole, runtimeRoleProblems } from '../src/db/roles';
import { toGlobalId } from '../src/graphql/globalId';
import { afterInvalidation, eventually } from './support/caches';
import { openTestDb, testAppDatabaseUrl, testDatabaseUrl } from './support/db';
import { createAgent, createOrg, createProviderAgent, createWebhookSecret, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';
import { startSmallCluster, type SmallCluster } from './support/smallCluster';
import { callEvent, deliver, newCallScript } from './support/webhooks';

/**
 * Least privilege (issue 13, docs/deployment.md "Roles and grants"): request
 * traffic runs as a runtime role (PG_APP_ROLE) that may read and write rows
 * and nothing else; migrations run as the owner and grant it exactly that.
 * Every test server connects as this role (test/support/server.ts), so the
 * whole suite proves the grants suffice; this file pins down what it may not do.
 */

/** Runs `work` on a connection of its own to `url`, then closes it. */
async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const asApp = <T>(work: (client: pg.Client) => Promise<T>) => withClient(testAppDatabaseUrl(), work);
const asOwner = <T>(work: (client: pg.Client) => Promise<T>) => withClient(testDatabaseUrl(), work);

/** `insufficient_privilege`: what PostgreSQL answers a statement the role has no right to. */
const DENIED = { code: '42501' };

describe('configuration', () => {
  it('DATABASE_MIGRATION_URL defaults to DATABASE_DIRECT_URL, then DATABASE_URL; PG_APP_ROLE to switchboard_app', () => {
    const pooled = 'postgres://app@pooler/db';
    const direct = 'postgres://app@db/db';
    const owner = 'postgres://owner@db/db';
    expect(loadConfig({}, { DATABASE_URL: pooled }).databaseMigrationUrl).toBe(pooled);
    expect(loadConfig({}, { DATABASE_URL: pooled, DATABASE_DIRECT_URL: direct }).databaseMigrationUrl).toBe(direct);
    expect(loadConfig({}, { DATABASE_URL: pooled, DATABASE_DIRECT_URL: direct, DATABASE_MIGRATION_URL: owner }).databaseMigrationUrl).toBe(owner);
    expect(loadConfig({}, {}).pgAppRole).toBe('switchboard_app');
    expect(loadConfig({}, { PG_APP_ROLE: 'api' }).pgAppRole).toBe('api');
  });
});

describe('the runtime role', () => {
  it('is the configured role, not a superuser, without BYPASSRLS, without CREATE on the schema, and owns nothing', async () => {
    const role = await asApp((c) =>
      c
        .query<{
          user: string;
          rolsuper: boolean;
          rolbypassrls: boolean;
          rolcreaterole: boolean;
          rolcreatedb: boolean;
        }>(`select current_user as user, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user`)
        .then((r) => r.rows[0]),
    );
    expect(role).toEqual({ user: DEFAULT_APP_ROLE, rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false });
    expect(await asApp((c) => runtimeRoleProblems((text) => c.query(text)))).toEqual([]);
    // The owner, by contrast, is everything the runtime role is not: the check can tell them apart.
    expect(await asOwner((c) => runtimeRoleProblems((text) => c.query(text)))).toEqual(
      expect.arrayContaining([expect.stringMatching(/is a superuser/), expect.stringMatching(/owns \d+ relations/)]),
    );
  });

  it('cannot create, alter, drop or truncate tables, nor create temporary ones', async () => {
    await asApp(async (c) => {
      await expect(c.query('create table privileges_probe (id int)')).rejects.toMatchObject(DENIED);
      await expect(c.query('create temporary table privileges_probe (id int)')).rejects.toMatchObject(DENIED);
      await expect(c.query('alter table calls add column privileges_probe int')).rejects.toMatchObject(DENIED);
      await expect(c.query('create index privileges_probe on calls (org_id)')).rejects.toMatchObject(DENIED);
      await expect(c.query('drop table calls')).rejects.toMatchObject(DENIED);
      await expect(c.query('truncate calls')).rejects.toMatchObject(DENIED);
      await expect(c.query('create function privileges_probe() returns int language sql as $$ select 1 $$')).rejects.toMatchObject(DENIED);
    });
  });

  it('reads the migration bookkeeping (readiness does) but cannot write it', async () => {
    await asApp(async (c) => {
      expect((await c.query('select name from kysely_migration')).rowCount).toBeGreaterThan(0);
      await expect(c.query(`insert into kysely_migration (name, timestamp) values ('9999_forged', now()::text)`)).rejects.toMatchObject(DENIED);
      await expect(c.query(`delete from kysely_migration`)).rejects.toMatchObject(DENIED);
    });
  });

  it('cannot connect to another database of the cluster', async () => {
    const other = new URL(testAppDatabaseUrl());
    other.pathname = '/postgres';
    await expect(withClient(other.toString(), (c) => c.query('select 1'))).rejects.toMatchObject({
      code: '42501',
      message: expect.stringMatching(/permission denied for database "?postgres"?/),
    });
  });

  it('has no SECURITY DEFINER function to borrow rights from: triggers (rollups, NOTIFY) run with the writer’s own', async () => {
    const { rows } = await asOwner((c) =>
      c.query<{ n: number }>(`select count(*)::int as n from pg_proc where prosecdef and pronamespace = 'public'::regnamespace`),
    );
    expect(rows[0]!.n).toBe(0);
  });

  it('gets tables a later migration creates without that migration granting anything (default privileges)', async () => {
    const table = `privileges_later_${process.pid}`;
    await asOwner((c) => c.query(`create table ${table} (id bigint generated always as identity primary key, note text)`));
    try {
      await asApp(async (c) => {
        await c.query(`insert into ${table} (note) values ('written by the runtime role')`);
        expect((await c.query(`select note from ${table}`)).rows).toEqual([{ note: 'written by the runtime role' }]);
        await expect(c.query(`drop table ${table}`)).rejects.toMatchObject(DENIED);
      });
    } finally {
      await asOwner((c) => c.query(`drop table ${table}`));
    }
  });
});

describe('migrating without the runtime role', () => {
  const name = `switchboard_privileges_${process.pid}`;
  const url = () => {
    const parsed = new URL(testDatabaseUrl());
    parsed.pathname = `/${name}`;
    return parsed.toString();
  };
  beforeAll(() => asOwner((c) => c.query(`create database ${name}`)));
  afterAll(() => asOwner((c) => c.query(`drop database if exists ${name} with (force)`)));

  it('stops at migration 0010 saying what the operator must do, and applies once the role exists', async () => {
    const missing = `switchboard_missing_${randomBytes(4).toString('hex')}`;
    const pool = createPool({ connectionString: url(), max: 1 });
    try {
      await expect(migrateToLatest(createDb(pool), { appRole: missing })).rejects.toThrow(
        `migration 0010_app_role failed: the runtime role "${missing}" (PG_APP_ROLE) does not exist. ` +
          `As a superuser or a role with CREATEROLE, run CREATE ROLE "${missing}" LOGIN PASSWORD '…'`,
      );
      await asOwner((c) => c.query(`create role ${missing} login`));
      try {
        const result = await migrateToLatest(createDb(pool), { appRole: missing });
        // The failed run rolled back as a whole (one transaction); this one applies everything, 0010 included.
        expect(result.results?.every((r) => r.status === 'Success')).toBe(true);
        expect(result.results?.[0]?.migrationName).toBe('0001_core');
        expect(result.results?.map((r) => r.migrationName)).toContain('0010_app_role');
        const { rows } = await withClient(url(), (c) =>
          c.query<{ select: boolean; truncate: boolean }>(
            `select has_table_privilege($1, 'calls', 'select') as select, has_table_privilege($1, 'calls', 'truncate') as truncate`,
            [missing],
          ),
        );
        expect(rows[0]).toEqual({ select: true, truncate: false });
        // Its down migration takes them back.
        await appRoleGrants(missing).down!(createDb(pool));
        const after = await withClient(url(), (c) =>
          c.query<{ select: boolean }>(`select has_table_privilege($1, 'calls', 'select') as select`, [missing]),
        );
        expect(after.rows[0]).toEqual({ select: false });
      } finally {
        await withClient(url(), (c) => c.query(`drop owned by ${missing}`));
        await asOwner((c) => c.query(`drop role ${missing}`));
      }
    } finally {
      await pool.end();
    }
  });
});

describe('the server, connected as the runtime role', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let first: TestServer;
  let second: TestServer;
  let org: TestOrg;
  let secret: string;

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    [first, second] = await Promise.all([startTestServer({ caches: true }), startTestServer({ caches: true })]);
    org = await createOrg(db);
    secret = await createWebhookSecret(db, org.id);
  });

  afterAll(async () => {
    await Promise.all([first.close(), second.close()]);
    await closeDb();
  });

  it('runs its pool and its cache listener as that role', async () => {
    const { rows } = await first.pool.query<{ user: string }>('select current_user as user');
    expect(rows[0]!.user).toBe(DEFAULT_APP_ROLE);
    await eventually('both listeners trusted', () => first.services.caches.trusted() && second.services.caches.trusted());
    // Every connection either instance holds (its pool and its LISTEN connection, which stays open) is the runtime role's.
    const names = [first.applicationName, second.applicationName];
    const { rows: backends } = await asOwner((c) =>
      c.query<{ user: string }>(`select usename as user from pg_stat_activity where application_name = any($1)`, [names]),
    );
    expect(backends.length).toBeGreaterThanOrEqual(2);
    expect(new Set(backends.map((r) => r.user))).toEqual(new Set([DEFAULT_APP_ROLE]));
  });

  it('serves reads and mutations, takes webhooks, keeps statistics exact (rollup triggers) and invalidates caches (NOTIFY)', async () => {
    // Each test server signs with a secret of its own.
    const tokens = new Map([first, second].map((server) => [server, server.tokenFor(org)]));
    const tokenOf = (server: TestServer) => tokens.get(server)!;
    const DASHBOARD = `{ dashboard(range: { preset: LAST_7_DAYS }) { totalCalls { current } } }`;
    const totalCalls = async (server: TestServer) => {
      const reply = await server.graphql(DASHBOARD, { token: await tokenOf(server) });
      expect(reply.body.errors).toBeUndefined();
      return reply.body.data.dashboard.totalCalls.current as number;
    };
    // Cached on the second instance before the write.
    expect(await totalCalls(second)).toBe(0);
    expect(await totalCalls(second)).toBe(0);

    const agent = await createProviderAgent(db, org.id);
    const delivery = await afterInvalidation([second], org.id, () =>
      deliver(first.url, org.slug, callEvent(newCallScript(agent), 'call.ended'), { secrets: [secret] }),
    );
    expect(delivery.status).toBe(200);
    // The webhook's insert ran the rollup triggers as the runtime role; its NOTIFY reached the other instance.
    expect(await totalCalls(second)).toBe(1);

    const agentId = toGlobalId('Agent', await createAgent(db, org.id, { name: 'Before' }));
    const renamed = await first.graphql(`mutation ($input: UpdateAgentInput!) { updateAgent(input: $input) { agent { name } } }`, {
      token: await tokenOf(first),
      variables: { input: { id: agentId, name: 'After' } },
    });
    expect(renamed.body).toMatchObject({ data: { updateAgent: { agent: { name: 'After' } } } });
    const read = await second.graphql(`query ($id: ID!) { agent(id: $id) { name } }`, { token: await tokenOf(second), variables: { id: agentId } });
    expect(read.body).toMatchObject({ data: { agent: { name: 'After' } } });
  });
});

describe('reserved connection slots', () => {
  let cluster: SmallCluster;
  beforeAll(async () => {
    // 6 slots, 3 of them reserved for superusers: the runtime role's share is 3.
    cluster = await startSmallCluster({ maxConnections: 6, reserved: 3 });
    await withClient(cluster.urlAs(), (admin) =>
      ensureAppRole(admin, { role: DEFAULT_APP_ROLE, password: 'unused-trust-auth', database: 'postgres' }),
    );
  });
  afterAll(() => cluster.close());

  it('the runtime role cannot take the superuser-reserved slots: with its share used up, it is told DATABASE_BUSY and the operator still gets in', async () => {
    const pool = createPool({ connectionString: cluster.urlAs(DEFAULT_APP_ROLE), max: 6, connectionTimeoutMs: 5000 });
    const held: pg.PoolClient[] = [];
    try {
      for (let i = 0; i < 3; i += 1) held.push(await pool.connect());
      const refused = await pool.connect().then(
        (client) => {
          held.push(client);
          return undefined;
        },
        (error: unknown) => error,
      );
      expect(refused).toMatchObject({ code: '53300', message: expect.stringMatching(/reserved/) });
      expect(databaseFailure(refused)?.code).toBe('DATABASE_BUSY');
      // The operator's psql, as a superuser, takes a reserved slot.
      expect(await withClient(cluster.urlAs(), (c) => c.query('select 1 as ok').then((r) => r.rows[0]))).toEqual({ ok: 1 });
    } finally {
      for (const client of held) client.release();
      await pool.end();
    }
  });
});
