import type * as ApolloCore from '@apollo/client/core' with { 'resolution-mode': 'import' };
import type * as ApolloUtilities from '@apollo/client/utilities' with { 'resolution-mode': 'import' };
import { Client, cacheExchange, fetchExchange, gql as urqlGql } from '@urql/core';
import type { Db } from '../../src/db/database';
import { toGlobalId } from '../../src/graphql/globalId';
import { operation, recordingFetch, type Sent } from '../support/clientFetch';
import { openTestDb } from '../support/db';
import { createAgent, createCalls, createOrg, type TestOrg } from '../support/factories';
import { startTestServer, type TestServer } from '../support/server';

/**
 * The real client libraries, with their default settings, against the real
 * server: Apollo Client 3, urql (@urql/core 6) and the fetch function Relay's
 * documentation gives. The snippets in docs/clients.md are these set-ups.
 * Each client's requests are recorded on their way out (method, URL, headers),
 * so a spec can say what the library really sent.
 */

// Apollo Client 3 runs as CommonJS (its `main` is core.cjs) but declares its types as ES modules, which
// TypeScript's Node16 mode will not import from this CommonJS spec; the types still come from the package.
/* eslint-disable @typescript-eslint/no-require-imports */
const { ApolloClient, HttpLink, InMemoryCache, gql: apolloGql } = require('@apollo/client/core') as typeof ApolloCore;
const { relayStylePagination } = require('@apollo/client/utilities') as typeof ApolloUtilities;
/* eslint-enable @typescript-eslint/no-require-imports */

