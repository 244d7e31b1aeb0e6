import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type DatabaseHandle } from '../src/db/database';
import { createContact, createOrg, createProviderAgent, createWebhookSecret, type ProviderAgent, type TestOrg } from './support/factories';
import { envWith, startServer } from './support/processes';
import { startReplicaPair, type ReplicaPair } from './support/replicaPair';
import { startTestServer, type TestServer } from './support/server';
import { freePort, waitFor } from './support/waiting';
import { callEvent, deliver, newCallScript } from './support/webhooks';

/**
 * Read replicas (DATABASE_READ_URL) and standbys, on a real streaming replica
 * of a primary of its own (test/support/replicaPair.ts). The proof that a read
 * ran on the replica: with the replica's replay paused, a row written on the
 * primary behind the API's back (so no write position is recorded for the
 * organisation) is not in the answer.
 */
const CONTACT_NAMES = '{ contacts(first: 100) { nodes { name } } }';
const CREATE_CONTACT = 'mutation ($input: CreateContactInput!) { createContact(input: $input) { contact { id name } } }';

describe('read replicas', () => {
  let pair: ReplicaPair;
  let primary: DatabaseHandle;
  let replicaAdmin: pg.Client;
  let server: TestServer;
  let org: TestOrg;
  let token: string;

  beforeAll(async () => {
    pair = await startReplicaPair(await freePort(), await freePort());
    primary = openDatabase({ connectionString: pair.primaryUrl, max: 2 });
    replicaAdmin = new pg.Client({ connectionString: pair.replicaUrl });
    // Stopping the replica ends this connection; its later queries are never made.
    replicaAdmin.on('error', () => {});
    await replicaAdmin.connect();
    org = await createOrg(primary.db);
    await createContact(primary.db, org.id, { name: 'Before' });
    await replicated(org.id, 'Before');
    server = await startTestServer({
      databaseUrl: pair.primaryUrl,
      overrides: { replicas: { urls: [pair.replicaUrl], pollMs: 100, maxLagBytes: 16 * 1024 * 1024 } },
    });
    token = await server.tokenFor(org, 'admin');
  }, 60_000);

  afterAll(async () => {
    await server.close();
    await replicaAdmin.end().catch(() => {});
    await primary.close();
    pair.close();
  });

  /** Waits until the replica has a contact of that name (it has replayed past its insert). */
  async function replicated(orgId: string, name: string): Promise<void> {
    await waitFor(
      `contact ${name} on the replica`,
      async () => (await replicaAdmin.query('select 1 from contacts where org_id = $1 and name = $2', [orgId, name])).rowCount === 1,
      10_000,
    );
  }

  const names = async (): Promise<string[]> => {
    const reply = await server.graphql<{ contacts: { nodes: { name: string }[] } }>(CONTACT_NAMES, { token });
    expect(reply.body.errors).toBeUndefined();
    return reply.body.data!.contacts.nodes.map((node) => node.name).sort();
  };
  const routed = () => ({ ...server.services.replicas.routed });

  async function withReplayPaused(work: () => Promise<void>): Promise<void> {
    await replicaAdmin.query('select pg_wal_replay_pause()');
    try {
      await work();
    } finally {
      await replicaAdmin.query('select pg_wal_replay_resume()');
    }
  }

  it('serves query operations from a replica that has replayed the organisation', async () => {
    await waitFor('the replica usable', () => server.services.replicas.states()[0]?.usable === true);
    await withReplayPaused(async () => {
      await createContact(primary.db, org.id, { name: 'Behind the API' });
      const before = routed();
      expect(await names()).toEqual(['Before']);
      expect(routed().replica).toBe(before.replica + 1);
    });
    await replicated(org.id, 'Behind the API');
  });

  it('reads the caller organisation’s own write from the primary until the replica has replayed past it', async () => {
    await withReplayPaused(async () => {
      const created = await server.graphql(CREATE_CONTACT, { token, variables: { input: { name: 'Mine', phone: '+14155550111' } } });
      expect(created.body.errors).toBeUndefined();
      const before = routed();
      expect(await names()).toContain('Mine');
      expect(routed().primary).toBe(before.primary + 1);
    });
    await replicated(org.id, 'Mine');
    // Back on the replica once a poll has seen it replay past the write, with no delay guessed.
    await waitFor(
      'reads back on the replica',
      async () => {
        const before = routed().replica;
        const seen = await names();
        expect(seen).toContain('Mine');
        return routed().replica === before + 1;
      },
      10_000,
      100,
    );
  });

  it('reports replica lag and routing counts in /metrics', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^switchboard_db_replica_lag_bytes\{replica="0"\} \d+$/m);
    expect(text).toMatch(/^switchboard_db_replica_usable\{replica="0"\} 1$/m);
    expect(text).toMatch(/^switchboard_db_reads_routed_total\{target="replica"\} [1-9]\d*$/m);
    expect(text).toMatch(/^switchboard_db_reads_routed_total\{target="primary"\} [1-9]\d*$/m);
  });

  describe('an instance whose DATABASE_URL is the standby', () => {
    let standby: TestServer;
    let secret: string;
    let agent: ProviderAgent;

    beforeAll(async () => {
      secret = await createWebhookSecret(primary.db, org.id);
      agent = await createProviderAgent(primary.db, org.id);
      await waitFor(
        'the agent on the replica',
        async () => (await replicaAdmin.query('select 1 from agents where id = $1', [agent.id])).rowCount === 1,
        10_000,
      );
      standby = await startTestServer({ databaseUrl: pair.replicaUrl });
    });
    afterAll(async () => {
      await standby.close();
    });

    it('is ready, and says its database is read-only', async () => {
      const response = await fetch(`${standby.url}/health/ready`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ status: 'ready', checks: { database: 'read-only', migrations: 'current' } });
    });

    it('serves reads', async () => {
      const reply = await standby.graphql(CONTACT_NAMES, { token: await standby.tokenFor(org, 'admin') });
      expect(reply.body.errors).toBeUndefined();
      expect(reply.body.data.contacts.nodes.map((node: { name: string }) => node.name)).toContain('Before');
    });

    it('refuses a mutation with READ_ONLY, never a masked internal error', async () => {
      const reply = await standby.graphql(CREATE_CONTACT, {
        token: await standby.tokenFor(org, 'admin'),
        variables: { input: { name: 'Refused', phone: '+14155550112' } },
      });
      expect(reply.status).toBe(503);
      expect(reply.body.errors?.map((error) => error.extensions?.code)).toEqual(['READ_ONLY']);
      expect(standby.logs.filter((line) => line.msg === 'internal error')).toEqual([]);
    });

    it('starts with `npm start`: migrations and demo seeding skipped, said once in the log', async () => {
      const started = await startServer(envWith({ DATABASE_URL: pair.replicaUrl, PORT: '0', NODE_ENV: 'development' }));
      const finished = await started.stop();
      expect(started.ready).toBe(true);
      expect(finished.stdout).toContain('the database is a read-only standby');
    }, 60_000);

    it('answers a webhook with 503 READ_ONLY, so the provider retries', async () => {
      const delivery = await deliver(standby.url, org.slug, callEvent(newCallScript(agent), 'call.started'), { secrets: [secret] });
      expect(delivery.status).toBe(503);
      expect(delivery.body).toMatchObject({ error: { code: 'READ_ONLY' } });
    });
  });

  it('leaves a stopped replica out and serves reads from the primary', async () => {
    pair.stopReplica();
    await waitFor('the replica left out', () => server.services.replicas.states()[0]?.usable === false, 10_000);
    const before = routed();
    expect(await names()).toContain('Mine');
    expect(routed()).toEqual({ replica: before.replica, primary: before.primary + 1 });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^switchboard_db_replica_usable\{replica="0"\} 0$/m);
    // The primary itself is untouched.
    expect((await sql<{ standby: boolean }>`select pg_is_in_recovery() as standby`.execute(primary.db)).rows[0]?.standby).toBe(false);
  });
});
