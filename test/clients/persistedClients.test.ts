import type * as ApolloCore from '@apollo/client/core' with { 'resolution-mode': 'import' };
import type * as ApolloPersisted from '@apollo/client/link/persisted-queries' with { 'resolution-mode': 'import' };
import { generatePersistedQueryIdsFromManifest } from '@apollo/persisted-query-lists';
import { Client, cacheExchange, fetchExchange, gql as urqlGql } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import {
  Environment,
  Network,
  RecordSource,
  Store,
  fetchQuery,
  type GraphQLResponse,
  type GraphQLTaggedNode,
  type RequestParameters,
  type Variables,
} from 'relay-runtime';
import type { Db } from '../../src/db/database';
import { toGlobalId } from '../../src/graphql/globalId';
import { operation, recordingFetch, type Sent } from '../support/clientFetch';
import { apolloManifest, codegenManifest, relayManifest } from '../support/clientManifests';
import { openTestDb } from '../support/db';
import { createAgent, createCalls, createOrg, type TestOrg } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

// Apollo Client 3 runs as CommonJS (its `main` is a .cjs file) but declares its types as ES modules, which
// TypeScript's Node16 mode will not import from this CommonJS spec; the types still come from the package.
/* eslint-disable @typescript-eslint/no-require-imports */
const { ApolloClient, HttpLink, InMemoryCache, gql: apolloGql } = require('@apollo/client/core') as typeof ApolloCore;
const { createPersistedQueryLink } = require('@apollo/client/link/persisted-queries') as typeof ApolloPersisted;
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Persisted documents end to end, from the build to TRUSTED_DOCUMENTS_MODE=only:
 * each tool writes its manifest in this spec's setup, the server trusts that
 * file, and the client library sends ids only. Its own spec file (its own module
 * registry): urql keys documents by their text, so a hand-written copy of an
 * operation parsed earlier would stand in for the generated one and its hash.
 */

