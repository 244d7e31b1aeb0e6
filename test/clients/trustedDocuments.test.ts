import { createHash } from 'node:crypto';
import type { Db } from '../../src/db/database';
import { toGlobalId } from '../../src/graphql/globalId';
import { apolloManifest, codegenManifest, relayManifest, type GeneratedManifest } from '../support/clientManifests';
import { openTestDb } from '../support/db';
import { createAgent, createCalls, createOrg, type TestOrg } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

/**
 * Trusted documents from the manifests client tools really write, each run in
 * this spec's setup: GraphQL Code Generator's client preset (`sha256:<hex>`
 * keys) and Apollo's generate-persisted-query-manifest (bare hex ids) over
 * test/clients/operations, and relay-compiler's persisted queries (ids of its
 * own choosing). The server runs with TRUSTED_DOCUMENTS_MODE=only and that
 * file, as a production deployment would.
 */

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- inspected per case
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

describe('trusted documents from generated manifests', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let org: TestOrg;
  let callIds: string[];
  const started: TestServer[] = [];

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    org = await createOrg(db);
    const agentId = await createAgent(db, org.id);
    callIds = await createCalls(db, org.id, [{ agentId }, { agentId }, { agentId }]);
  });

  afterAll(async () => {
    await Promise.all(started.map((server) => server.close()));
    await closeDb();
  });

  async function onlyServer(manifest: GeneratedManifest): Promise<{ server: TestServer; token: string }> {
    const server = await startTestServer({ overrides: { trustedDocuments: { mode: 'only', manifestPath: manifest.file } } });
    started.push(server);
    return { server, token: await server.tokenFor(org) };
  }

  async function reply(response: Response): Promise<Reply> {
    const text = await response.text();
    expect(text).not.toMatch(/stacktrace|node_modules|\bat \S+ \(/);
    return { status: response.status, body: JSON.parse(text) as Reply['body'] };
  }

  function client(server: TestServer, token: string) {
    return {
      post: async (payload: Record<string, unknown>) =>
        reply(
          await fetch(`${server.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify(payload),
          }),
        ),
      get: async (params: Record<string, unknown>) => {
        const search = new URLSearchParams();
        for (const [name, value] of Object.entries(params)) search.set(name, typeof value === 'string' ? value : JSON.stringify(value));
        // Only the token: with it a GET counts as preflighted (src/server/apollo.ts, csrfPrevention).
        return reply(await fetch(`${server.url}/graphql?${search.toString()}`, { headers: { authorization: `Bearer ${token}` } }));
      },
    };
  }

  const codeOf = (result: Reply) => result.body.errors?.[0]?.extensions?.code;

  function expectViewer(result: Reply) {
    expect(result.body.errors).toBeUndefined();
    expect(result.status).toBe(200);
    expect(result.body.data.viewer).toMatchObject({ role: 'ADMIN', organisation: { id: toGlobalId('Organisation', org.id), slug: org.slug } });
  }

  function expectRefused(result: Reply, status: number, code: string) {
    expect({ status: result.status, code: codeOf(result) }).toEqual({ status, code });
    expect(result.body.data).toBeUndefined();
  }

  describe('GraphQL Code Generator client preset (persistedDocuments: true)', () => {
    let manifest: GeneratedManifest;
    let server: TestServer;
    let http: ReturnType<typeof client>;

    beforeAll(async () => {
      manifest = await codegenManifest();
      let token: string;
      ({ server, token } = await onlyServer(manifest));
      http = client(server, token);
    });

    it('writes sha256:-prefixed keys, each the hash of its document', () => {
      expect([...manifest.ids.keys()].sort()).toEqual(['RecentCalls', 'UpdateCallNotes', 'ViewerRole']);
      for (const [name, id] of manifest.ids) expect(id).toBe(`sha256:${sha256(manifest.bodies.get(name)!)}`);
    });

    it('runs every query by its documentId over POST and GET, prefixed as written or bare', async () => {
      const id = manifest.ids.get('ViewerRole')!;
      expectViewer(await http.post({ documentId: id }));
      expectViewer(await http.get({ documentId: id }));
      expectViewer(await http.post({ documentId: id.replace(/^sha256:/, '') }));
      expectViewer(await http.get({ documentId: id.replace(/^sha256:/, '') }));

      const page = await http.get({ documentId: manifest.ids.get('RecentCalls')!, variables: { first: 2 } });
      expect(page.body.errors).toBeUndefined();
      expect(page.body.data.calls.edges).toHaveLength(2);
      expect(page.body.data.calls.pageInfo.hasNextPage).toBe(true);
      const next = await http.post({
        documentId: manifest.ids.get('RecentCalls')!,
        variables: { first: 2, after: page.body.data.calls.pageInfo.endCursor },
      });
      expect(next.body.data.calls.edges).toHaveLength(1);
    });

    it('runs a query by the same id sent as an APQ hash (urql persistedExchange fed the preset hash)', async () => {
      const id = manifest.ids.get('ViewerRole')!;
      expectViewer(await http.post({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } }));
      expectViewer(await http.get({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } }));
    });

    it('runs a mutation by id over POST; GET refuses mutations', async () => {
      const id = manifest.ids.get('UpdateCallNotes')!;
      const callId = toGlobalId('Call', callIds[0]!);
      const result = await http.post({ documentId: id, variables: { id: callId, notes: 'from a persisted document' } });
      expect(result.body.errors).toBeUndefined();
      expect(result.body.data.updateCall.call).toEqual({ id: callId, notes: 'from a persisted document' });
      const overGet = await http.get({ documentId: id, variables: { id: callId, notes: 'via GET' } });
      expect(overGet.status).toBe(405);
      expect(overGet.body.data).toBeUndefined();
    });

    it('refuses any other operation with 403, the source text respaced included', async () => {
      expectRefused(await http.post({ query: '{ viewer { role } }' }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
      expectRefused(await http.get({ query: '{ viewer { role } }' }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
      const respaced = manifest.bodies.get('ViewerRole')!.replace(/ /g, '  ');
      expectRefused(await http.post({ query: respaced }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
    });

    it('answers an unknown id with 404, over POST and GET', async () => {
      const unknown = `sha256:${sha256('query Unknown { viewer { role } }')}`;
      expectRefused(await http.post({ documentId: unknown }), 404, 'PERSISTED_QUERY_NOT_FOUND');
      expectRefused(await http.get({ documentId: unknown }), 404, 'PERSISTED_QUERY_NOT_FOUND');
      expectRefused(await http.post({ extensions: { persistedQuery: { version: 1, sha256Hash: unknown } } }), 404, 'PERSISTED_QUERY_NOT_FOUND');
    });
  });

  describe("Apollo's generate-persisted-query-manifest", () => {
    let manifest: GeneratedManifest;
    let http: ReturnType<typeof client>;

    beforeAll(async () => {
      manifest = await apolloManifest();
      const { server, token } = await onlyServer(manifest);
      http = client(server, token);
    });

    it('writes bare sha256 ids of documents with __typename added, as Apollo Client sends them', () => {
      for (const [name, id] of manifest.ids) expect(id).toBe(sha256(manifest.bodies.get(name)!));
      expect(manifest.bodies.get('ViewerRole')).toMatch(/__typename/);
    });

    it('runs every query by id (APQ extension, as Apollo Client sends it, or documentId) over POST and GET', async () => {
      const id = manifest.ids.get('ViewerRole')!;
      expectViewer(await http.post({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } }));
      expectViewer(await http.get({ extensions: { persistedQuery: { version: 1, sha256Hash: id } } }));
      expectViewer(await http.post({ documentId: `sha256:${id}` }));
      expectViewer(await http.get({ documentId: id }));
    });

    it('refuses any other operation with 403 and answers an unknown id with 404', async () => {
      expectRefused(await http.post({ query: 'query ViewerRole { viewer { role } }' }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
      expectRefused(await http.get({ query: 'query ViewerRole { viewer { role } }' }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
      const unknown = sha256('query Unknown { viewer { role } }');
      expectRefused(await http.post({ extensions: { persistedQuery: { version: 1, sha256Hash: unknown } } }), 404, 'PERSISTED_QUERY_NOT_FOUND');
      expectRefused(await http.get({ documentId: unknown }), 404, 'PERSISTED_QUERY_NOT_FOUND');
    });
  });

  describe("relay-compiler's persisted queries (persistConfig)", () => {
    let manifest: GeneratedManifest;
    let http: ReturnType<typeof client>;

    beforeAll(async () => {
      manifest = await relayManifest();
      const { server, token } = await onlyServer(manifest);
      http = client(server, token);
    });

    it('runs every query by the id the compiler put in its artifacts, over POST and GET', async () => {
      const id = manifest.ids.get('ClientsViewerQuery')!;
      expectViewer(await http.post({ documentId: id }));
      expectViewer(await http.get({ documentId: id }));
      const calls = await http.get({ documentId: manifest.ids.get('ClientsCallsQuery')!, variables: { first: 1 } });
      expect(calls.body.data.calls.edges).toHaveLength(1);
    });

    it('refuses any other operation with 403 and answers an unknown id with 404', async () => {
      expectRefused(await http.post({ query: 'query ClientsViewerQuery { viewer { role } }' }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
      expectRefused(await http.post({ documentId: 'not-a-relay-id' }), 404, 'PERSISTED_QUERY_NOT_FOUND');
      expectRefused(await http.get({ documentId: sha256('query Unknown { viewer { role } }') }), 404, 'PERSISTED_QUERY_NOT_FOUND');
    });
  });
});
