// @ts-check
// Schema lint (`npm run lint:schema`): schema.graphql is the contract clients read, so every
// type, field, argument, input field and enum value must say what it means, names follow one
// convention, and connections are what Relay's `@connection` expects.
import graphql from '@graphql-eslint/eslint-plugin';
import { defineConfig } from 'eslint/config';

export default defineConfig({
  files: ['schema.graphql'],
  languageOptions: { parser: graphql.parser, parserOptions: { graphQLConfig: { schema: 'schema.graphql' } } },
  linterOptions: { reportUnusedDisableDirectives: 'error' },
  plugins: { '@graphql-eslint': graphql },
  rules: {
    ...graphql.configs['flat/schema-recommended'].rules,
    ...graphql.configs['flat/schema-relay'].rules,
    '@graphql-eslint/require-description': [
      'error',
      {
        types: true,
        rootField: true,
        DirectiveDefinition: true,
        FieldDefinition: true,
        InputValueDefinition: true,
        EnumValueDefinition: true,
        ScalarTypeDefinition: true,
        OperationDefinition: false,
      },
    ],
    '@graphql-eslint/require-deprecation-reason': 'error',
    // Objects with an identity implement Node; the rest are values that only exist inside one
    // (a page, a figure, a payload) and have no id to give.
    '@graphql-eslint/strict-id-in-types': [
      'error',
      {
        acceptedIdNames: ['id'],
        acceptedIdTypes: ['ID'],
        exceptions: {
          suffixes: ['Connection', 'Edge', 'Payload', 'Stats', 'Trend', 'Error'],
          types: [
            'Viewer',
            'PageInfo',
            'Transcript',
            'TranscriptSegment',
            'DateRange',
            'CountByKey',
            'Dashboard',
            'Metrics',
            'Analytics',
            'AnalyticsBucket',
            'AnalyticsGroup',
            'LeaderboardEntry',
            'Money',
            // Provider data is a value read through its owner (an agent, a call, the organisation).
            'AgentConfiguration',
            'ProviderConversation',
            'ProviderEvaluation',
            'ProviderTranscriptTurn',
            'ProviderUsage',
            // A subscription event: what happened to a call, which carries its own id.
            'LiveCallEvent',
          ],
        },
      },
    ],
    // Connections also offer `nodes` (a list of the nodes themselves) next to `edges`, and a
    // transcript's segments are a plain list: lists need not be of edges.
    '@graphql-eslint/relay-edge-types': ['error', { withEdgeSuffix: true, shouldImplementNode: true, listTypeCanWrapOnlyEdgeType: false }],
    // `Dashboard.recentCalls` pages forward only (the newest calls of a range).
    '@graphql-eslint/relay-arguments': ['error', { includeBoth: false }],
    '@graphql-eslint/require-nullable-fields-with-oneof': 'error',
    '@graphql-eslint/no-scalar-result-type-on-mutation': 'error',
    '@graphql-eslint/input-name': ['error', { checkInputType: true, caseSensitiveInputType: false, checkQueries: false, checkMutations: true }],
  },
});
