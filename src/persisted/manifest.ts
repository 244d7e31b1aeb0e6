import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** The operations a manifest trusts: by the id clients send, and by the hash of their text. */
export interface TrustedDocuments {
  /** Document text by id. */
  byId: ReadonlyMap<string, string>;
  /** sha256 (hex) of every trusted document's text, so the full text is recognised too. */
  bodyHashes: ReadonlySet<string>;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Accepts the two manifests clients produce:
 * - GraphQL Code Generator's client preset `persisted-documents.json`: `{ "<hash>": "query …" }`;
 * - Apollo's persisted-query manifest: `{ "format": "apollo-persisted-query-manifest", "version": 1,
 *   "operations": [{ "id", "name", "type", "body" }] }`.
 * Anything else is an error naming `source`, so a bad file stops the start instead of trusting nothing.
 */
export function parseManifest(json: unknown, source: string): TrustedDocuments {
  const entries = isRecord(json) && 'format' in json ? apolloEntries(json, source) : codegenEntries(json, source);
  const byId = new Map<string, string>();
  for (const [id, body] of entries) {
    if (!id || !body.trim()) throw new Error(`${source}: every operation needs a non-empty id and body`);
    if (byId.has(id) && byId.get(id) !== body) throw new Error(`${source}: id ${id} is given two different bodies`);
    byId.set(id, body);
  }
  return { byId, bodyHashes: new Set([...byId.values()].map(sha256Hex)) };
}

export async function loadManifest(file: string): Promise<TrustedDocuments> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read the trusted documents manifest ${file}: ${(error as Error).message}`);
  }
  return parseManifest(json, file);
}

function apolloEntries(json: Record<string, unknown>, source: string): [string, string][] {
  if (json.format !== 'apollo-persisted-query-manifest' || json.version !== 1 || !Array.isArray(json.operations)) {
    throw new Error(`${source}: expected an apollo-persisted-query-manifest of version 1`);
  }
  return json.operations.map((operation: unknown) => {
    if (!isRecord(operation) || typeof operation.id !== 'string' || typeof operation.body !== 'string') {
      throw new Error(`${source}: every operation needs a string id and body`);
    }
    return [operation.id, operation.body];
  });
}

function codegenEntries(json: unknown, source: string): [string, string][] {
  if (!isRecord(json)) throw new Error(`${source}: expected a JSON object of id → document`);
  return Object.entries(json).map(([id, body]) => {
    if (typeof body !== 'string') throw new Error(`${source}: the document for ${id} is not a string`);
    return [id, body];
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