describe('persisted documents with the real clients', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let org: TestOrg;
  let callIds: string[];
  const started: TestServer[] = [];

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    org = await createOrg(db);
    const agentId = await createAgent(db, org.id);
    callIds = await createCalls(db, org.id, [{ agentId }]);
  });

  afterAll(async () => {
    await Promise.all(started.map((each) => each.close()));
    await closeDb();
  });

  const viewer = () => ({ role: 'ADMIN', organisation: { id: toGlobalId('Organisation', org.id), slug: org.slug } });

  describe("Apollo Client 3 with Apollo's manifest", () => {
    it("sends manifest ids only, with Apollo's persisted-query link and its generated manifest, to a TRUSTED_DOCUMENTS_MODE=only server", async () => {
      const { file, manifest } = await apolloManifest();
      const only = await startTestServer({ overrides: { trustedDocuments: { mode: 'only', manifestPath: file } } });
      started.push(only);
      const sent: Sent[] = [];
      // docs/clients.md: Apollo Client persisted queries
      const link = createPersistedQueryLink(generatePersistedQueryIdsFromManifest({ loadManifest: () => Promise.resolve(manifest) })).concat(
        new HttpLink({
          uri: `${only.url}/graphql`,
          headers: { authorization: `Bearer ${await only.tokenFor(org)}` },
          fetch: recordingFetch(sent),
        }),
      );
      const client = new ApolloClient({ link, cache: new InMemoryCache() });

      const result = await client.query({ query: apolloGql(operation('ViewerRole')) });
      expect(result.data.viewer).toMatchObject(viewer());
      expect(sent.map((request) => JSON.parse(request.body!))).toEqual([
        expect.objectContaining({
          extensions: { persistedQuery: { version: 1, sha256Hash: manifest.operations.find((op) => op.name === 'ViewerRole')!.id } },
        }),
      ]);
      expect(JSON.parse(sent[0]!.body!)).not.toHaveProperty('query');

      // Not in the manifest: the link refuses it before sending anything (the server would answer 403).
      const stranger = apolloGql('query Stranger { viewer { role } }');
      await expect(client.query({ query: stranger, fetchPolicy: 'network-only' })).rejects.toThrow(/not found in manifest/);
      expect(sent).toHaveLength(1);
    });
  });

  describe("urql with the Codegen client preset's documents", () => {
    it("sends the client preset's hashes with the persisted exchange, over GET, to a TRUSTED_DOCUMENTS_MODE=only server", async () => {
      const generated = await codegenManifest();
      const only = await startTestServer({ overrides: { trustedDocuments: { mode: 'only', manifestPath: generated.file } } });
      started.push(only);
      const onlyToken = await only.tokenFor(org);
      const sent: Sent[] = [];
      // What the client preset generates: each document carries `__meta__.hash` (gql/graphql.ts in the build).
      const documents = generated.module as Record<string, ApolloCore.DocumentNode>;
      // docs/clients.md: urql persisted documents
      const client = new Client({
        url: `${only.url}/graphql`,
        exchanges: [
          cacheExchange,
          persistedExchange({
            preferGetForPersistedQueries: true,
            enforcePersistedQueries: true,
            enableForMutation: true,
            generateHash: (_query, document) => Promise.resolve((document as { __meta__?: { hash: string } }).__meta__?.hash),
          }),
          fetchExchange,
        ],
        fetchOptions: () => ({ headers: { authorization: `Bearer ${onlyToken}` } }),
        fetch: recordingFetch(sent),
      });

      const result = await client.query(documents.ViewerRoleDocument!, {}).toPromise();
      expect(result.error).toBeUndefined();
      expect(result.data.viewer).toMatchObject(viewer());
      expect(sent[0]!.method).toBe('GET');
      const search = new URL(sent[0]!.url).searchParams;
      expect(search.get('query')).toBeNull();
      expect(JSON.parse(search.get('extensions')!)).toEqual({ persistedQuery: { version: 1, sha256Hash: generated.ids.get('ViewerRole') } });

      const callId = toGlobalId('Call', callIds[0]!);
      const mutation = await client.mutation(documents.UpdateCallNotesDocument!, { id: callId, notes: 'persisted by urql' }).toPromise();
      expect(mutation.error).toBeUndefined();
      expect(mutation.data.updateCall.call.notes).toBe('persisted by urql');

      const stranger = await client.query(urqlGql('query Stranger { viewer { role } }'), {}).toPromise();
      expect(stranger.data).toBeUndefined();
      expect(stranger.error).toBeDefined();
    });
  });

  describe('Relay (relay-compiler persistConfig, relay-runtime)', () => {
    // docs/clients.md: Relay. The network layer gets the compiled operation's `params`: `id` when persisted, else `text`.
    function relayEnvironment(url: string, token: string, sent: Sent[]): Environment {
      const fetchFn = async (params: RequestParameters, variables: Variables): Promise<GraphQLResponse> => {
        const response = await recordingFetch(sent)(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(params.id ? { documentId: params.id, variables } : { query: params.text, variables }),
        });
        return (await response.json()) as GraphQLResponse;
      };
      return new Environment({ network: Network.create(fetchFn), store: new Store(new RecordSource()) });
    }

    it("runs the compiler's operations by id against a TRUSTED_DOCUMENTS_MODE=only server trusting its persisted_queries.json", async () => {
      const relay = await relayManifest();
      const only = await startTestServer({ overrides: { trustedDocuments: { mode: 'only', manifestPath: relay.file } } });
      started.push(only);
      const sent: Sent[] = [];
      const environment = relayEnvironment(`${only.url}/graphql`, await only.tokenFor(org), sent);

      const data = await fetchQuery(environment, relay.artifacts.ClientsViewerQuery as GraphQLTaggedNode, {}).toPromise();
      expect(data).toMatchObject({ viewer: viewer() });
      const calls = await fetchQuery(environment, relay.artifacts.ClientsCallsQuery as GraphQLTaggedNode, { first: 5 }).toPromise();
      expect(calls).toMatchObject({ calls: { edges: [{ node: { id: toGlobalId('Call', callIds[0]!), status: 'COMPLETED' } }] } });
      expect(sent.map((request) => JSON.parse(request.body!))).toEqual([
        { documentId: relay.ids.get('ClientsViewerQuery'), variables: {} },
        { documentId: relay.ids.get('ClientsCallsQuery'), variables: { first: 5 } },
      ]);
    });
  });
});
