import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { createDb, createPool, type Db } from '../src/db/database';
import { durableTransaction } from '../src/db/durable';
import { toGlobalId } from '../src/graphql/globalId';
import { migrateToLatest } from '../src/db/migrate';
import { rollupDifferences } from '../src/stats/rollupCheck';
import { startTestServer, type TestServer } from './support/server';
import { testDatabaseUrl } from './support/db';
import { createOrg, createProviderAgent, createWebhookSecret, type ProviderAgent, type TestOrg } from './support/factories';
import { startRestartablePostgres, type RestartablePostgres } from './support/restartablePostgres';
import { callEvent, deliver, newCallScript } from './support/webhooks';
import { freePort, sleep, waitFor } from './support/waiting';

/**
 * Every acknowledged write is durable: a webhook's 2xx and a mutation's
 * successful payload are sent only once the commit is flushed to disk, even
 * on a database whose operator turned `synchronous_commit` off. A request
 * that was not acknowledged either did nothing or, for a webhook event, can
 * be retried to exactly one effect.
 */

async function settings(url: string, names: string[]): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string; setting: string }>('select name, setting from pg_settings where name = any($1)', [names]);
    return Object.fromEntries(rows.map((row) => [row.name, row.setting]));
  } finally {
    await client.end();
  }
}

describe('durableTransaction', () => {
  it('raises synchronous_commit=off to on for its own transaction only, and never lowers a stronger setting', async () => {
    const cases = [
      ['off', 'on'],
      ['local', 'local'],
      ['on', 'on'],
      ['remote_apply', 'remote_apply'],
    ] as const;
    for (const [session, expected] of cases) {
      // A session started with the setting, as a database- or role-level default would start it.
      const pool = new pg.Pool({ connectionString: testDatabaseUrl(), max: 1, options: `-c synchronous_commit=${session}` });
      const db = createDb(pool);
      const current = async (on: Db) =>
        (await sql<{ value: string }>`select current_setting('synchronous_commit') as value`.execute(on)).rows[0]!.value;
      try {
        expect({ session, inside: await durableTransaction(db, current) }).toEqual({ session, inside: expected });
        expect({ session, after: await current(db) }).toEqual({ session, after: session });
      } finally {
        await pool.end();
      }
    }
  });
});

