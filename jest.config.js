/**
 * Tests run against a real PostgreSQL (embedded, started once per run by the
 * global setup, or TEST_DATABASE_URL) and real HTTP servers on loopback.
 * ts-jest only transpiles; `npm run typecheck` does the type checking.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  globalTeardown: '<rootDir>/test/support/globalTeardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};
