import type { Db } from '../src/db/database';
import { toGlobalId } from '../src/graphql/globalId';
import { openTestDb } from './support/db';
import { createAgent, createCall, createCalls, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type TestServer } from './support/server';

/**
 * Bad input gets a clear JSON error with a code a client can switch on —
 * never a crash, an HTML page, a stack trace or a line of SQL.
 */
describe('errors: every bad request gets a clear JSON error and the server carries on', () => {
  let db: Db;
  let closeDb: () => Promise<void>;
  let server: TestServer;
  let org: TestOrg;
  let token: string;
  let brokenCallId: string;

  interface Reply {
    status: number;
    contentType: string | null;
    text: string;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- inspected per case
    body: { data?: any; errors?: { message: string; extensions?: { code?: string } }[]; error?: { code: string; message: string } };
  }

  beforeAll(async () => {
    ({ db, close: closeDb } = openTestDb());
    server = await startTestServer();
    org = await createOrg(db);
    token = await server.tokenFor(org);
    const agent = await createAgent(db, org.id);
    await createCalls(db, org.id, [{ agentId: agent }, { agentId: agent }, { agentId: agent }]);
    // A corrupt row: its recording key lies outside the organisation, so signing it is an internal error.
    brokenCallId = toGlobalId('Call', await createCall(db, org.id, { agentId: agent, recordingKey: 'orgs/0/elsewhere.wav' }));
  });

  afterAll(async () => {
    await server.close();
    await closeDb();
  });

  /** Sends anything to the server and checks the promises every error reply keeps. */
  async function send(init: RequestInit & { path?: string; search?: string; auth?: boolean }): Promise<Reply> {
    const { path = '/graphql', search = '', auth = true, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (auth) headers.set('authorization', `Bearer ${token}`);
    const response = await fetch(`${server.url}${path}${search}`, { ...rest, headers });
    const text = await response.text();
    const contentType = response.headers.get('content-type');
    expect(contentType).toMatch(/^application\/(graphql-response\+)?json/);
    expect(text).not.toMatch(/select |SELECT|node_modules|stacktrace|\bat \S+ \(|\.(ts|js):\d+:\d+/);
    return { status: response.status, contentType, text, body: JSON.parse(text) as Reply['body'] };
  }

  const postJson = (payload: unknown, headers: Record<string, string> = {}) =>
    send({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(payload) });

  const codeOf = (reply: Reply) => reply.body.errors?.[0]?.extensions?.code;

  describe('requests that never reach a resolver', () => {
    it('malformed GraphQL syntax is a 400 GRAPHQL_PARSE_FAILED', async () => {
      const reply = await postJson({ query: '{ calls { nodes { id }' });
      expect(reply.status).toBe(400);
      expect(codeOf(reply)).toBe('GRAPHQL_PARSE_FAILED');
      expect(reply.body.errors![0]!.message).toMatch(/^Syntax Error/);
      expect(reply.body.data).toBeUndefined();
    });

    it('an unknown field is a 400 GRAPHQL_VALIDATION_FAILED naming the field', async () => {
      const reply = await postJson({ query: '{ calls { nodes { id passwordHash } } }' });
      expect(reply.status).toBe(400);
      expect(codeOf(reply)).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(reply.body.errors![0]!.message).toContain('passwordHash');
    });

    it('a variable of the wrong type is a 400 BAD_USER_INPUT', async () => {
      const reply = await postJson({ query: 'query ($n: Int) { calls(first: $n) { nodes { id } } }', variables: { n: 'ten' } });
      expect(reply.status).toBe(400);
      expect(codeOf(reply)).toBe('BAD_USER_INPUT');
      expect(reply.body.errors![0]!.message).toContain('$n');
    });

    it('a body that is not JSON is a 400 JSON error', async () => {
      const reply = await send({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": "{ viewer { role } }"' });
      expect(reply.status).toBe(400);
      expect(reply.body.errors![0]!.message).toBe('Request body is not valid JSON');
    });

    it('an empty body is a 400 JSON error', async () => {
      const reply = await send({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
      expect(reply.status).toBe(400);
      expect(codeOf(reply)).toBe('BAD_REQUEST');
    });

    it('JSON without a query is a 400 JSON error', async () => {
      const reply = await postJson({ variables: {} });
      expect(reply.status).toBe(400);
      expect(reply.body.errors![0]!.message).toMatch(/query/i);
    });

    it('a Content-Type other than JSON is a 415', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
        const reply = await send({ method: 'POST', headers: { 'content-type': type }, body: JSON.stringify({ query: '{ viewer { role } }' }) });
        expect(reply.status).toBe(415);
        expect(reply.body.errors![0]!.message).toBe('Content-Type must be application/json');
      }
    });

    it('a body over 1 MB is a 413 JSON error', async () => {
      const padding = 'x'.repeat(1024 * 1024);
      const reply = await postJson({ query: '{ viewer { role } }', variables: { padding } });
      expect(reply.status).toBe(413);
      expect(codeOf(reply)).toBe('PAYLOAD_TOO_LARGE');
    });

    it('a chunked body (no Content-Length) that grows past 1 MB is a 413 JSON error too', async () => {
      const chunk = new TextEncoder().encode(`{"query":"{ viewer { role } }","variables":{"p":"${'y'.repeat(1024 * 1024)}"}}`);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(chunk);
          controller.close();
        },
      });
      const init = { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' };
      const reply = await send(init as RequestInit);
      expect(reply.status).toBe(413);
      expect(codeOf(reply)).toBe('PAYLOAD_TOO_LARGE');
    });

    it('a body just under 1 MB is still served', async () => {
      const padding = 'x'.repeat(1024 * 1024 - 200);
      const reply = await postJson({ query: '{ viewer { role } }', variables: { padding } });
      expect(reply.status).toBe(200);
      expect(reply.body.data).toEqual({ viewer: { role: 'ADMIN' } });
    });

    it('a batched (array) body is rejected with a 400', async () => {
      const reply = await postJson([{ query: '{ viewer { role } }' }, { query: '{ viewer { role } }' }]);
      expect(reply.status).toBe(400);
      expect(reply.body.errors![0]!.message).toMatch(/batching/i);
      expect(reply.body.data).toBeUndefined();
    });

    it('a method other than GET or POST is a 405 JSON error', async () => {
      const reply = await send({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(reply.status).toBe(405);
      expect(codeOf(reply)).toBe('METHOD_NOT_ALLOWED');
    });

    it('an unknown path is a 404 JSON error', async () => {
      const reply = await send({ path: '/graphql/../../etc/passwd-nope', method: 'GET' });
      expect(reply.status).toBe(404);
      expect(reply.body).toEqual({ error: { code: 'NOT_FOUND', message: 'Not found' } });
      const other = await send({ path: '/api/v1/calls', method: 'POST', body: '{}' });
      expect(other.status).toBe(404);
      expect(other.body.error?.code).toBe('NOT_FOUND');
    });
  });

  describe('GET /graphql and CSRF prevention', () => {
    const search = `?query=${encodeURIComponent('{ viewer { role } }')}`;

    it('a simple GET (no token, no preflight header, no JSON content type) is blocked as CSRF with a 400 JSON error', async () => {
      const reply = await send({ method: 'GET', search, auth: false });
      expect(reply.status).toBe(400);
      expect(codeOf(reply)).toBe('BAD_REQUEST');
      expect(reply.body.errors![0]!.message).toMatch(/Cross-Site Request Forgery/);
      expect(reply.body.data).toBeUndefined();
    });

    it('a GET with the Authorization header (which a browser preflights) is served', async () => {
      const reply = await send({ method: 'GET', search });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ data: { viewer: { role: 'ADMIN' } } });
    });

    it('a GET with the apollo-require-preflight header is served', async () => {
      const reply = await send({ method: 'GET', search, headers: { 'apollo-require-preflight': 'true' } });
      expect(reply.status).toBe(200);
      expect(reply.body).toMatchObject({ data: { viewer: { role: 'ADMIN' } } });
      expect(reply.body.errors).toBeUndefined();
    });

    it('a GET with a JSON content type is served', async () => {
      const reply = await send({ method: 'GET', search, headers: { 'content-type': 'application/json' } });
      expect(reply.status).toBe(200);
      expect(reply.body.data).toEqual({ viewer: { role: 'ADMIN' } });
    });
  });

  describe('arguments the resolvers refuse', () => {
    it('call(id: "garbage") is BAD_USER_INPUT naming the argument', async () => {
      const reply = await postJson({ query: '{ call(id: "garbage") { id } }' });
      expect(codeOf(reply)).toBe('BAD_USER_INPUT');
      expect(reply.body.errors![0]!.message).toBe('id is not a valid Call id');
      expect(reply.body.data).toEqual({ call: null });
    });

    it('an id of another type is BAD_USER_INPUT', async () => {
      const reply = await postJson({ query: `{ call(id: "${toGlobalId('Agent', '1')}") { id } }` });
      expect(codeOf(reply)).toBe('BAD_USER_INPUT');
    });

    it('nodes with more than 100 ids is BAD_USER_INPUT', async () => {
      const ids = Array.from({ length: 101 }, (_, i) => toGlobalId('Call', String(i + 1)));
      const reply = await postJson({ query: 'query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids } });
      expect(codeOf(reply)).toBe('BAD_USER_INPUT');
      expect(reply.body.errors![0]!.message).toMatch(/100/);
      const hundred = await postJson({ query: 'query ($ids: [ID!]!) { nodes(ids: $ids) { id } }', variables: { ids: ids.slice(1) } });
      expect(hundred.body.errors).toBeUndefined();
      expect(hundred.body.data.nodes).toHaveLength(100);
    });

    it('first over 100, or negative, is BAD_USER_INPUT rather than a silent clamp', async () => {
      for (const first of [101, -1]) {
        const reply = await postJson({ query: 'query ($n: Int) { calls(first: $n) { nodes { id } } }', variables: { n: first } });
        expect(codeOf(reply)).toBe('BAD_USER_INPUT');
        expect(reply.body.data ?? null).toBeNull();
      }
    });

    it('a forged or foreign-list cursor is BAD_USER_INPUT, never a SQL error', async () => {
      const agentsCursor = (await postJson({ query: '{ agents(first: 1) { pageInfo { endCursor } } }' })).body.data.agents.pageInfo.endCursor;
      const forged = Buffer.from(JSON.stringify(['calls.started_at.desc', "'; drop table calls; --", '1'])).toString('base64url');
      for (const after of ['!!!', agentsCursor, forged]) {
        const reply = await postJson({ query: 'query ($a: String) { calls(after: $a) { nodes { id } } }', variables: { a: after } });
        expect(codeOf(reply)).toBe('BAD_USER_INPUT');
        expect(reply.body.errors![0]!.message).toBe('after is not a valid cursor for this list');
      }
    });

    it('a contact search shorter than 3 characters is BAD_USER_INPUT', async () => {
      const reply = await postJson({ query: '{ contacts(search: "ab") { nodes { id } } }' });
      expect(codeOf(reply)).toBe('BAD_USER_INPUT');
    });

    it('an internal resolver failure is masked as INTERNAL_SERVER_ERROR, with the rest of the data intact', async () => {
      const reply = await postJson({ query: `{ viewer { role } call(id: "${brokenCallId}") { id recordingUrl } }` });
      expect(reply.status).toBe(200);
      expect(reply.body.errors).toEqual([
        // requestId: the same id as the x-request-id header and the log line for this error.
        {
          message: 'Internal server error',
          path: ['call', 'recordingUrl'],
          extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: expect.any(String) },
        },
      ]);
      expect(reply.body.data).toEqual({ viewer: { role: 'ADMIN' }, call: { id: brokenCallId, recordingUrl: null } });
      expect(reply.text).not.toMatch(/orgs\/0|outside organisation|ForeignRecordingError/);
    });
  });

  describe('afterwards', () => {
    it('after all of that, the server still serves a normal query', async () => {
      const response = await server.graphql('{ viewer { role organisation { slug } } calls { totalCount nodes { id } } }', { token });
      expect(response.status).toBe(200);
      expect(response.body.errors).toBeUndefined();
      expect(response.body.data.viewer).toEqual({ role: 'ADMIN', organisation: { slug: org.slug } });
      expect(response.body.data.calls.totalCount).toBe(4);
      const health = await fetch(`${server.url}/health/live`);
      expect(await health.json()).toEqual({ status: 'ok' });
    });
  });
});
