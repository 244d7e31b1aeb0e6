import type { TrustedDocumentsMode } from '../config/protection';
import { documentKey, sha256Hex, type TrustedDocuments } from './manifest';

/** The parts of a GraphQL request that say which document to run. */
export interface DocumentRequest {
  query: unknown;
  /** GraphQL-over-HTTP / GraphQL Codegen style id, optionally `sha256:`-prefixed. */
  documentId: unknown;
  extensions: unknown;
}

export type Resolution =
  /** Hand these to Apollo instead of what came in (documentId is gone; `persistedQuery` only when Apollo's APQ should see it). */
  | { kind: 'forward'; query: unknown; extensions: Record<string, unknown> | undefined }
  | { kind: 'reject'; status: number; code: PersistedErrorCode; message: string };

export type PersistedErrorCode = 'PERSISTED_QUERY_NOT_FOUND' | 'PERSISTED_QUERY_NOT_ALLOWED' | 'PERSISTED_QUERY_HASH_MISMATCH' | 'BAD_REQUEST';

export interface PersistedSettings {
  mode: TrustedDocumentsMode;
  /** Present whenever mode is not `off`. */
  documents: TrustedDocuments | undefined;
}

/**
 * Decides, before Apollo sees a request, which document it runs:
 * - a manifest id (as `documentId` or APQ `sha256Hash`) becomes that document's text;
 * - `only` mode refuses everything else here, so an unknown document is never
 *   parsed, and an APQ registration never reaches Apollo's APQ cache;
 * - otherwise APQ is left to Apollo (its cache does lookups and registrations),
 *   with `documentId` translated into the APQ extension and hashes checked
 *   here so a mismatch gets a proper code.
 */
export function resolveDocument(request: DocumentRequest, settings: PersistedSettings): Resolution {
  const extensions = isRecord(request.extensions) ? request.extensions : undefined;
  const { persistedQuery, ...otherExtensions } = extensions ?? {};
  const query = typeof request.query === 'string' && request.query !== '' ? request.query : undefined;
  const trusted = settings.mode === 'off' ? undefined : settings.documents;

  if (request.documentId !== undefined && typeof request.documentId !== 'string') {
    return reject(400, 'BAD_REQUEST', 'documentId must be a string');
  }
  let id: string | undefined;
  if (persistedQuery !== undefined) {
    if (!isRecord(persistedQuery) || persistedQuery.version !== 1 || typeof persistedQuery.sha256Hash !== 'string') {
      return reject(400, 'BAD_REQUEST', 'Unsupported persisted query: expected { version: 1, sha256Hash }');
    }
    id = documentKey(persistedQuery.sha256Hash);
  }
  if (typeof request.documentId === 'string') id = documentKey(request.documentId);

  if (id === undefined) {
    // A plain { query }: `only` mode runs it just when its text is a trusted document.
    if (settings.mode !== 'only' || query === undefined || trusted?.bodyHashes.has(sha256Hex(query))) {
      return { kind: 'forward', query: request.query, extensions };
    }
    return notAllowed();
  }

  const document = trusted?.byId.get(id);
  if (document !== undefined) {
    if (query !== undefined && query !== document) return mismatch();
    return { kind: 'forward', query: document, extensions: otherExtensions };
  }
  if (query !== undefined && sha256Hex(query) !== id) return mismatch();

  if (settings.mode === 'only') {
    if (query === undefined) {
      return reject(404, 'PERSISTED_QUERY_NOT_FOUND', 'Unknown persisted document id; this server only runs trusted documents');
    }
    // The text is trusted under another id: run it, but keep it away from APQ registration.
    if (trusted?.bodyHashes.has(sha256Hex(query))) return { kind: 'forward', query, extensions: otherExtensions };
    return notAllowed();
  }
  return { kind: 'forward', query, extensions: { ...otherExtensions, persistedQuery: { version: 1, sha256Hash: id } } };
}

function reject(status: number, code: PersistedErrorCode, message: string): Resolution {
  return { kind: 'reject', status, code, message };
}

// 403 as Apollo Router does for operations outside its safelist: understood, and refused.
const notAllowed = () => reject(403, 'PERSISTED_QUERY_NOT_ALLOWED', 'This server only runs trusted documents, and this operation is not one of them');

const mismatch = () => reject(400, 'PERSISTED_QUERY_HASH_MISMATCH', 'The persisted query hash does not match the query');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
