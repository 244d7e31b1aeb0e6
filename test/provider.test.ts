import { randomBytes } from 'node:crypto';
import { toGlobalId } from '../src/graphql/globalId';
import { tenantScope } from '../src/db/tenant';
import { LocalProvider } from '../src/provider/local/server';
import { accountOf } from '../src/provider/local/data';
import { setProviderApiKey } from '../src/queries/providerAccounts';
import { createAgent, createCall, createOrg, type TestOrg } from './support/factories';
import { startTestServer, type GraphQLResponse, type TestServer } from './support/server';
import { waitFor } from './support/waiting';

/**
 * The voice provider as a data source, over real HTTP to the local provider
 * (src/provider/local) with injected faults, and real PostgreSQL. Each spec
 * has an organisation of its own: its own API key, so its own account at the
 * provider, its own circuit breaker and its own cache entries.
 */
const BUDGET_MS = 2500;
const MAX_ATTEMPTS = 3;
const CONCURRENCY = 4;
const BREAKER_THRESHOLD = 3;
const HALF_OPEN_MS = 300;
const TTL_MS = 60_000;

let provider: LocalProvider;
let server: TestServer;
let clockMs = 0;
const responses: string[] = [];
const keys: string[] = [];

beforeAll(async () => {
  provider = new LocalProvider();
  const url = await provider.listen();
  server = await startTestServer({
    cacheClock: { now: () => clockMs },
    configure: (config) => ({
      ...config,
      provider: {
        ...config.provider,
        url,
        budgetMs: BUDGET_MS,
        timeoutMs: 400,
        maxAttempts: MAX_ATTEMPTS,
        retryBaseMs: 20,
        retryMaxMs: 100,
        concurrency: CONCURRENCY,
        breakerThreshold: BREAKER_THRESHOLD,
        breakerHalfOpenMs: HALF_OPEN_MS,
        cacheTtlMs: TTL_MS,
        cacheMaxStaleMs: 3_600_000,
      },
    }),
  });
});

afterAll(async () => {
  await server.close();
  await provider.close();
});

beforeEach(() => {
  provider.setFaults([]);
  provider.setAccountSize(5);
  provider.resetStats();
});

/** An organisation with its own provider API key; `agents` agents. */
async function orgWithProvider(agents = 1): Promise<{ org: TestOrg; key: string; account: string; agentIds: string[]; token: string }> {
  const org = await createOrg(server.db);
  const key = `xi_test_${randomBytes(16).toString('hex')}`;
  keys.push(key);
  await setProviderApiKey(tenantScope(server.db, org.id), key);
  const agentIds: string[] = [];
  for (let i = 0; i < agents; i += 1) agentIds.push(await createAgent(server.db, org.id, { name: `Agent ${String(i).padStart(3, '0')}` }));
  return { org, key, account: accountOf(key), agentIds, token: await server.tokenFor(org, 'admin') };
}

/** How many agents the organisation has in the database. */
async function agentCount(orgId: string): Promise<number> {
  const { n } = await server.db
    .selectFrom('agents')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('org_id', '=', orgId)
    .executeTakeFirstOrThrow();
  return Number(n);
}

async function query(token: string, document: string, variables?: Record<string, unknown>): Promise<GraphQLResponse> {
  const response = await server.graphql(document, { token, ...(variables ? { variables } : {}) });
  responses.push(response.text);
  return response;
}

const AGENTS_WITH_CONFIGURATION = `query Agents($first: Int) {
  agents(first: $first) { edges { node { id name configuration { voiceName model language firstMessage promptSummary updatedAt stale fetchedAt } } } }
}`;

const agentRequests = () => provider.requestsTo('/v1/convai/agents/');