describe('acknowledged writes survive a PostgreSQL crash', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-durability-pg-'));
  let postgres: RestartablePostgres | undefined;
  let server: TestServer | undefined;
  let org: TestOrg;
  let secret: string;
  let agent: ProviderAgent;
  let token: string;

  beforeAll(async () => {
    postgres = await startRestartablePostgres(dir, await freePort());
    const setup = createPool({ connectionString: postgres.url, max: 1 });
    const setupDb = createDb(setup);
    await migrateToLatest(setupDb);
    org = await createOrg(setupDb);
    secret = await createWebhookSecret(setupDb, org.id);
    agent = await createProviderAgent(setupDb, org.id);
    // The worst case an operator can configure: every session of the
    // database starts with asynchronous commit. Only the app itself
    // (durableTransaction) stands between a 2xx and a lost write.
    await sql`alter database switchboard set synchronous_commit = off`.execute(setupDb);
    await setup.end();
    server = await startTestServer({ databaseUrl: postgres.url, overrides: { poolSize: 10, pgConnectTimeoutMs: 2000 } });
    token = await server.tokenFor(org);
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await postgres?.close();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('the embedded PostgreSQL commits synchronously, and a persistent cluster fsyncs', async () => {
    const serverWide = new URL(postgres!.url);
    serverWide.pathname = '/postgres';
    expect(await settings(serverWide.toString(), ['synchronous_commit', 'fsync'])).toEqual({ synchronous_commit: 'on', fsync: 'on' });
    // ...while the app's own sessions run with the operator's `off` (above).
    expect(await settings(postgres!.url, ['synchronous_commit'])).toEqual({ synchronous_commit: 'off' });
  });

  it('every 2xx is stored after a crash mid-load; failed webhook events retry to exactly one effect; the database being down is a named 503', async () => {
    const WEBHOOK_SENDERS = 12;
    const MUTATION_SENDERS = 6;
    const PER_SENDER = 60; // every sender's loop is bounded by count…
    const LOAD_MS = 15_000; // …and the whole load by time
    const CRASH_AFTER = 120; // acknowledged writes before PostgreSQL is killed
    const DOWN_REQUESTS = 20; // requests answered while it is down, before the load stops

    type Phase = 'up' | 'down';
    interface Sent {
      phase: Phase;
      acknowledged: boolean;
      status: number | 'no reply';
      code: string | undefined;
    }
    const events: (Sent & { event: Record<string, unknown> })[] = [];
    const contacts: (Sent & { name: string; id: string | undefined })[] = [];
    let phase: Phase = 'up';
    let running = true;
    const started = Date.now();
    const going = (i: number) => running && i < PER_SENDER && Date.now() - started < LOAD_MS;

    const webhookSender = async () => {
      for (let i = 0; going(i); i++) {
        const event = callEvent(newCallScript(agent), 'call.started');
        const at = phase;
        try {
          const reply = await deliver(server!.url, org.slug, event, { secrets: [secret], timeoutMs: 10_000 });
          const acknowledged = reply.status === 200 && reply.body.status === 'applied';
          events.push({ event, phase: at, acknowledged, status: reply.status, code: reply.body.error?.code });
        } catch (error) {
          events.push({ event, phase: at, acknowledged: false, status: 'no reply', code: String(error) });
        }
        if (!events[events.length - 1]!.acknowledged) await sleep(20);
      }
    };
    const CREATE = 'mutation ($input: CreateContactInput!) { createContact(input: $input) { contact { id name } } }';
    const mutationSender = async (sender: number) => {
      for (let i = 0; going(i); i++) {
        const name = `durable ${sender}-${i}`;
        const at = phase;
        try {
          const reply = await server!.graphql(CREATE, {
            token,
            variables: { input: { name, phone: `+1555${String(sender * 1000 + i).padStart(7, '0')}` } },
            timeoutMs: 10_000,
          });
          const id = reply.body.data?.createContact?.contact?.id as string | undefined;
          const acknowledged = reply.status === 200 && reply.body.errors === undefined && id !== undefined;
          contacts.push({
            name,
            id,
            phase: at,
            acknowledged,
            status: reply.status,
            code: reply.body.errors?.[0]?.extensions?.code as string | undefined,
          });
        } catch (error) {
          contacts.push({ name, id: undefined, phase: at, acknowledged: false, status: 'no reply', code: String(error) });
        }
        if (!contacts[contacts.length - 1]!.acknowledged) await sleep(20);
      }
    };

    const acknowledged = () => events.filter((e) => e.acknowledged).length + contacts.filter((c) => c.acknowledged).length;
    const load = Promise.all([
      ...Array.from({ length: WEBHOOK_SENDERS }, webhookSender),
      ...Array.from({ length: MUTATION_SENDERS }, (_, sender) => mutationSender(sender)),
    ]);
    try {
      await waitFor('writes acknowledged before the crash', () => acknowledged() >= CRASH_AFTER, LOAD_MS);
      await postgres!.crash();
      phase = 'down';
      const sentWhileDown = () => [...events, ...contacts].filter((s) => s.phase === 'down').length;
      await waitFor('requests while down', () => sentWhileDown() >= DOWN_REQUESTS, LOAD_MS);
    } finally {
      running = false;
      await load;
    }
    await postgres!.start();

    // Nothing but a 2xx or a named 503: the crash is never a 500.
    const named = new Set(['DATABASE_UNAVAILABLE', 'DATABASE_BUSY', 'RETRY']);
    const unexpected = [...events, ...contacts].filter((s) => !s.acknowledged && !(s.status === 503 && named.has(String(s.code))));
    expect(unexpected.map(({ status, code, phase: at }) => ({ status, code, phase: at }))).toEqual([]);
    const whileDown = [...events, ...contacts].filter((s) => s.phase === 'down');
    expect(whileDown.filter((s) => s.code !== 'DATABASE_UNAVAILABLE')).toEqual([]);

    // Every failed webhook event, retried (as a provider would on a non-2xx), ends applied.
    const failedEvents = events.filter((e) => !e.acknowledged);
    const retried: string[] = [];
    for (const failed of failedEvents) {
      let status: string | undefined;
      for (let attempt = 0; attempt < 50 && status === undefined; attempt++) {
        const reply = await deliver(server!.url, org.slug, failed.event, { secrets: [secret], timeoutMs: 10_000 });
        if (reply.status === 200) status = reply.body.status;
        else await sleep(100);
      }
      retried.push(status ?? 'never accepted');
    }
    const committedUnacknowledged = retried.filter((s) => s === 'duplicate').length;
    expect(retried.filter((s) => s !== 'applied' && s !== 'duplicate')).toEqual([]);

    const check = createPool({ connectionString: postgres!.url, max: 1 });
    const db = createDb(check);
    try {
      const eventRows = await db
        .selectFrom('webhook_events as e')
        .innerJoin('calls as c', (join) => join.onRef('c.org_id', '=', 'e.org_id').onRef('c.id', '=', 'e.call_id'))
        .select(['e.event_id', 'e.outcome', 'c.provider_call_id'])
        .where('e.org_id', '=', org.id)
        .execute();
      const storedEvents = new Map(eventRows.map((row) => [row.event_id, row]));
      const contactRows = await db.selectFrom('contacts').select(['id', 'name']).where('org_id', '=', org.id).execute();
      const storedContacts = new Map(contactRows.map((row) => [row.name, toGlobalId('Contact', row.id)]));

      const ackedEvents = events.filter((e) => e.acknowledged);
      const ackedContacts = contacts.filter((c) => c.acknowledged);
      const lostEvents = ackedEvents.filter((e) => !storedEvents.has(e.event.id as string));
      const lostContacts = ackedContacts.filter((c) => storedContacts.get(c.name) !== c.id);
      const failedContacts = contacts.filter((c) => !c.acknowledged);
      console.info(
        [
          `crash: ${events.length + contacts.length} requests, ${acknowledged()} acknowledged, ${whileDown.length} sent while down (all 503 DATABASE_UNAVAILABLE)`,
          `webhooks: ${ackedEvents.length} acknowledged, ${ackedEvents.length - lostEvents.length} stored, ${lostEvents.length} lost; ` +
            `${failedEvents.length} failed, retried: ${failedEvents.length - committedUnacknowledged} applied now, ${committedUnacknowledged} had committed unacknowledged (duplicate)`,
          `mutations: ${ackedContacts.length} acknowledged, ${ackedContacts.length - lostContacts.length} stored, ${lostContacts.length} lost; ` +
            `${failedContacts.length} failed, of which ${failedContacts.filter((c) => storedContacts.has(c.name)).length} committed anyway`,
        ].join('\n'),
      );

      expect({ lostEvents: lostEvents.length, lostContacts: lostContacts.length }).toEqual({ lostEvents: 0, lostContacts: 0 });
      // Exactly one effect per event, however it got there: one applied row and one call each, nothing else.
      expect(eventRows).toHaveLength(events.length);
      expect(eventRows.every((row) => row.outcome === 'applied')).toBe(true);
      expect(events.every(({ event }) => storedEvents.get(event.id as string)?.provider_call_id === (event.call as { id: string }).id)).toBe(true);
      expect(
        Number(
          (
            await db
              .selectFrom('calls')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('org_id', '=', org.id)
              .executeTakeFirstOrThrow()
          ).n,
        ),
      ).toBe(events.length);
      // No request made two contacts, and nothing appeared that was never asked for.
      expect(contactRows).toHaveLength(storedContacts.size);
      expect(contactRows.every((row) => contacts.some((c) => c.name === row.name))).toBe(true);
      // Crash recovery kept the statistics exact (the rollups commit with their rows).
      expect(await rollupDifferences(db, org.id)).toEqual([]);
    } finally {
      await check.end();
    }
  }, 60_000);
});
