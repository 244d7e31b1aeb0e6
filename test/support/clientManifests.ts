import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { generatePersistedQueryManifest, type PersistedQueryManifest } from '@apollo/generate-persisted-query-manifest';

/**
 * Persisted-document manifests written by the real client tools, from the
 * operations a front end would keep in its source (test/clients/operations),
 * into a fresh temporary directory: what a build hands to TRUSTED_DOCUMENTS_MANIFEST.
 */

const execFileAsync = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
export const OPERATIONS = 'test/clients/operations/*.graphql';

export interface GeneratedManifest {
  file: string;
  /** Operation name → the id the client sends for it, as the tool wrote it. */
  ids: Map<string, string>;
  /** Operation name → the document text, as the tool wrote it. */
  bodies: Map<string, string>;
}

/**
 * GraphQL Code Generator's client preset with `persistedDocuments: true` (its `persisted-documents.json`),
 * run through its CLI as a build would: in-process under jest, its task runner generates nothing.
 */
export async function codegenManifest(): Promise<GeneratedManifest & { module: Record<string, unknown> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-codegen-'));
  const out = path.join(dir, 'gql');
  const config = {
    schema: path.join(ROOT, 'schema.graphql'),
    documents: path.join(ROOT, OPERATIONS),
    generates: { [`${out}/`]: { preset: 'client', presetConfig: { persistedDocuments: true, fragmentMasking: false } } },
  };
  const configFile = path.join(dir, 'codegen.json');
  writeFileSync(configFile, JSON.stringify(config));
  await execFileAsync(process.execPath, [path.join(ROOT, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', configFile, '--silent'], {
    cwd: ROOT,
    timeout: 60_000,
  });
  const file = path.join(out, 'persisted-documents.json');
  const documents = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  const ids = new Map<string, string>();
  const bodies = new Map<string, string>();
  for (const [id, body] of Object.entries(documents)) {
    const name = operationName(body);
    ids.set(name, id);
    bodies.set(name, body);
  }
  // The generated documents, as the app imports them (each carries `__meta__.hash`).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module written at run time, outside the import graph
  const module = require(path.join(out, 'graphql.ts')) as Record<string, unknown>;
  return { file, ids, bodies, module };
}

/** Apollo's `generate-persisted-query-manifest` (the format Apollo Client's persisted-query link and GraphOS read). */
export async function apolloManifest(): Promise<GeneratedManifest & { manifest: PersistedQueryManifest }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-apollo-pqm-'));
  const manifest = await generatePersistedQueryManifest({ documents: [path.join(ROOT, OPERATIONS)] }, undefined);
  const file = path.join(dir, 'persisted-query-manifest.json');
  writeFileSync(file, JSON.stringify(manifest));
  return {
    file,
    manifest,
    ids: new Map(manifest.operations.map((operation) => [operation.name, operation.id])),
    bodies: new Map(manifest.operations.map((operation) => [operation.name, operation.body])),
  };
}

/**
 * Relay's operations live in its components, named after their module; these are
 * the two a dashboard page would hold, written into a fresh project for the compiler.
 */
const RELAY_SOURCES: Record<string, string> = {
  'ClientsViewer.ts': 'query ClientsViewerQuery { viewer { role organisation { id slug } } }',
  'ClientsCalls.ts': 'query ClientsCallsQuery($first: Int!) { calls(first: $first) { edges { node { id status } } } }',
};

/**
 * relay-compiler with `persistConfig` (its `persisted_queries.json`: `{ "<id>": "query …" }`), and the
 * compiled operations, which carry that id in `params.id` and no text: what Relay's network layer gets.
 */
export async function relayManifest(): Promise<GeneratedManifest & { artifacts: Record<string, unknown> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-relay-'));
  mkdirSync(path.join(dir, 'src'));
  mkdirSync(path.join(dir, '__generated__'));
  for (const [file, text] of Object.entries(RELAY_SOURCES)) {
    writeFileSync(path.join(dir, 'src', file), `import { graphql } from 'relay-runtime';\nexport default graphql\`${text}\`;\n`);
  }
  const file = path.join(dir, 'persisted_queries.json');
  // The compiler adds to the file it is given; it must exist.
  writeFileSync(file, '{}');
  const config = {
    src: './src',
    schema: path.join(ROOT, 'schema.graphql'),
    language: 'typescript',
    artifactDirectory: './__generated__',
    persistConfig: { file: './persisted_queries.json', algorithm: 'SHA256' },
  };
  writeFileSync(path.join(dir, 'relay.config.json'), JSON.stringify(config));
  await execFileAsync(process.execPath, [path.join(ROOT, 'node_modules/relay-compiler/cli.js')], { cwd: dir, timeout: 60_000 });
  const documents = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  const ids = new Map<string, string>();
  const bodies = new Map<string, string>();
  const artifacts: Record<string, unknown> = {};
  for (const [id, body] of Object.entries(documents)) {
    const name = operationName(body);
    ids.set(name, id);
    bodies.set(name, body);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an artifact written at run time, outside the import graph
    artifacts[name] = (require(path.join(dir, '__generated__', `${name}.graphql.ts`)) as { default: unknown }).default;
  }
  return { file, ids, bodies, artifacts };
}

/** The name of the one operation in a document (fragments around it are skipped). */
function operationName(body: string): string {
  const match = /\b(?:query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)/.exec(body);
  if (!match?.[1]) throw new Error(`No named operation in ${body}`);
  return match[1];
}