describe('Agent.configuration', () => {
  it('a page of 50 agents: one provider request per agent, none twice, never more in flight than the concurrency limit', async () => {
    const { token, account } = await orgWithProvider(50);
    provider.setFaults([{ latencyMs: 20 }]);
    const response = await query(token, AGENTS_WITH_CONFIGURATION, { first: 50 });
    expect(response.body.errors).toBeUndefined();
    const nodes = response.body.data.agents.edges.map((edge: { node: unknown }) => edge.node);
    expect(nodes).toHaveLength(50);
    for (const node of nodes) expect(node.configuration).toMatchObject({ voiceName: expect.any(String), model: expect.any(String), stale: false });
    const paths = agentRequests().map((request) => request.path);
    expect(paths).toHaveLength(50);
    expect(new Set(paths).size).toBe(50);
    // Bounded, and parallel (not one by one).
    expect(provider.maxInFlight(account)).toBeLessThanOrEqual(CONCURRENCY);
    expect(provider.maxInFlight(account)).toBeGreaterThan(1);
  });

  it('the same agent named twice in a document is fetched once', async () => {
    const { token, agentIds } = await orgWithProvider(1);
    const id = toGlobalId('Agent', agentIds[0]!);
    const response = await query(
      token,
      `query($id: ID!) { a: agent(id: $id) { configuration { model } } b: agent(id: $id) { configuration { voiceName } } }`,
      { id },
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.a.configuration.model).toEqual(expect.any(String));
    expect(agentRequests()).toHaveLength(1);
  });

  it('is lazy: a page without `configuration` makes no provider request', async () => {
    const { token } = await orgWithProvider(3);
    const response = await query(token, `{ agents(first: 10) { edges { node { name providerAgentId } } } }`);
    expect(response.body.errors).toBeUndefined();
    expect(provider.requests).toHaveLength(0);
  });

  it('is null without an error when the organisation has no provider API key, and nothing is sent', async () => {
    const org = await createOrg(server.db);
    await createAgent(server.db, org.id);
    const response = await query(await server.tokenFor(org, 'viewer'), AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.agents.edges[0].node.configuration).toBeNull();
    expect(provider.requests).toHaveLength(0);
  });

  it('is null without an error when the provider does not know the agent (404, not retried)', async () => {
    const { org, token } = await orgWithProvider(0);
    await server.db
      .insertInto('agents')
      .values({ org_id: org.id, name: 'Gone', provider: 'elevenlabs', provider_agent_id: 'missing_agent' })
      .execute();
    const response = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.agents.edges[0].node.configuration).toBeNull();
    expect(agentRequests()).toHaveLength(1);
  });
});

