import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cachesFromEnv } from '../src/config/caches';
import { loadConfig } from '../src/config/config';
import { protectionFromEnv } from '../src/config/protection';
import { ConfigError } from '../src/config/problems';

/**
 * Settings are read one way (src/config/env.ts) whichever module owns them:
 * the same meaning of "unset", the same wording for the same kind of value,
 * and every module reads the environment it is given.
 */

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-settings-'));
// Secrets given, so nothing is generated into a data directory.
const base = { SWITCHBOARD_DATA_DIR: dataDir, JWT_SECRET: 'j'.repeat(32), RECORDINGS_SECRET: 'r'.repeat(32) };

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig({}, { ...base, ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('settings from the environment', () => {
  it('an empty variable means its default, like an unset one, for every kind of setting', () => {
    const config = loadConfig(
      {},
      {
        ...base,
        JWT_ISSUER: '',
        PORT: '',
        RESPONSE_CACHE: '',
        MAX_QUERY_DEPTH: '',
        CORS_ORIGINS: '',
        TRUSTED_DOCUMENTS_MODE: '',
        RECORDINGS_STORE: 's3',
        S3_BUCKET: 'calls',
        S3_REGION: '',
      },
    );
    expect(config).toMatchObject({ port: 4000, corsOrigins: [], trustedDocuments: { mode: 'off' } });
    expect(config.auth.issuer).toBe('switchboard');
    expect(config.recordings).toMatchObject({ kind: 's3', region: 'us-east-1' });
    expect(config.caches.responseCache).toBe(true);
    expect(config.queryLimits.maxDepth).toBe(12);
  });

  it('every settings module reads the environment it is given, not the process’s', () => {
    expect(cachesFromEnv({ RESPONSE_CACHE: 'off', ENTITY_CACHE_TTL_MS: '5' })).toMatchObject({ responseCache: false, entityCacheTtlMs: 5 });
    expect(protectionFromEnv({ MAX_FIELDS: '9', CORS_ORIGINS: ' https://a.example , ,http://b.example:8080 ' })).toMatchObject({
      queryLimits: { maxFields: 9 },
      corsOrigins: ['https://a.example', 'http://b.example:8080'],
    });
    expect(loadConfig({}, { ...base, PORT: '4321' }).port).toBe(4321);
  });

  it('a wrong value is named with what its kind expects, the same words in every module', () => {
    const problems = problemsOf({
      PORT: '-1',
      REQUEST_TIMEOUT_MS: '0',
      ENTITY_CACHE_MAX_ENTRIES: '0',
      MAX_QUERY_DEPTH: '1.5',
      APQ_CACHE_MAX_BYTES: '10',
      RESPONSE_CACHE: 'yes',
      RECORDINGS_STORE: 'disk',
      TRUSTED_DOCUMENTS_MODE: 'some',
      RECORDINGS_SECRET: 'short',
    });
    expect(problems.sort()).toEqual([
      'APQ_CACHE_MAX_BYTES must be an integer of at least 1024, got "10"',
      'ENTITY_CACHE_MAX_ENTRIES must be a positive integer, got "0"',
      'MAX_QUERY_DEPTH must be a positive integer, got "1.5"',
      'PORT must be a non-negative integer, got "-1"',
      'RECORDINGS_SECRET must be at least 32 characters, got 5',
      'RECORDINGS_STORE must be local or s3, got "disk"',
      'REQUEST_TIMEOUT_MS must be a positive integer, got "0"',
      'RESPONSE_CACHE must be "on" or "off", got "yes"',
      'TRUSTED_DOCUMENTS_MODE must be off, allow or only, got "some"',
    ]);
  });

  it('a setting required by another names both', () => {
    expect(problemsOf({ RECORDINGS_STORE: 's3' })).toEqual(['S3_BUCKET is required with RECORDINGS_STORE=s3: the bucket holding the recordings']);
    expect(problemsOf({ TRUSTED_DOCUMENTS_MODE: 'only' })).toEqual([
      "TRUSTED_DOCUMENTS_MODE=only needs TRUSTED_DOCUMENTS_MANIFEST (the manifest file's path)",
    ]);
  });
});
