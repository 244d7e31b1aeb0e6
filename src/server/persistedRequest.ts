import { resolveDocument, type PersistedSettings, type Resolution } from '../persisted/resolve';

export type PersistedRewrite = { kind: 'forward'; body: unknown; search: string } | Extract<Resolution, { kind: 'reject' }>;

/**
 * Applies `resolveDocument` to an HTTP request: a POST body's fields or a
 * GET's search parameters (`search`: the URL's `?…` part, or ''), rewritten for Apollo (which only understands
 * `query` and `extensions`). Bodies that are not a JSON object (arrays are
 * batches, which Apollo refuses) pass through untouched.
 */
export function rewritePersistedRequest(method: string | undefined, body: unknown, search: string, settings: PersistedSettings): PersistedRewrite {
  if (method === 'POST') {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return { kind: 'forward', body, search };
    const { documentId, ...fields } = body as Record<string, unknown>;
    const resolution = resolveDocument({ query: fields.query, documentId, extensions: fields.extensions }, settings);
    if (resolution.kind === 'reject') return resolution;
    const rewritten: Record<string, unknown> = { ...fields, query: resolution.query, extensions: resolution.extensions };
    if (resolution.query === undefined) delete rewritten.query;
    if (resolution.extensions === undefined) delete rewritten.extensions;
    return { kind: 'forward', body: rewritten, search };
  }

  const params = new URLSearchParams(search);
  for (const name of ['query', 'documentId', 'extensions']) {
    // Apollo refuses repeats too; refusing here means nothing ambiguous is ever resolved.
    if (params.getAll(name).length > 1) return { kind: 'reject', status: 400, code: 'BAD_REQUEST', message: `${name} may be given only once` };
  }
  let extensions: unknown;
  const rawExtensions = params.get('extensions');
  if (rawExtensions !== null) {
    try {
      extensions = JSON.parse(rawExtensions);
    } catch {
      return { kind: 'reject', status: 400, code: 'BAD_REQUEST', message: 'extensions is not valid JSON' };
    }
  }
  const resolution = resolveDocument(
    { query: params.get('query') ?? undefined, documentId: params.get('documentId') ?? undefined, extensions },
    settings,
  );
  if (resolution.kind === 'reject') return resolution;
  params.delete('documentId');
  if (typeof resolution.query === 'string') params.set('query', resolution.query);
  else params.delete('query');
  if (resolution.extensions && Object.keys(resolution.extensions).length > 0) params.set('extensions', JSON.stringify(resolution.extensions));
  else params.delete('extensions');
  const rewritten = params.toString();
  return { kind: 'forward', body, search: rewritten ? `?${rewritten}` : '' };
}