describe('injected faults', () => {
  it('500: retried up to the attempt limit, then the field is null with PROVIDER_UNAVAILABLE and the rest of the page is intact', async () => {
    const { token, agentIds } = await orgWithProvider(2);
    const broken = (await server.db.selectFrom('agents').select('provider_agent_id').where('id', '=', agentIds[0]!).executeTakeFirstOrThrow())
      .provider_agent_id;
    provider.setFaults([{ match: broken, status: 500 }]);
    const response = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(response.status).toBe(200);
    const [first, second] = response.body.data.agents.edges.map((edge: { node: { name: string; configuration: unknown } }) => edge.node);
    expect(first).toMatchObject({ name: 'Agent 000', configuration: null });
    expect(second.configuration).toMatchObject({ model: expect.any(String) });
    expect(response.body.errors).toEqual([
      expect.objectContaining({
        path: ['agents', 'edges', 0, 'node', 'configuration'],
        extensions: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', reason: 'http' }),
      }),
    ]);
    expect(provider.requestsTo(broken)).toHaveLength(MAX_ATTEMPTS);
  });

  it('a 500 that passes: retried once, the value is served', async () => {
    const { token } = await orgWithProvider(1);
    provider.setFaults([{ status: 503, times: 1 }]);
    const response = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.agents.edges[0].node.configuration.model).toEqual(expect.any(String));
    expect(agentRequests().map((request) => request.outcome)).toEqual([503, 200]);
  });

  it('429 with Retry-After: the retry waits the time the provider asked for', async () => {
    const { token } = await orgWithProvider(1);
    provider.setFaults([{ status: 429, retryAfterSeconds: 1, times: 1 }]);
    const response = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.agents.edges[0].node.configuration.model).toEqual(expect.any(String));
    const [limited, retried] = agentRequests();
    expect([limited?.outcome, retried?.outcome]).toEqual([429, 200]);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(990);
  });

  it('429 with a Retry-After past the budget: PROVIDER_RATE_LIMITED at once, with retryAfterSeconds, not retried', async () => {
    const { token } = await orgWithProvider(1);
    provider.setFaults([{ status: 429, retryAfterSeconds: 30 }]);
    const response = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(response.body.data.agents.edges[0].node.configuration).toBeNull();
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_RATE_LIMITED', retryAfterSeconds: 30 });
    expect(agentRequests()).toHaveLength(1);
  });

  it('hang: the hung field times out within the budget, every other field is answered', async () => {
    const { token, agentIds } = await orgWithProvider(3);
    const hung = (await server.db.selectFrom('agents').select('provider_agent_id').where('id', '=', agentIds[1]!).executeTakeFirstOrThrow())
      .provider_agent_id;
    provider.setFaults([{ match: hung, hang: true }]);
    const started = performance.now();
    const response = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    const elapsed = performance.now() - started;
    const configurations = response.body.data.agents.edges.map((edge: { node: { configuration: unknown } }) => edge.node.configuration);
    expect(configurations[1]).toBeNull();
    expect(configurations[0]).not.toBeNull();
    expect(configurations[2]).not.toBeNull();
    expect(response.body.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: 'PROVIDER_UNAVAILABLE', reason: 'timeout' }) }),
    ]);
    // A bound, not a benchmark: the hung provider cannot hold the response past the provider budget (plus the database work).
    expect(elapsed).toBeLessThan(BUDGET_MS + 1000);
  });

  it('malformed JSON: PROVIDER_UNAVAILABLE (malformed), not retried (the provider answered)', async () => {
    const { token } = await orgWithProvider(1);
    provider.setFaults([{ malformed: true }]);
    const response = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', reason: 'malformed' });
    expect(agentRequests()).toHaveLength(1);
  });

  it('connection reset: retried on a new connection, and served', async () => {
    const { token } = await orgWithProvider(1);
    provider.setFaults([{ reset: true, times: 1 }]);
    const response = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(response.body.errors).toBeUndefined();
    expect(agentRequests().map((request) => request.outcome)).toEqual(['reset', 200]);
  });
});

