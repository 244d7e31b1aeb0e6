// @ts-check
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Generated, installed or produced by runs (same list as .prettierignore).
    ignores: ['src/generated/', 'dist/', 'node_modules/', '.data/', 'coverage/', 'bench/results/', 'bench/peers/'],
  },
  {
    // A disable comment that no longer silences anything is a stale excuse: fail on it.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    rules: {
      // Numbers in template literals print as expected; the rule still catches objects, nullish
      // values and unions that would print `[object Object]` or `undefined`.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `(x) => resolve(x)` and `return reply(...)` from a function declared void are this code's
      // idiom for "do this and stop"; the rule still flags a void value used as a value.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
      // `async` without `await` is how this code meets Promise-returning interfaces (Apollo plugin
      // hooks, KeyValueCache, the migration provider), so that a throw becomes a rejection.
      // no-floating-promises and no-misused-promises still catch the mistakes that matter.
      '@typescript-eslint/require-await': 'off',
      // `() => {}` is this code's explicit no-op: a default logger, or `.catch(() => {})` on a
      // promise whose failure is reported elsewhere or does not matter. Empty methods still fail.
      '@typescript-eslint/no-empty-function': ['error', { allow: ['arrowFunctions'] }],
      // `_` marks a binding kept on purpose: `const { http: _http, ...rest }` to drop a key, or
      // `for (const _ of text)` to count code points.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `process.env.X || fallback` means an empty variable counts as unset, on purpose; `??` on
      // strings would keep ''. The rule still applies to every other type.
      '@typescript-eslint/prefer-nullish-coalescing': ['error', { ignorePrimitives: { string: true } }],
      // It asks for `x!` in place of `x as T`, which no-non-null-assertion (kept on) forbids: the two
      // contradict each other. Narrow instead of asserting either way.
      '@typescript-eslint/non-nullable-type-assertion-style': 'off',
    },
  },
  {
    files: ['src/**'],
    rules: {
      // Once anything enters an AsyncLocalStorage, Node 20's promise hooks tax every promise of the
      // process: removing the last two cut the agents board's CPU per request by 8 % (issue 12). What
      // a request's statements need travels with the request instead (src/observability/requestContext.ts).
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:async_hooks',
              importNames: ['AsyncLocalStorage', 'createHook'],
              message: 'Pass the request down (RequestContext) instead.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**'],
    rules: {
      // tsconfig's noUncheckedIndexedAccess types `rows[0]` as possibly undefined; a spec indexes
      // rows it has just written, and a wrong `!` fails that spec at once.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // GraphQL response data is `any` on purpose (test/support/server.ts) and jest's asymmetric
      // matchers (`expect.any(String)`) are typed `any`: specs walk the data and `expect` checks
      // each value, so these rules would only add casts.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      // `delete process.env[name]` is the only way to unset a variable a spec set.
      '@typescript-eslint/no-dynamic-delete': 'off',
    },
  },
  {
    // Config files outside tsconfig's include: no type information, so no type-aware rules.
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
  {
    files: ['jest.config.js'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable' } },
  },
  // Last: turns off every rule that only concerns formatting, which Prettier owns.
  prettier,
);
