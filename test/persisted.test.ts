import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TrustedDocumentsMode } from '../src/config/protection';
import type { Db } from '../src/db/database';
import { parseManifest } from '../src/persisted/manifest';
import { loadPersistedSettings } from '../src/persisted/settings';
import { openTestDb } from './support/db';
import { createOrg, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';

/**
 * Persisted queries: Apollo's APQ protocol (hash first, then hash + query to
 * register) over POST and GET, and trusted documents from a manifest in the
 * two formats clients produce, in `off`, `allow` and `only` modes.
 */

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const ROLE = 'query Role { viewer { role } }';
const SLUG = 'query Slug { viewer { organisation { slug } } }';
const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-manifests-'));
const manifests = {
  // GraphQL Code Generator client preset: persisted-documents.json
  codegen: writeManifest('persisted-documents.json', { [sha256(ROLE)]: ROLE, [sha256(SLUG)]: SLUG }),
  // Apollo's generate-persisted-query-manifest
  apollo: writeManifest('persisted-query-manifest.json', {
    format: 'apollo-persisted-query-manifest',
    version: 1,
    operations: [
      { id: sha256(ROLE), name: 'Role', type: 'query', body: ROLE },
      { id: sha256(SLUG), name: 'Slug', type: 'query', body: SLUG },
    ],
  }),
};

function writeManifest(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

interface Reply {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- inspected per case
  body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
}

describe('persisted queries and trusted documents', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let org: TestOrg;
  const started: TestServer[] = [];
  const tokens = new Map<TestServer, string>();

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    org = await createOrg(db);
  });

  afterAll(async () => {
    await Promise.all(started.map((server) => server.close()));
    await closeDb();
  });

  async function serverWith(mode: TrustedDocumentsMode, manifestPath?: string): Promise<TestServer> {
    const server = await startTestServer({ overrides: { trustedDocuments: { mode, manifestPath } } });
    started.push(server);
    tokens.set(server, await server.tokenFor(org));
    return server;
  }

  async function reply(response: Response): Promise<Reply> {
    const text = await response.text();
    expect(response.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    expect(text).not.toMatch(/stacktrace|node_modules|\bat \S+ \(/);
    return { status: response.status, body: JSON.parse(text) as Reply['body'] };
  }

  async function post(server: TestServer, payload: Record<string, unknown>): Promise<Reply> {
    const response = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(server)}` },
      body: JSON.stringify(payload),
    });
    return reply(response);
  }

  async function get(server: TestServer, params: Record<string, unknown>): Promise<Reply> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params)) search.set(name, typeof value === 'string' ? value : JSON.stringify(value));
    const response = await fetch(`${server.url}/graphql?${search.toString()}`, {
      headers: { authorization: `Bearer ${tokens.get(server)}`, 'apollo-require-preflight': 'true' },
    });
    return reply(response);
  }

  const apq = (query: string) => ({ persistedQuery: { version: 1, sha256Hash: sha256(query) } });
  const codeOf = (result: Reply) => result.body.errors?.[0]?.extensions?.code;

  function expectRole(result: Reply) {
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
    expect(result.body.data).toEqual({ viewer: { role: 'ADMIN' } });
  }

  /** A refusal: 4xx JSON error with the code, and no SQL ran for it. */
  async function expectRefused(server: TestServer, request: () => Promise<Reply>, status: number, code: string) {
    server.operations.length = 0;
    const result = await request();
    expect(result.status).toBe(status);
    expect(codeOf(result)).toBe(code);
    expect(result.body.data).toBeUndefined();
    expect(server.operations.every((operation) => operation.statements.count === 0)).toBe(true);
    return result;
  }

  describe('automatic persisted queries (Apollo APQ)', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await serverWith('off');
    });

    it('over POST: an unknown hash is PERSISTED_QUERY_NOT_FOUND, then hash + query registers, then the hash alone runs it', async () => {
      const query = 'query ApqPost { viewer { role } }';
      await expectRefused(server, () => post(server, { extensions: apq(query) }), 404, 'PERSISTED_QUERY_NOT_FOUND');
      expectRole(await post(server, { query, extensions: apq(query) }));
      expectRole(await post(server, { extensions: apq(query) }));
      // GET finds what POST registered.
      expectRole(await get(server, { extensions: apq(query) }));
    });

    it('over GET: not found, registration, hit', async () => {
      const query = 'query ApqGet { viewer { role } }';
      await expectRefused(server, () => get(server, { extensions: apq(query) }), 404, 'PERSISTED_QUERY_NOT_FOUND');
      expectRole(await get(server, { query, extensions: apq(query) }));
      expectRole(await get(server, { extensions: apq(query), operationName: 'ApqGet' }));
    });

    it('a hash that does not match the query is PERSISTED_QUERY_HASH_MISMATCH and registers nothing', async () => {
      const query = 'query Mismatch { viewer { role } }';
      const wrong = { persistedQuery: { version: 1, sha256Hash: sha256('something else') } };
      await expectRefused(server, () => post(server, { query, extensions: wrong }), 400, 'PERSISTED_QUERY_HASH_MISMATCH');
      await expectRefused(server, () => post(server, { extensions: wrong }), 404, 'PERSISTED_QUERY_NOT_FOUND');
    });

    it('an unsupported persisted query version is a 400 BAD_REQUEST', async () => {
      const extensions = { persistedQuery: { version: 2, sha256Hash: sha256(ROLE) } };
      await expectRefused(server, () => post(server, { query: ROLE, extensions }), 400, 'BAD_REQUEST');
    });

    it('documentId (GraphQL over HTTP, Codegen) finds an APQ-registered document, with or without the sha256: prefix', async () => {
      const query = 'query ByDocumentId { viewer { role } }';
      await expectRefused(server, () => post(server, { documentId: sha256(query) }), 404, 'PERSISTED_QUERY_NOT_FOUND');
      expectRole(await post(server, { query, extensions: apq(query) }));
      expectRole(await post(server, { documentId: sha256(query) }));
      expectRole(await post(server, { documentId: `sha256:${sha256(query)}` }));
      expectRole(await get(server, { documentId: sha256(query) }));
    });

    it('a registration over the abuse limits is refused and not stored', async () => {
      const query = `query TooCostly { calls(first: 100) { nodes { agent { calls(first: 100) { nodes { contact { calls(first: 100) { nodes { id } } } } } } } } }`;
      await expectRefused(server, () => post(server, { query, extensions: apq(query) }), 400, 'QUERY_TOO_COMPLEX');
      await expectRefused(server, () => post(server, { extensions: apq(query) }), 404, 'PERSISTED_QUERY_NOT_FOUND');
    });

    it('a manifest is ignored in off mode', async () => {
      const off = await serverWith('off', manifests.codegen);
      await expectRefused(off, () => post(off, { extensions: apq(ROLE) }), 404, 'PERSISTED_QUERY_NOT_FOUND');
    });
  });

  describe.each(Object.entries(manifests))('trusted documents from the %s manifest', (_format, manifestPath) => {
    describe('allow mode', () => {
      let server: TestServer;
      beforeAll(async () => {
        server = await serverWith('allow', manifestPath);
      });

      it('runs manifest documents by id: APQ sha256Hash, documentId, over POST and GET, without registering first', async () => {
        expectRole(await post(server, { extensions: apq(ROLE) }));
        expectRole(await post(server, { documentId: sha256(ROLE) }));
        expectRole(await get(server, { extensions: apq(ROLE) }));
        expectRole(await get(server, { documentId: `sha256:${sha256(ROLE)}` }));
        const slug = await post(server, { documentId: sha256(SLUG) });
        expect(slug.body.data).toEqual({ viewer: { organisation: { slug: org.slug } } });
      });

      it('still runs arbitrary operations, and APQ still registers them', async () => {
        const query = 'query Arbitrary { viewer { role } }';
        expectRole(await post(server, { query }));
        await expectRefused(server, () => post(server, { extensions: apq(query) }), 404, 'PERSISTED_QUERY_NOT_FOUND');
        expectRole(await post(server, { query, extensions: apq(query) }));
        expectRole(await post(server, { extensions: apq(query) }));
      });

      it('a manifest id sent with a different query is a hash mismatch', async () => {
        await expectRefused(server, () => post(server, { query: SLUG, documentId: sha256(ROLE) }), 400, 'PERSISTED_QUERY_HASH_MISMATCH');
      });
    });

    describe('only mode', () => {
      let server: TestServer;
      beforeAll(async () => {
        server = await serverWith('only', manifestPath);
      });

      it('runs manifest documents by id over POST and GET, and by their exact text', async () => {
        expectRole(await post(server, { extensions: apq(ROLE) }));
        expectRole(await post(server, { documentId: sha256(ROLE) }));
        expectRole(await get(server, { documentId: sha256(ROLE) }));
        expectRole(await get(server, { extensions: apq(ROLE) }));
        expectRole(await post(server, { query: ROLE }));
        expectRole(await post(server, { query: ROLE, extensions: apq(ROLE) }));
      });

      it('refuses any other operation with PERSISTED_QUERY_NOT_ALLOWED before parsing it', async () => {
        const refused = await expectRefused(server, () => post(server, { query: '{ viewer { role } }' }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
        expect(refused.body.errors![0]!.message).toMatch(/trusted documents/);
        expect(server.operations).toHaveLength(1);
        expect(server.operations[0]!.orgId).toBeUndefined();
        // Not even a syntax error gets as far as the parser.
        await expectRefused(server, () => post(server, { query: '{ viewer { ' }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
        await expectRefused(server, () => get(server, { query: '{ viewer { role } }' }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
      });

      it('an APQ registration of an unknown document is refused and writes nothing to the APQ cache', async () => {
        const query = 'query Sneaky { viewer { role } }';
        await expectRefused(server, () => post(server, { query, extensions: apq(query) }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
        await expectRefused(server, () => get(server, { query, extensions: apq(query) }), 403, 'PERSISTED_QUERY_NOT_ALLOWED');
        // Had anything been stored, the hash alone would now run the query.
        await expectRefused(server, () => post(server, { extensions: apq(query) }), 404, 'PERSISTED_QUERY_NOT_FOUND');
        await expectRefused(server, () => get(server, { extensions: apq(query) }), 404, 'PERSISTED_QUERY_NOT_FOUND');
        await expectRefused(server, () => post(server, { documentId: sha256(query) }), 404, 'PERSISTED_QUERY_NOT_FOUND');
      });

      it('a request with neither a query nor an id is a 400', async () => {
        const result = await post(server, { variables: {} });
        expect(result.status).toBe(400);
        expect(codeOf(result)).toBe('BAD_REQUEST');
      });
    });
  });

  describe('manifests', () => {
    it('parses both formats to the same documents', () => {
      const codegen = parseManifest({ [sha256(ROLE)]: ROLE }, 'codegen.json');
      const apollo = parseManifest(
        { format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: sha256(ROLE), name: 'Role', type: 'query', body: ROLE }] },
        'apollo.json',
      );
      expect([...codegen.byId]).toEqual([[sha256(ROLE), ROLE]]);
      expect([...apollo.byId]).toEqual([[sha256(ROLE), ROLE]]);
      expect(apollo.bodyHashes.has(sha256(ROLE))).toBe(true);
    });

    it('keys sha256:-prefixed ids (Codegen client preset) and bare ones (Apollo) alike; other ids (Relay) as written', () => {
      const md5 = createHash('md5').update(SLUG).digest('hex');
      const documents = parseManifest({ [`sha256:${sha256(ROLE)}`]: ROLE, [md5]: SLUG }, 'mixed.json');
      expect([...documents.byId]).toEqual([
        [sha256(ROLE), ROLE],
        [md5, SLUG],
      ]);
      const upper = parseManifest({ [`sha256:${sha256(ROLE).toUpperCase()}`]: ROLE, [sha256(ROLE)]: ROLE }, 'twice.json');
      expect([...upper.byId.keys()]).toEqual([sha256(ROLE)]);
    });

    it('refuses a sha256: id that is not the hash of its document (a manifest edited after generation)', () => {
      expect(() => parseManifest({ [`sha256:${sha256(SLUG)}`]: ROLE }, 'edited.json')).toThrow(/edited\.json.*not the sha256/);
      expect(() => parseManifest({ [`sha256:${sha256(ROLE)}`]: ROLE, [sha256(ROLE)]: SLUG }, 'clash.json')).toThrow(/two different bodies/);
    });

    it('refuses anything else, so a bad file stops the start', async () => {
      expect(() => parseManifest([ROLE], 'list.json')).toThrow(/list\.json/);
      expect(() => parseManifest({ a: 1 }, 'numbers.json')).toThrow(/not a string/);
      expect(() => parseManifest({ format: 'apollo-persisted-query-manifest', version: 2, operations: [] }, 'v2.json')).toThrow(/version 1/);
      expect(() => parseManifest({ format: 'apollo-persisted-query-manifest', version: 1, operations: [{ id: 'x' }] }, 'nobody.json')).toThrow(
        /id and body/,
      );
      await expect(loadPersistedSettings({ mode: 'only', manifestPath: path.join(dir, 'missing.json') })).rejects.toThrow(/missing\.json/);
      await expect(loadPersistedSettings({ mode: 'allow', manifestPath: undefined })).rejects.toThrow(/TRUSTED_DOCUMENTS_MANIFEST/);
      writeFileSync(path.join(dir, 'broken.json'), '{ not json');
      await expect(loadPersistedSettings({ mode: 'allow', manifestPath: path.join(dir, 'broken.json') })).rejects.toThrow(/broken\.json/);
    });
  });
});