describe('circuit breaker (per provider account)', () => {
  it('opens after the threshold: then no provider request is made and fields fail as breaker_open; another organisation is unaffected; it recovers half-open', async () => {
    const failing = await orgWithProvider(1);
    const healthy = await orgWithProvider(1);
    // Only the failing organisation's agent is faulted (rules match by path).
    const failingAgent = (
      await server.db.selectFrom('agents').select('provider_agent_id').where('org_id', '=', failing.org.id).executeTakeFirstOrThrow()
    ).provider_agent_id;
    provider.setFaults([{ match: failingAgent, status: 500 }]);

    for (let i = 0; i < BREAKER_THRESHOLD; i += 1) {
      const response = await query(failing.token, AGENTS_WITH_CONFIGURATION, { first: 5 });
      expect(response.body.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', reason: 'http' });
    }
    expect(provider.requestsTo(failingAgent)).toHaveLength(BREAKER_THRESHOLD * MAX_ATTEMPTS);

    provider.resetStats();
    await query(failing.token, `{ agents(first: 5) { edges { node { id name } } } }`);
    // The same page without provider fields: what the page costs in statements when the provider costs nothing.
    const openStatements = server.operations.at(-1)!.statements.count;
    const open = await query(failing.token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(open.body.data.agents.edges[0].node.name).toBe('Agent 000');
    expect(open.body.errors?.[0]?.extensions).toMatchObject({ code: 'PROVIDER_UNAVAILABLE', reason: 'breaker_open' });
    // The shape of "costs nothing": not a single request reached the provider, and the key was not even read.
    expect(provider.requests).toHaveLength(0);
    expect(server.operations.at(-1)!.statements.count).toBe(openStatements);

    const other = await query(healthy.token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(other.body.errors).toBeUndefined();

    const ready = await fetch(`${server.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: Record<string, unknown> }).checks.provider).toBe('degraded');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/switchboard_provider_breakers\{state="open"\} [1-9]/);
    expect(metrics).toMatch(/switchboard_provider_calls_total\{operation="agent",outcome="breaker_open"\} [1-9]/);
    expect(metrics).toMatch(/switchboard_provider_retries_total\{operation="agent"\} [1-9]/);
    expect(metrics).toMatch(/switchboard_provider_request_duration_seconds_count\{operation="agent",outcome="500"\} [1-9]/);

    // The provider recovers; after the half-open delay one probe goes through and closes the circuit.
    provider.setFaults([]);
    await waitFor(
      'the circuit to close',
      async () => (await query(failing.token, AGENTS_WITH_CONFIGURATION, { first: 5 })).body.errors === undefined,
      HALF_OPEN_MS * 10,
      HALF_OPEN_MS / 3,
    );
    expect(server.services.provider.gateway.breakerState(failing.org.id)).toBe('closed');
  });

  it('while open, every field gets its own error at its own path, the same code and message, and no stack (the refusal is one shared error, not one per field)', async () => {
    const { token } = await orgWithProvider(3);
    provider.setFaults([{ status: 500 }]);
    await waitFor(
      'the circuit to open',
      async () => (await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 })).body.errors?.[0]?.extensions?.reason === 'breaker_open',
      HALF_OPEN_MS * 10,
      1,
    );

    // Right after it opened: well inside the half-open delay, so no probe goes out.
    const response = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    const errors = response.body.errors ?? [];
    expect(errors.map((error) => error.path).sort()).toEqual([0, 1, 2].map((index) => ['agents', 'edges', index, 'node', 'configuration']));
    for (const error of errors) {
      expect(error).toEqual({
        message: 'The voice provider is unavailable (breaker open)',
        locations: [expect.objectContaining({ line: 2 })],
        path: expect.any(Array),
        extensions: { code: 'PROVIDER_UNAVAILABLE', reason: 'breaker_open' },
      });
    }
    expect(response.body.data.agents.edges.map((edge: { node: { configuration: unknown } }) => edge.node.configuration)).toEqual([null, null, null]);
  });
});

describe('cache: stale-while-revalidate per organisation', () => {
  it('serves a fresh value without asking again, a stale one with stale: true while the provider fails, and refreshes it once the provider is back', async () => {
    const { token } = await orgWithProvider(1);
    const first = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    const fresh = first.body.data.agents.edges[0].node.configuration;
    expect(fresh.stale).toBe(false);
    expect(agentRequests()).toHaveLength(1);

    await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(agentRequests()).toHaveLength(1);

    clockMs += TTL_MS + 1;
    provider.setFaults([{ status: 500 }]);
    const stale = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    expect(stale.body.errors).toBeUndefined();
    expect(stale.body.data.agents.edges[0].node.configuration).toEqual({ ...fresh, stale: true });
    // The background refresh tried (and failed); the stale value stays.
    await waitFor('the background refresh to give up', () => agentRequests().length >= 1 + MAX_ATTEMPTS);

    provider.setFaults([]);
    await waitFor('a refreshed value', async () => {
      const again = await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
      return again.body.data.agents.edges[0].node.configuration.stale === false;
    });
  });
});

describe('Call.providerConversation and Organisation.providerUsage', () => {
  it('read the provider’s analysis, evaluations and transcript of a call, and the account’s usage', async () => {
    const { org, token, agentIds } = await orgWithProvider(1);
    const callId = await createCall(server.db, org.id, { agentId: agentIds[0]! });
    await server.db.updateTable('calls').set({ provider_call_id: 'conv_test_1' }).where('org_id', '=', org.id).where('id', '=', callId).execute();
    const response = await query(
      token,
      `query($id: ID!) {
        call(id: $id) { id providerConversation { conversationId outcome summary evaluations { criterion result rationale } dataCollected transcript { speaker text secondsFromStart } durationSeconds stale } }
        viewer { organisation { providerUsage { plan charactersUsed characterLimit periodEndsAt stale } } }
      }`,
      { id: toGlobalId('Call', callId) },
    );
    expect(response.body.errors).toBeUndefined();
    const conversation = response.body.data.call.providerConversation;
    expect(conversation).toMatchObject({ conversationId: 'conv_test_1', outcome: expect.stringMatching(/success|failure/), stale: false });
    expect(conversation.evaluations.map((e: { criterion: string }) => e.criterion)).toEqual(['greeting', 'booking']);
    expect(conversation.transcript[0]).toEqual({ speaker: 'AGENT', text: expect.any(String), secondsFromStart: 0 });
    const usage = response.body.data.viewer.organisation.providerUsage;
    expect(usage.characterLimit).toBeGreaterThan(0);
    expect(usage.charactersUsed).toBeLessThanOrEqual(usage.characterLimit);
  });

  it('a call without a provider conversation id resolves null and asks nothing', async () => {
    const { org, token, agentIds } = await orgWithProvider(1);
    const callId = await createCall(server.db, org.id, { agentId: agentIds[0]! });
    const response = await query(token, `query($id: ID!) { call(id: $id) { providerConversation { conversationId } } }`, {
      id: toGlobalId('Call', callId),
    });
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.call.providerConversation).toBeNull();
    expect(provider.requests).toHaveLength(0);
  });
});

const SYNC = `mutation { syncProviderAgents {
  agentsCreated agentsUpdated phoneNumbersCreated phoneNumbersUpdated
  agents { providerAgentId name phoneNumbers { number } }
  phoneNumbers { number providerNumberId agent { providerAgentId } }
  userErrors { code }
} }`;

describe('syncProviderAgents', () => {
  it('creates the provider’s agents and numbers once; a second run changes nothing', async () => {
    const { org, token, account } = await orgWithProvider(0);
    const first = await query(token, SYNC);
    expect(first.body.errors).toBeUndefined();
    const payload = first.body.data.syncProviderAgents;
    expect(payload).toMatchObject({ agentsCreated: 5, agentsUpdated: 0, phoneNumbersCreated: 5, phoneNumbersUpdated: 0 });
    expect(payload.agents.every((agent: { providerAgentId: string }) => agent.providerAgentId.startsWith(`agent_${account}_`))).toBe(true);
    expect(payload.phoneNumbers.filter((phone: { agent: unknown }) => phone.agent !== null)).toHaveLength(3);

    const second = await query(token, SYNC);
    expect(second.body.data.syncProviderAgents).toMatchObject({ agentsCreated: 0, agentsUpdated: 0, phoneNumbersCreated: 0, phoneNumbersUpdated: 0 });
    expect(second.body.data.syncProviderAgents.agents).toEqual(payload.agents);
    expect(await agentCount(org.id)).toBe(5);
  });

  it('is tenant-scoped: each organisation gets its own account’s agents, and nothing of the other changes', async () => {
    const a = await orgWithProvider(0);
    const b = await orgWithProvider(0);
    await query(a.token, SYNC);
    const before = await server.db.selectFrom('agents').selectAll().where('org_id', '=', a.org.id).orderBy('id').execute();
    const synced = await query(b.token, SYNC);
    expect(synced.body.data.syncProviderAgents.agentsCreated).toBe(5);
    const after = await server.db.selectFrom('agents').selectAll().where('org_id', '=', a.org.id).orderBy('id').execute();
    expect(after).toEqual(before);
    const bAgents = await server.db.selectFrom('agents').select('provider_agent_id').where('org_id', '=', b.org.id).execute();
    expect(bAgents.every((agent) => agent.provider_agent_id.startsWith(`agent_${b.account}_`))).toBe(true);
  });

  it('reads every page of a long agent list before writing, and stays idempotent across pages', async () => {
    provider.setAccountSize(230);
    const { org, token } = await orgWithProvider(0);
    const first = await query(token, SYNC);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.syncProviderAgents).toMatchObject({ agentsCreated: 230, phoneNumbersCreated: 230, userErrors: [] });
    // 100 per page: three pages, the second and third from the cursor the page before gave.
    const pages = provider.requestsTo('/v1/convai/agents').filter((request) => !request.path.includes('/agents/'));
    expect(pages).toHaveLength(3);
    expect(await agentCount(org.id)).toBe(230);

    const second = await query(token, SYNC);
    expect(second.body.data.syncProviderAgents).toMatchObject({ agentsCreated: 0, agentsUpdated: 0, phoneNumbersCreated: 0, phoneNumbersUpdated: 0 });
  });

  it('a failure on a later page writes nothing at all', async () => {
    provider.setAccountSize(150);
    const { org, token } = await orgWithProvider(0);
    provider.setFaults([{ match: 'cursor=', status: 500 }]);
    const response = await query(token, SYNC);
    expect(response.status).toBe(503);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(await agentCount(org.id)).toBe(0);
  });

  it('without an API key answers NOT_CONFIGURED in userErrors, asks the provider nothing and writes nothing', async () => {
    const org = await createOrg(server.db);
    const response = await query(
      await server.tokenFor(org, 'admin'),
      `mutation { syncProviderAgents {
      agents { id } agentsCreated userErrors { field code message }
    } }`,
    );
    expect(response.body.errors).toBeUndefined();
    expect(response.body.data.syncProviderAgents).toEqual({
      agents: null,
      agentsCreated: null,
      userErrors: [{ field: null, code: 'NOT_CONFIGURED', message: expect.stringContaining('No voice provider is configured') }],
    });
    expect(provider.requests).toHaveLength(0);
  });

  it('needs the ADMIN role; members are refused before the provider is asked', async () => {
    const { org } = await orgWithProvider(0);
    const response = await query(await server.tokenFor(org, 'member'), SYNC);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(provider.requests).toHaveLength(0);
  });

  it('writes nothing and answers 503 PROVIDER_UNAVAILABLE when the provider fails', async () => {
    const { org, token } = await orgWithProvider(0);
    provider.setFaults([{ match: '/phone-numbers', status: 500 }]);
    const response = await query(token, SYNC);
    expect(response.status).toBe(503);
    expect(response.body.errors?.[0]?.extensions?.code).toBe('PROVIDER_UNAVAILABLE');
    expect(await agentCount(org.id)).toBe(0);
  });
});

describe('API keys', () => {
  it('are sent to the provider, and never appear in a response, a log line or an error', async () => {
    const { token, account } = await orgWithProvider(1);
    provider.setFaults([
      { status: 500, times: 1 },
      { status: 429, retryAfterSeconds: 30, times: 1 },
    ]);
    await query(token, AGENTS_WITH_CONFIGURATION, { first: 5 });
    await query(token, SYNC);
    expect(provider.requests.map((request) => request.account)).toContain(account);
    // Every spec above (failures, retries, breaker, sync) added its key, its responses and its log lines.
    expect(keys.length).toBeGreaterThan(10);
    const everything = [...responses, ...server.logs.map((line) => JSON.stringify(line))].join('\n');
    for (const key of keys) expect(everything).not.toContain(key);
  });
});
