import { readFileSync } from 'node:fs';
import path from 'node:path';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';
import { staticCachePolicy } from '../src/cache/cachePolicy';
import { typeDefs } from '../src/graphql/typeDefs';

/**
 * The response cache's hints come from the document (compiled execution runs
 * no per-field hooks). These pin Apollo's rules on our schema's @cacheControl
 * hints; test/caches.test.ts proves the cache behaves on real requests.
 */
const schema = makeExecutableSchema({ typeDefs });

function policyOf(query: string) {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (!operation) throw new Error('no operation');
  return staticCachePolicy(schema, document, operation);
}

describe('cache policy computed from the document', () => {
  it('a calls page lives as long as its shortest type hint (120 s), public', () => {
    expect(policyOf('{ calls(first: 5) { edges { cursor node { id startedAt agent { name } } } pageInfo { hasNextPage } } }')).toEqual({
      maxAge: 120,
      scope: 'PUBLIC',
    });
  });

  it('statistics panels alone keep their 300 s', () => {
    expect(policyOf('{ dashboard(range: { preset: LAST_30_DAYS }) { __typename } }')).toEqual({ maxAge: 300, scope: 'PUBLIC' });
  });

  it('the viewer makes the whole answer private', () => {
    expect(policyOf('{ viewer { role } calls(first: 1) { nodes { id } } }')).toEqual({ maxAge: 120, scope: 'PRIVATE' });
  });

  it('a signed recording URL anywhere, even inside a named fragment, makes the answer uncacheable', () => {
    const query = 'query Q { calls(first: 1) { nodes { ...Rec } } } fragment Rec on Call { id recordingUrl }';
    expect(policyOf(query).maxAge).toBe(0);
  });

  it('fragments on types that may not apply still count: never laxer than per-field hints', () => {
    expect(policyOf('{ node(id: "x") { id ... on Call { recordingUrl } } }').maxAge).toBe(0);
    expect(policyOf('{ node(id: "x") { id } }')).toEqual({ maxAge: 120, scope: 'PUBLIC' });
  });

  it('introspection at the root is never cached', () => {
    expect(policyOf('{ __schema { queryType { name } } }').maxAge).toBe(0);
  });

  it('the bench scenarios: a calls page 120 s, with recording URLs uncacheable, the dashboard 300 s', () => {
    const dir = path.join(__dirname, '..', 'bench', 'scenarios');
    expect(policyOf(readFileSync(path.join(dir, 'calls-page.graphql'), 'utf8'))).toEqual({ maxAge: 120, scope: 'PUBLIC' });
    expect(policyOf(readFileSync(path.join(dir, 'calls-page-recording-url.graphql'), 'utf8')).maxAge).toBe(0);
    expect(policyOf(readFileSync(path.join(dir, 'dashboard-30d.graphql'), 'utf8'))).toEqual({ maxAge: 300, scope: 'PUBLIC' });
  });
});
