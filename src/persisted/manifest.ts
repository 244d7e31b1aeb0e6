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

const SHA256_ID = /^(?:sha256:)?([0-9a-f]{64})$/i;

/**
 * One spelling for an id, in manifests and requests alike. GraphQL over HTTP's
 * persisted documents (and so GraphQL Code Generator's client preset, and
 * urql's persisted exchange fed from it) write `sha256:<hex>`; Apollo's
 * manifest and APQ use bare `<hex>`; Relay's ids are its own (md5 by default)
 * and pass through unchanged.
 */
export function documentKey(id: string): string {
  const hex = SHA256_ID.exec(id)?.[1];
  return hex ? hex.toLowerCase() : id;
}

/**
 * Accepts the manifests client tooling writes:
 * - GraphQL Code Generator's client preset `persisted-documents.json`: `{ "sha256:<hex>": "query …" }`,
 *   and Relay's persisted queries file `{ "<id>": "query …" }` (the same shape);
 * - Apollo's persisted-query manifest: `{ "format": "apollo-persisted-query-manifest", "version": 1,
 *   "operations": [{ "id", "name", "type", "body" }] }`.
 * Ids are kept as `documentKey` spells them, so `sha256:<hex>` and `<hex>` are the same document.
 * An id that claims to be a sha256 (`sha256:` prefixed) must be the hash of its text: a manifest
 * edited by hand after generation would otherwise trust a document under someone else's id.
 * Anything else is an error naming `source`, so a bad file stops the start instead of trusting nothing.
 */
export function parseManifest(json: unknown, source: string): TrustedDocuments {
  const entries = isRecord(json) && 'format' in json ? apolloEntries(json, source) : codegenEntries(json, source);
  const byId = new Map<string, string>();
  for (const [id, body] of entries) {
    if (!id || !body.trim()) throw new Error(`${source}: every operation needs a non-empty id and body`);
    const key = documentKey(id);
    if (/^sha256:/i.test(id) && key !== sha256Hex(body)) throw new Error(`${source}: id ${id} is not the sha256 of its document`);
    if (byId.has(key) && byId.get(key) !== body) throw new Error(`${source}: id ${id} is given two different bodies`);
    byId.set(key, body);
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