describe('client libraries with their default settings', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let org: TestOrg;
  let callIds: string[];
  let server: TestServer;
  let token: string;
  const started: TestServer[] = [];

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    org = await createOrg(db);
    const agentId = await createAgent(db, org.id);
    callIds = await createCalls(db, org.id, [{ agentId }, { agentId }, { agentId }]);
    server = await startTestServer();
    started.push(server);
    token = await server.tokenFor(org);
  });

  afterAll(async () => {
    await Promise.all(started.map((each) => each.close()));
    await closeDb();
  });

  const viewer = () => ({ role: 'ADMIN', organisation: { id: toGlobalId('Organisation', org.id), slug: org.slug } });

  describe('Apollo Client 3', () => {
    function apolloClient(sent: Sent[], options: { useGETForQueries?: boolean } = {}) {
      // docs/clients.md: Apollo Client
      return new ApolloClient({
        link: new HttpLink({
          uri: `${server.url}/graphql`,
          headers: { authorization: `Bearer ${token}` },
          fetch: recordingFetch(sent),
          ...options,
        }),
        cache: new InMemoryCache({
          // Every object with an id is a Node: its id is global, so `__typename:id` (the default key) is unique.
          typePolicies: {
            Query: { fields: { calls: relayStylePagination(['filter', 'orderBy']) } },
          },
        }),
      });
    }

    it('runs a query over POST, as it does by default', async () => {
      const sent: Sent[] = [];
      const result = await apolloClient(sent).query({ query: apolloGql(operation('ViewerRole')) });
      expect(result.data.viewer).toMatchObject(viewer());
      expect(sent.map((request) => request.method)).toEqual(['POST']);
    });

    it('runs a query over GET with useGETForQueries', async () => {
      const sent: Sent[] = [];
      const result = await apolloClient(sent, { useGETForQueries: true }).query({ query: apolloGql(operation('ViewerRole')) });
      expect(result.data.viewer).toMatchObject(viewer());
      expect(sent.map((request) => request.method)).toEqual(['GET']);
    });

    it('pages with fetchMore and relayStylePagination, and a mutation updates the cached Call by its Node id', async () => {
      const client = apolloClient([]);
      const query = apolloGql(operation('RecentCalls'));
      const page = await client.query({ query, variables: { first: 2 } });
      expect(page.data.calls.edges).toHaveLength(2);
      // What useQuery's fetchMore does: relayStylePagination appends the next page to the cached connection.
      const observable = client.watchQuery({ query, variables: { first: 2 } });
      const subscription = observable.subscribe(() => undefined);
      await observable.fetchMore({ variables: { after: page.data.calls.pageInfo.endCursor } });
      const merged = observable.getCurrentResult().data.calls;
      subscription.unsubscribe();
      expect(merged.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual([...callIds].reverse().map((id) => toGlobalId('Call', id)));
      expect(merged.pageInfo.hasNextPage).toBe(false);

      const callId = toGlobalId('Call', callIds[0]!);
      await client.mutate({ mutation: apolloGql(operation('UpdateCallNotes')), variables: { id: callId, notes: 'seen by Apollo' } });
      const cached = client.readFragment<{ notes: string }>({
        id: client.cache.identify({ __typename: 'Call', id: callId }),
        fragment: apolloGql('fragment CachedNotes on Call { notes }'),
      });
      expect(cached?.notes).toBe('seen by Apollo');
    });
  });

  describe('urql (@urql/core 6)', () => {
    function urqlClient(sent: Sent[]) {
      // docs/clients.md: urql
      return new Client({
        url: `${server.url}/graphql`,
        exchanges: [cacheExchange, fetchExchange],
        fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
        fetch: recordingFetch(sent),
      });
    }

    it('sends queries as GET by default, and CSRF prevention lets them through because they carry the token', async () => {
      const sent: Sent[] = [];
      const result = await urqlClient(sent)
        .query(urqlGql(operation('ViewerRole')), {})
        .toPromise();
      expect(result.error).toBeUndefined();
      expect(result.data.viewer).toMatchObject(viewer());
      expect(sent).toHaveLength(1);
      expect(sent[0]!.method).toBe('GET');
      // No content type and no apollo-require-preflight: only the Authorization header makes it preflighted.
      expect(sent[0]!.headers.get('content-type')).toBeNull();
      expect(sent[0]!.headers.get('apollo-require-preflight')).toBeNull();
    });

    it('pages by passing the cursor back, and sends mutations as POST', async () => {
      const sent: Sent[] = [];
      const client = urqlClient(sent);
      const query = urqlGql(operation('RecentCalls'));
      const first = await client.query(query, { first: 2 }).toPromise();
      const rest = await client.query(query, { first: 2, after: first.data.calls.pageInfo.endCursor }).toPromise();
      expect([...first.data.calls.edges, ...rest.data.calls.edges]).toHaveLength(3);
      const callId = toGlobalId('Call', callIds[1]!);
      const mutation = await client.mutation(urqlGql(operation('UpdateCallNotes')), { id: callId, notes: 'seen by urql' }).toPromise();
      expect(mutation.error).toBeUndefined();
      expect(mutation.data.updateCall.call).toMatchObject({ id: callId, notes: 'seen by urql' });
      expect(sent.map((request) => request.method)).toEqual(['GET', 'GET', 'POST']);
    });
  });

  describe("Relay's fetch function", () => {
    // docs/clients.md: Relay. Relay hands the network layer `params` (its compiled operation: `text`, or `id` when
    // persisted) and the variables; this is the fetch function from Relay's guide with the token added.
    function relayFetch(url: string, bearer: string, sent: Sent[]) {
      return async (params: { id?: string | null; text?: string | null; name: string }, variables: Record<string, unknown>) => {
        const response = await recordingFetch(sent)(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
          body: JSON.stringify(params.id ? { documentId: params.id, variables } : { query: params.text, variables }),
        });
        return response.json() as Promise<{ data?: Record<string, unknown>; errors?: unknown[] }>;
      };
    }

    it('runs an operation by its text', async () => {
      const relay = relayFetch(`${server.url}/graphql`, token, []);
      const result = await relay({ name: 'ViewerRole', text: operation('ViewerRole') }, {});
      expect(result.errors).toBeUndefined();
      expect(result.data?.viewer).toMatchObject(viewer());
    });
  });

  describe("browsers' simple cross-site requests stay refused", () => {
    const search = () => `?query=${encodeURIComponent('{ viewer { role } }')}`;

    async function refusedAsCsrf(init: RequestInit, status = 400) {
      server.operations.length = 0;
      const response = await fetch(`${server.url}/graphql${init.method === 'GET' ? search() : ''}`, init);
      const body = (await response.json()) as { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
      expect(response.status).toBe(status);
      expect(body.data).toBeUndefined();
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
      expect(server.operations.every((op) => op.statements.count === 0)).toBe(true);
      return body;
    }

    it('a GET without Authorization, a JSON content type or a preflight header is refused as CSRF, before any work', async () => {
      const body = await refusedAsCsrf({ method: 'GET' });
      expect(body.errors![0]!.message).toMatch(/Cross-Site Request Forgery/);
      await refusedAsCsrf({ method: 'GET', headers: { 'content-type': 'text/plain' } });
      // A cookie is what a browser does attach on its own; it authenticates nothing here, and changes nothing.
      await refusedAsCsrf({ method: 'GET', headers: { cookie: 'session=1' } });
    });

    it('a POST a form could send (a simple content type) is refused: only JSON is read', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const body = JSON.stringify({ query: '{ viewer { role } }' });
        await refusedAsCsrf({ method: 'POST', headers: { 'content-type': type }, body }, 415);
      }
    });

    it('the same GET with the token, which a page can only send after a CORS preflight, is served', async () => {
      const response = await fetch(`${server.url}/graphql${search()}`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ data: { viewer: { role: 'ADMIN' } } });
    });
  });
});
