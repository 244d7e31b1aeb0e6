import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { afterInvalidation, eventually } from './support/caches';
import { openTestDb } from './support/db';
import { createContact, createOrg, createProviderAgent, createWebhookSecret, type ProviderAgent, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';
import { callEvent, deliver, newCallScript } from './support/webhooks';

/**
 * The caches never hide a write made through Switchboard itself: a mutation
 * served by one instance, or a webhook delivered to it, is what the next read
 * returns on that instance at once and on every other instance as soon as the
 * database's NOTIFY arrives. (Raw SQL from another process: test/caches.test.ts.)
 */

const CONTACT = `query ContactName($id: ID!) { contact(id: $id) { name } }`;
const RENAME = `mutation Rename($id: ID!, $name: String!) { updateContact(input: { id: $id, name: $name }) { contact { name } } }`;
const CALL_COUNT = `query CallCount { calls(first: 1) { totalCount } }`;

describe('cached reads after writes through the API and the webhook, on two instances', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let org: TestOrg;
  let agent: ProviderAgent;
  let secret: string;
  let first: TestServer;
  let second: TestServer;
  let tokens: [string, string];

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    org = await createOrg(db);
    agent = await createProviderAgent(db, org.id);
    secret = await createWebhookSecret(db, org.id);
    [first, second] = await Promise.all([startTestServer({ caches: true }), startTestServer({ caches: true })]);
    tokens = [await first.tokenFor(org, 'member'), await second.tokenFor(org, 'member')];
    await eventually('both listeners up', () => first.services.caches.trusted() && second.services.caches.trusted());
  });

  afterAll(async () => {
    await Promise.all([first.close(), second.close()]);
    await closeDb();
  });

  /** Reads twice on each instance, so the value is served from the cache (no SQL) before the write. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response data
  async function readCachedEverywhere<T>(query: string, variables: Record<string, unknown>, pick: (data: any) => T): Promise<T[]> {
    const values: T[] = [];
    for (const [index, server] of [first, second].entries()) {
      await server.graphql(query, { token: tokens[index], variables });
      const again = await server.graphql(query, { token: tokens[index], variables });
      expect(server.operations[server.operations.length - 1]!.statements.count).toBe(0);
      values.push(pick(again.body.data));
    }
    return values;
  }

  it('a mutation is what the next read returns, on the instance that served it and on the other', async () => {
    // The fixture's own insert notifies too: wait for it, or its late arrival would evict the first cached read.
    const id = toGlobalId('Contact', await afterInvalidation([first, second], org.id, () => createContact(db, org.id, { name: 'Before' })));
    expect(await readCachedEverywhere(CONTACT, { id }, (d) => d.contact.name)).toEqual(['Before', 'Before']);

    await afterInvalidation([second], org.id, async () => {
      const renamed = await first.graphql(RENAME, { token: tokens[0], variables: { id, name: 'After' } });
      expect(renamed.body.errors).toBeUndefined();
      expect((await first.graphql(CONTACT, { token: tokens[0], variables: { id } })).body.data.contact.name).toBe('After');
    });
    expect((await second.graphql(CONTACT, { token: tokens[1], variables: { id } })).body.data.contact.name).toBe('After');
  });

  it('a call reported by webhook to one instance is counted by both', async () => {
    const [before] = await readCachedEverywhere(CALL_COUNT, {}, (d) => d.calls.totalCount as number);
    await afterInvalidation([first, second], org.id, async () => {
      const delivery = await deliver(first.url, org.slug, callEvent(newCallScript(agent), 'call.started'), { secrets: [secret] });
      expect(delivery.status).toBe(200);
    });
    for (const [index, server] of [first, second].entries()) {
      expect((await server.graphql(CALL_COUNT, { token: tokens[index] })).body.data.calls.totalCount).toBe(before! + 1);
    }
  });
});
