import path from 'node:path';
import { envReader, type Env, type EnvReader } from './env';
import { configProblem } from './problems';

/**
 * Abuse limits, persisted documents, CORS and the body limit: the settings
 * that decide what a request may ask for before it costs any work. Read from
 * the environment by `protectionFromEnv`, merged into `Config`.
 */

/** Per-operation limits; every one is always on. */
export interface QueryLimits {
  /** Deepest field nesting (`MAX_QUERY_DEPTH`). */
  maxDepth: number;
  /** Aliased fields (`MAX_ALIASES`). */
  maxAliases: number;
  /** Lexical tokens in the document; parsing stops past it (`MAX_QUERY_TOKENS`). */
  maxTokens: number;
  /** Directives (`MAX_DIRECTIVES`). */
  maxDirectives: number;
  /** Fields weighted by page sizes (`MAX_QUERY_COST`, see src/limits/measure.ts). */
  maxCost: number;
  /**
   * Field selections (`MAX_FIELDS`), a fragment counted each time it is spread,
   * `__typename` and introspection included: the cost gives `__typename` away
   * free, so without this 500 of them would execute.
   */
  maxFields: number;
  /**
   * Characters (code points) in any string argument, literal or in a variable,
   * nested in input objects and lists too (`MAX_STRING_LENGTH`).
   */
  maxStringLength: number;
}

export type TrustedDocumentsMode = 'off' | 'allow' | 'only';

export interface TrustedDocumentsConfig {
  /** `off`: ignore any manifest. `allow`: manifest ids and arbitrary operations. `only`: manifest documents only, no APQ. */
  mode: TrustedDocumentsMode;
  /** A GraphQL Codegen client preset `persisted-documents.json`, a relay-compiler `persisted_queries.json` or an Apollo persisted-query manifest (src/persisted/manifest.ts). */
  manifestPath: string | undefined;
}

export interface ProtectionConfig {
  queryLimits: QueryLimits;
  trustedDocuments: TrustedDocumentsConfig;
  /** Origins allowed to call /graphql from a browser; `*` allows any origin (never with credentials). Empty: loopback origins outside production (src/server/routes/graphql.ts), none in production. */
  corsOrigins: string[];
  /** Largest POST body accepted (`MAX_BODY_BYTES`). */
  bodyLimitBytes: number;
}

/**
 * Defaults sit well above every dashboard query in the test suite (deepest: 8
 * levels; costliest: about 21,600 for 100 calls with 100 nested calls each;
 * most tokens: under 200, GraphiQL's introspection about 190) and far below
 * harm: a third nested page of 100 is rejected.
 *
 * Fields: the most in the test suite is 93 (a mutation document of aliased
 * writes), the benchmark's dashboard 49, GraphiQL's introspection query 220
 * (230 with every option on); 500 `__typename`s are refused. Strings: the
 * longest text any input takes is a call's notes or summary, 10,000 code
 * points after trimming; twice that leaves room for surrounding whitespace
 * and refuses a 200 KB payload before it reaches a resolver.
 */
export const DEFAULT_QUERY_LIMITS: QueryLimits = {
  maxDepth: 12,
  maxAliases: 30,
  maxTokens: 2000,
  maxDirectives: 50,
  maxCost: 50_000,
  maxFields: 400,
  maxStringLength: 20_000,
};

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

export function protectionFromEnv(env: Env = process.env): ProtectionConfig {
  const read = envReader(env);
  const limit = (name: string, fallback: number) => read.int(name, fallback, { min: 1 });
  return {
    queryLimits: {
      maxDepth: limit('MAX_QUERY_DEPTH', DEFAULT_QUERY_LIMITS.maxDepth),
      maxAliases: limit('MAX_ALIASES', DEFAULT_QUERY_LIMITS.maxAliases),
      maxTokens: limit('MAX_QUERY_TOKENS', DEFAULT_QUERY_LIMITS.maxTokens),
      maxDirectives: limit('MAX_DIRECTIVES', DEFAULT_QUERY_LIMITS.maxDirectives),
      maxCost: limit('MAX_QUERY_COST', DEFAULT_QUERY_LIMITS.maxCost),
      maxFields: limit('MAX_FIELDS', DEFAULT_QUERY_LIMITS.maxFields),
      maxStringLength: limit('MAX_STRING_LENGTH', DEFAULT_QUERY_LIMITS.maxStringLength),
    },
    trustedDocuments: trustedDocumentsFromEnv(read),
    corsOrigins: corsOriginsFrom(read.list('CORS_ORIGINS')),
    bodyLimitBytes: limit('MAX_BODY_BYTES', DEFAULT_BODY_LIMIT_BYTES),
  };
}

function trustedDocumentsFromEnv(read: EnvReader): TrustedDocumentsConfig {
  const manifest = read.string('TRUSTED_DOCUMENTS_MANIFEST');
  const manifestPath = manifest ? path.resolve(manifest) : undefined;
  // A wrong mode falls back to the default, which with a manifest is `allow`: no second problem about it.
  const mode = read.oneOf<TrustedDocumentsMode>('TRUSTED_DOCUMENTS_MODE', ['off', 'allow', 'only'], manifestPath ? 'allow' : 'off');
  if (mode !== 'off' && !manifestPath) configProblem(`TRUSTED_DOCUMENTS_MODE=${mode} needs TRUSTED_DOCUMENTS_MANIFEST (the manifest file's path)`);
  return { mode, manifestPath };
}

/** `https://app.example.com, http://localhost:5173` (CORS_ORIGINS) → exact origins; a malformed entry stops the start. */
function corsOriginsFrom(entries: readonly string[]): string[] {
  const origins: string[] = [];
  for (const entry of entries) {
    if (entry === '*') {
      origins.push(entry);
      continue;
    }
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    // An origin is scheme://host[:port] and nothing more; a path would never match a browser's Origin.
    const bare = url && url.origin !== 'null' && url.pathname === '/' && !url.search && !url.hash && !url.username;
    if (!url || !bare) {
      configProblem(`CORS_ORIGINS: "${entry}" is not an origin like https://app.example.com`);
      continue;
    }
    origins.push(url.origin);
  }
  return origins;
}
